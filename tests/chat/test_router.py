"""The router: its data set, its shipped weights, held-out accuracy and specific behaviours."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.chat.router import (
    ENTROPY_UNSURE,
    LOGPROB_UNSURE,
    LocalModelInfo,
    RouteDecision,
    assess,
    assess_answer,
    threshold_for,
)
from assistant.chat.router_features import HISTORY_FEATURES, TEXT_FEATURES
from assistant.chat.router_model import WEIGHTS_PATH, load_weights
from assistant.core.types import Message

HERE = Path(__file__).parent
DATA = HERE / "router_data"
OLD = HERE / "router_prompts.jsonl"  # the original hand-tuning set: training data now
SPLITS = ("train", "validation", "test")
TINY = LocalModelInfo("Gemma 3 1B", 1.0, 8192)
MID = LocalModelInfo("Llama 3.1 8B", 8.0, 8192)
BIG = LocalModelInfo("Qwen 2.5 32B", 32.0, 32768)


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def split_rows(split: str) -> list[dict]:
    return load_rows(DATA / f"{split}.jsonl")


def history_of(row: dict) -> list[Message]:
    return [Message(m["role"], m["content"]) for m in row.get("history", [])]


def key_of(row: dict) -> str:
    return row["prompt"] + "".join("\x1f" + m["content"] for m in row.get("history", []))


def split_by_hash(row: dict) -> str:
    """The rule that assigned every fresh prompt to its split, before any fitting."""
    bucket = int(hashlib.sha256(key_of(row).encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 60 else "validation" if bucket < 80 else "test"


def decide(rows: list[dict], model: LocalModelInfo) -> list[RouteDecision]:
    return [assess(r["prompt"], history_of(r), model) for r in rows]


def precision_recall(rows: list[dict], model: LocalModelInfo) -> tuple[float, float]:
    decided = [d.hard for d in decide(rows, model)]
    truth = [r["label"] == "hard" for r in rows]
    tp = sum(d and t for d, t in zip(decided, truth))
    fp = sum(d and not t for d, t in zip(decided, truth))
    fn = sum(t and not d for d, t in zip(decided, truth))
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


# ---------------------------------------------------------------- the data set

def test_data_set_is_large_split_by_hash_and_disjoint() -> None:
    splits = {s: split_rows(s) for s in SPLITS}
    assert sum(len(rows) for rows in splits.values()) >= 500  # fresh prompts, the old set aside
    keys = {s: {key_of(r) for r in rows} for s, rows in splits.items()}
    keys["train"] |= {key_of(r) for r in load_rows(OLD)}
    assert not keys["train"] & keys["validation"]
    assert not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]
    for split, rows in splits.items():
        assert all(split_by_hash(r) == split for r in rows), split
        assert len(rows) >= 80
        hard = sum(r["label"] == "hard" for r in rows)
        assert 0.35 <= hard / len(rows) <= 0.65  # roughly balanced


def test_new_splits_are_disjoint_labelled_by_size_and_aimed_at_the_known_misses() -> None:
    # train2 / test2 (issue 30): written after the hash split, test2 before any fitting
    old = {key_of(r) for s in SPLITS for r in split_rows(s)} | {key_of(r) for r in load_rows(OLD)}
    train2, test2 = load_rows(DATA / "train2.jsonl"), load_rows(DATA / "test2.jsonl")
    reasons = load_rows(DATA / "reasons.jsonl")
    k_train2, k_test2, k_reasons = ({key_of(r) for r in rows} for rows in (train2, test2, reasons))
    train3, test3 = load_rows(DATA / "train3.jsonl"), load_rows(DATA / "test3.jsonl")
    k_train3, k_test3 = {key_of(r) for r in train3}, {key_of(r) for r in test3}
    assert not (k_train2 & old) and not (k_test2 & old) and not (k_train2 & k_test2)
    # train3 / test3 (issue 30, second round): test3 written first, before any fitting
    everything = old | k_train2 | k_test2
    assert not (k_test3 & (everything | k_train3)) and not (k_train3 & everything)
    # train4 / test4 (issue 30, third round): a new pool split by a seeded shuffle before any
    # fitting; test4 is the held-out split now, test3 a validation figure
    train4, test4 = load_rows(DATA / "train4.jsonl"), load_rows(DATA / "test4.jsonl")
    k_train4, k_test4 = {key_of(r) for r in train4}, {key_of(r) for r in test4}
    everything |= k_train3 | k_test3
    assert not (k_test4 & (everything | k_train4)) and not (k_train4 & everything)
    # test5 (the fourth round's held-out split): written after test4 was read, before the
    # threshold's precision target was chosen on the validation splits and the last fit
    test5 = load_rows(DATA / "test5.jsonl")
    k_test5 = {key_of(r) for r in test5}
    assert not (k_test5 & (everything | k_train4 | k_test4))
    # test6: written after test5 was read, before the features and the fit that test5 led to
    test6 = load_rows(DATA / "test6.jsonl")
    k_test6 = {key_of(r) for r in test6}
    assert not (k_test6 & (everything | k_train4 | k_test4 | k_test5))
    # reasons.jsonl may share the issue's own examples with test2 (a validation split now),
    # never a prompt that anything is fitted on, nor a held-out split
    assert not (k_reasons & (old | k_train2 | k_train3 | k_test3 | k_train4 | k_test4 | k_test5 | k_test6))
    assert {"whats 12 x 12", "give me 5 cute names for a golden retriever puppy",
            "Привет! Посоветуй какой-нибудь лёгкий фильм на вечер."} <= k_reasons
    assert len(reasons) >= 80
    assert len(test3) >= 110 and len(train3) >= 140
    assert len({r["lang"] for r in test3}) >= 10 and sum(bool(r.get("history")) for r in test3) >= 5
    # (rows, easy pastes of that many characters, how many at least, short non-Latin easy prompts)
    for rows, chars, pastes, non_latin in ((train2, 250, 12, 12), (test2, 250, 12, 12), (train3, 250, 25, 20),
                                           (test3, 150, 10, 10), (train4, 250, 25, 10), (test4, 250, 20, 10), (test5, 250, 20, 10),
                                           (test6, 250, 20, 10)):
        assert len(rows) >= 80
        for r in rows:
            assert r["label"] in ("hard", "easy") and r["why"] and r["lang"] and r["domain"]
            assert (r.get("fails") in ("1B", "8B", "32B")) == (r["label"] == "hard")
        pasted = [r for r in rows if r["label"] == "easy" and len(r["prompt"]) > chars]
        assert len(pasted) >= pastes  # easy edits of long material
        assert sum(r["label"] == "easy" and r["lang"] not in ("en", "fr", "de", "es", "it", "pt")
                   and len(r["prompt"]) < 60 for r in rows) >= non_latin  # short non-Latin prompts
        assert sum(r.get("kind") == "hard-looks-easy" for r in rows) >= 12
    assert all(isinstance(r["reasons"], list) for r in reasons) and sum(not r["reasons"] for r in reasons) >= 10
    assert len(test4) >= 120 and len(train4) >= 150 and len({r["lang"] for r in test4}) >= 10
    for split in (test5, test6):
        assert len(split) >= 120 and len({r["lang"] for r in split}) >= 10 and sum(bool(r.get("history")) for r in split) >= 4


def test_every_hard_row_says_the_largest_size_that_fails_it() -> None:
    """The 8B model is fitted and measured on these: a hard row without `fails` would count as
    hard for every size (the older splits got theirs in the third round)."""
    files = [*sorted(DATA.glob("t*.jsonl")), DATA / "validation.jsonl", OLD]
    assert len(files) >= 9
    for path in files:
        for r in load_rows(path):
            assert (r.get("fails") in ("1B", "8B", "32B")) == (r["label"] == "hard"), (path.name, r["prompt"][:60])


def test_data_set_is_varied() -> None:
    rows = [r for s in SPLITS for r in split_rows(s)]
    for r in rows:
        assert r["label"] in ("hard", "easy") and r["prompt"].strip() and r["why"].strip()
        assert r["lang"] and r["domain"]
        for m in r.get("history", []):
            assert m["role"] in ("user", "assistant", "system") and m["content"]
    assert len({r["lang"] for r in rows}) >= 9
    assert len({r["domain"] for r in rows}) >= 17
    for split in SPLITS:  # every split has multi-turn cases and both kinds of decoys
        rows_s = split_rows(split)
        assert any(r.get("history") and r["label"] == "hard" for r in rows_s)
        assert any(r.get("history") and r["label"] == "easy" for r in rows_s)
        assert any(r.get("kind") == "easy-looks-hard" for r in rows_s)
        assert any(r.get("kind") == "hard-looks-easy" for r in rows_s)
    # not separable by length alone
    assert any(r["label"] == "hard" and len(r["prompt"]) < 60 for r in rows)
    assert any(r["label"] == "easy" and len(r["prompt"]) > 400 for r in rows)


# ---------------------------------------------------------------- the shipped weights

def test_weights_load_and_name_every_feature() -> None:
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert set(data["text_model"]["weights"]) == set(TEXT_FEATURES)
    for anchor in ("1B", "8B"):
        assert set(data["structural"]["models"][anchor]["weights"]) == set(TEXT_FEATURES + HISTORY_FEATURES)
        assert set(data["semantic"]["models"][anchor]["weights"]) == set(TEXT_FEATURES + HISTORY_FEATURES + ["semantic"])
    w = load_weights()
    for variant in (w.semantic, w.structural):
        t = variant.thresholds
        assert t["1B"] <= t["8B"] <= t["32B"]
        m = variant.model("1B")
        assert m.weights["proof"] > 0 and m.weights["brief"] < 0  # the signs make sense
    assert w.semantic.model("1B").weights["semantic"] > 0  # the head's logit counts for "hard"
    assert WEIGHTS_PATH.stat().st_size < 40_000


def test_router_needs_no_ml_library() -> None:
    code = "import sys, assistant.chat.router; print(sorted(m for m in ('numpy', 'sklearn', 'PySide6') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=HERE.parents[1]).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------- accuracy

def test_held_out_test_split_meets_the_goal_for_a_1b_model() -> None:
    # the test split was never used to fit or choose anything (tools/fit_router.py never reads it)
    precision, recall = precision_recall(split_rows("test"), TINY)
    assert precision >= 0.85
    assert recall >= 0.80


HELD_OUT_HARD = [
    ("Prove that the product of any two consecutive integers is even.", "math"),
    ("ሰላም፣ ስለ ላሊበላ አብያተ ክርስቲያናት ታሪክ በዝርዝር ንገረኝ።", "Ethiopic"),
    ("Write a 2,500-word essay on the history of the bicycle, with sections and references.", "long answer"),
    (('Traceback (most recent call last):\n  File "job.py", line 9, in <module>\n    run()\n'
     "TypeError: run() missing 1 required positional argument: 'cfg'\nhow do I fix this?"), "error trace"),
    ("I'm on warfarin and my dentist wants to prescribe amoxicillin and ibuprofen. Is that safe?", "medical"),
]
HELD_OUT_EASY = [
    "What's the capital of Japan?",
    "Translate 'good luck with your exam' into Spanish.",
    "Give me a short recipe for scrambled eggs.",
    "What does CPU stand for?",
    "Please summarise this in one sentence:\n\n"
    + ("The library will close early on Friday for staff training, and will reopen on Saturday "
       "at the usual time. Returned books can be left in the drop box. ") * 3,
]


@pytest.mark.parametrize(("prompt", "named"), HELD_OUT_HARD)
def test_clear_hard_prompts_are_hard_and_say_why(prompt: str, named: str) -> None:
    d = assess(prompt, [], TINY)
    assert d.hard and named in d.reason


@pytest.mark.parametrize("prompt", HELD_OUT_EASY)
def test_clear_easy_prompts_are_easy(prompt: str) -> None:
    assert not assess(prompt, [], TINY).hard


def test_held_out_examples_are_not_in_the_data() -> None:
    prompts = {r["prompt"] for s in SPLITS for r in split_rows(s)} | {r["prompt"] for r in load_rows(OLD)}
    prompts |= {r["prompt"] for name in ("train2", "test2", "reasons") for r in load_rows(DATA / f"{name}.jsonl")}
    assert not prompts & ({p for p, _ in HELD_OUT_HARD} | set(HELD_OUT_EASY))


# ---------------------------------------------------------------- model size

def test_bigger_models_raise_the_bar() -> None:
    assert threshold_for(TINY) < threshold_for(MID) < threshold_for(BIG)
    rows = split_rows("validation")
    tiny, mid, big = (sum(d.hard for d in decide(rows, m)) for m in (TINY, MID, BIG))
    assert tiny > mid > big
    # same prompt, same score: only the bar moves
    prompt = "A shop gives 15% off, then another 10% off the reduced price. What's the total discount?"
    small, large = assess(prompt, [], TINY), assess(prompt, [], BIG)
    assert small.hard and not large.hard and small.score > large.score


def test_model_size_is_read_from_the_name_when_unknown() -> None:
    named = LocalModelInfo("gemma-3-1b-it-Q4_K_M", None, 8192)
    assert threshold_for(named) == threshold_for(TINY)
    assert threshold_for(LocalModelInfo("gemma-3-270m", None, 8192)) == threshold_for(TINY)
    assert threshold_for(LocalModelInfo("qwen2.5-32b-instruct", None, 8192)) == threshold_for(BIG)
    unknown = threshold_for(LocalModelInfo("my-finetune", None, 8192))
    assert threshold_for(TINY) < unknown < threshold_for(BIG)


# ---------------------------------------------------------------- the context window

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


# ---------------------------------------------------------------- reasons

def test_reasons_are_plain_sentences_naming_the_model() -> None:
    rows = split_rows("train") + split_rows("validation")
    hard_seen = generic = 0
    for row, d in zip(rows, decide(rows, TINY)):
        assert d.reason.endswith(".") and d.reason[0].isupper()
        assert TINY.name in d.reason
        assert "{" not in d.reason and "_" not in d.reason  # no template or feature names leak
        if d.hard:
            hard_seen += 1
            assert d.reason.startswith(f"This looks hard for {TINY.name}: it ")
            assert all(r.strip() and r[0].islower() for r in d.reasons)
            if not d.reasons:  # no reason had its evidence in the prompt: none is invented
                generic += 1
                assert d.reason == f"This looks hard for {TINY.name}: it looks demanding for a small model."
            assert d.score >= 1.0
        else:
            assert d.reason == f"Looks fine for {TINY.name}."
            assert d.score < 1.0
    assert hard_seen > 100
    assert generic <= 0.2 * hard_seen  # most hard decisions name what makes them hard


def test_follow_up_inherits_the_difficulty_of_the_conversation() -> None:
    history = [
        Message("user", "Prove that every finite group of order p^2 is abelian."),
        Message("assistant", "Let G have order p^2. By the class equation the centre is non-trivial..."),
    ]
    follow_up = assess("why does the centre have to be non-trivial?", history, TINY)
    assert follow_up.hard and "earlier question" in follow_up.reason
    assert not assess("why does the centre have to be non-trivial?", [], MID).hard
    assert not assess("great, thanks a lot!", history, TINY).hard  # a closing turn asks nothing hard


# ---------------------------------------------------------------- speed, edge cases, after the answer

def test_assess_is_fast_enough() -> None:
    rows = split_rows("validation")
    start = time.perf_counter()
    for row in rows:
        assess(row["prompt"], history_of(row), TINY)
    per_prompt = (time.perf_counter() - start) / len(rows)
    assert per_prompt < 0.2  # a sanity bound only; bench/router_eval.py reports the real figure


@pytest.mark.parametrize("prompt", ["", "   ", "\n\n"])
def test_empty_prompts_are_easy(prompt: str) -> None:
    assert not assess(prompt, [], TINY).hard


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
