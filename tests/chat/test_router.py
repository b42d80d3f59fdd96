"""The router: the labelled set, its precision/recall, and specific behaviours."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.chat.router import (
    ENTROPY_UNSURE,
    LOGPROB_UNSURE,
    LocalModelInfo,
    assess,
    assess_answer,
    threshold_for,
)
from assistant.core.types import Message

DATA = Path(__file__).with_name("router_prompts.jsonl")
TINY = LocalModelInfo("Gemma 3 1B", 1.0, 8192)
MID = LocalModelInfo("Llama 3.1 8B", 8.0, 8192)
BIG = LocalModelInfo("Qwen 2.5 32B", 32.0, 32768)


def load_rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


def history_of(row: dict) -> list[Message]:
    return [Message(m["role"], m["content"]) for m in row.get("history", [])]


def judged_hard(rows: list[dict], model: LocalModelInfo) -> list[bool]:
    return [assess(r["prompt"], history_of(r), model).hard for r in rows]


def test_labelled_set_is_large_varied_and_well_formed() -> None:
    rows = load_rows()
    assert len(rows) >= 120
    labels = [r["label"] for r in rows]
    assert set(labels) == {"hard", "easy"}
    hard = labels.count("hard")
    assert 0.4 <= hard / len(rows) <= 0.6  # roughly balanced
    for r in rows:
        assert r["prompt"].strip() and r["why"].strip()
        for m in r.get("history", []):
            assert m["role"] in ("user", "assistant", "system") and m["content"]
    # not separable by length alone: some short hard and some long easy prompts
    assert any(r["label"] == "hard" and len(r["prompt"]) < 60 for r in rows)
    assert any(r["label"] == "easy" and len(r["prompt"]) > 400 for r in rows)
    assert any("history" in r for r in rows)


def test_precision_and_recall_on_hard_for_a_1b_model() -> None:
    rows = load_rows()
    decided = judged_hard(rows, TINY)
    truth = [r["label"] == "hard" for r in rows]
    tp = sum(d and t for d, t in zip(decided, truth))
    fp = sum(d and not t for d, t in zip(decided, truth))
    fn = sum(t and not d for d, t in zip(decided, truth))
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    # measured 1.00 / 0.97 on this (tuning) set; a fresh held-out set did worse
    assert precision >= 0.85
    assert recall >= 0.85


def test_bigger_models_are_judged_hard_less_often() -> None:
    rows = load_rows()
    tiny, mid, big = (sum(judged_hard(rows, m)) for m in (TINY, MID, BIG))
    assert tiny > mid > big
    assert threshold_for(TINY) < threshold_for(MID) < threshold_for(BIG)


def test_model_size_is_read_from_the_name_when_unknown() -> None:
    named = LocalModelInfo("gemma-3-1b-it-Q4_K_M", None, 8192)
    assert threshold_for(named) == threshold_for(TINY)
    assert threshold_for(LocalModelInfo("gemma-3-270m", None, 8192)) == threshold_for(TINY)
    assert threshold_for(LocalModelInfo("qwen2.5-32b-instruct", None, 8192)) == threshold_for(BIG)


def test_long_conversation_near_the_context_window_is_hard() -> None:
    model = LocalModelInfo("Gemma 3 1B", 1.0, 2048)
    turn = "Here is what I did today: I walked the dog and made soup. " * 12
    history = [Message("user" if i % 2 == 0 else "assistant", turn) for i in range(12)]
    prompt = "ok thanks, anything else?"
    assert not assess(prompt, [], model).hard
    decision = assess(prompt, history, model)
    assert decision.hard
    assert "context window" in decision.reason
    assert "2,048" in decision.reason


def test_prompt_over_the_window_is_hard_even_for_a_big_model() -> None:
    model = LocalModelInfo("Qwen 2.5 32B", 32.0, 4096)
    decision = assess("Please tidy up this text. " + "word " * 20_000, [], model)
    assert decision.hard
    assert any("does not fit" in r for r in decision.reasons)


def test_reasons_are_plain_sentences_naming_the_model() -> None:
    for row in load_rows():
        d = assess(row["prompt"], history_of(row), TINY)
        assert d.reason.endswith(".") and d.reason[0].isupper()
        assert TINY.name in d.reason
        if d.hard:
            assert d.reason.startswith(f"This looks hard for {TINY.name}: it ")
            assert d.reasons and all(r.strip() for r in d.reasons)
            assert d.score >= 1.0
        else:
            assert d.reason == f"Looks fine for {TINY.name}."
            assert d.score < 1.0


def test_specific_signals_are_named() -> None:
    d = assess("Prove that there are infinitely many primes.", [], TINY)
    assert d.hard and "math" in d.reason
    d = assess("ስለ ኢትዮጵያ ታሪክ አጭር ማብራሪያ ስጠኝ።", [], TINY)
    assert d.hard and "Ethiopic" in d.reason
    d = assess("Write a 2,000-word essay on the history of tea.", [], TINY)
    assert d.hard and "long answer" in d.reason
    trace = 'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\nKeyError: \'x\'\nwhy?'
    d = assess(trace, [], TINY)
    assert d.hard and "error trace" in d.reason
    assert not assess("What's the capital of France?", [], TINY).hard


def test_follow_up_inherits_the_difficulty_of_the_conversation() -> None:
    history = [
        Message("user", "Prove that every finite group of order p^2 is abelian."),
        Message("assistant", "Let G have order p^2. By the class equation the centre is non-trivial..."),
    ]
    assert assess("why does the centre have to be non-trivial?", history, TINY).hard
    assert not assess("why does the centre have to be non-trivial?", [], MID).hard


def test_assess_is_fast() -> None:
    rows = load_rows()
    start = time.perf_counter()
    for row in rows:
        assess(row["prompt"], history_of(row), TINY)
    per_prompt = (time.perf_counter() - start) / len(rows)
    assert per_prompt < 0.005  # typical is well under 1 ms; slack for slow CI machines


def test_assess_answer_thresholds() -> None:
    assert assess_answer(None, None, TINY) is None
    assert assess_answer(-0.8, 1.2, TINY) is None  # a confident answer
    assert assess_answer(LOGPROB_UNSURE, ENTROPY_UNSURE, TINY) is None  # on the line: not unsure
    low = assess_answer(-3.1, None, TINY)
    assert low is not None and low.hard
    assert "unsure" in low.reason and TINY.name in low.reason
    assert any("log-probability" in r for r in low.reasons)
    high = assess_answer(None, 3.4, TINY)
    assert high is not None and any("entropy" in r for r in high.reasons)
    both = assess_answer(-4.0, 3.5, TINY)
    assert both is not None and len(both.reasons) == 2


@pytest.mark.parametrize("prompt", ["", "   ", "\n\n"])
def test_empty_prompts_are_easy(prompt: str) -> None:
    assert not assess(prompt, [], TINY).hard
