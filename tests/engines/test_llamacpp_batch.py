"""The answer loop over sequences (continuous batching) on the real llama.cpp: one
llama_decode a step for every running answer, a new answer joins at the next step, a
stop ends one answer and leaves the others, each slot keeps its own prefix, and the
per-sequence samplers (penalties, logit bias, log-probabilities) do what they say."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.llamacpp_seq import Sequence

GREEDY = GenParams(max_tokens=12, temperature=0.0)
QUESTIONS = [[Message("user", q)] for q in ("Write the alphabet: A B C", "Count: one two three", "List the days: Monday",
                                            "Colours of the rainbow: red, orange")]


@pytest.fixture(scope="module")
def engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=1, prompt_lookup="off", parallel=4))
    yield e
    e.unload()


@pytest.fixture
def decodes(engine: LlamaCppEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of tokens in each llama_decode call."""
    lib = engine._lib
    real = lib.llama_decode
    sizes: list[int] = []

    def counting(ctx, batch):  # type: ignore[no-untyped-def]
        sizes.append(int(batch.n_tokens))
        return real(ctx, batch)

    monkeypatch.setattr(lib, "llama_decode", counting)
    return sizes


def run_all(engine: LlamaCppEngine, seqs: list[Sequence]) -> None:
    assert engine.loop is not None
    while not all(s.over for s in seqs):
        engine.loop.step()


def text(seq: Sequence) -> str:
    return "".join(c.text for c in seq.take())


def start(engine: LlamaCppEngine, i: int, messages: list[Message], params: GenParams = GREEDY,
          cancel: threading.Event | None = None) -> Sequence:
    return engine.start_answer(i, messages, params, cancel or threading.Event())


def test_one_decode_a_step_carries_every_running_answer(engine: LlamaCppEngine, decodes: list[int]) -> None:
    engine._clear_cache()
    seqs = [start(engine, i, q) for i, q in enumerate(QUESTIONS[:3])]
    run_all(engine, seqs)
    assert all(s.n_out == 12 for s in seqs), [s.finish for s in seqs]
    # one batch with the three prompts, then one decode of three tokens a step (the last token is not decoded)
    assert len(decodes) == 1 + 11 and decodes[1:] == [3] * 11, decodes
    assert decodes[0] == sum(len(s.tokens) for s in seqs)


def test_answers_together_equal_answers_alone_or_part_at_a_near_tie(engine: LlamaCppEngine) -> None:
    params = GenParams(max_tokens=12, temperature=0.0, logprobs=5)

    def tokens(seq: Sequence) -> list:  # type: ignore[type-arg]
        return [lp for c in seq.take() for lp in (c.logprobs or [])]

    alone = []
    for i, q in enumerate(QUESTIONS):
        engine._clear_cache()
        s = start(engine, i, q, params)
        run_all(engine, [s])
        alone.append(tokens(s))
    engine._clear_cache()
    seqs = [start(engine, i, q, params) for i, q in enumerate(QUESTIONS)]
    run_all(engine, seqs)
    same = 0
    for a, b in zip(alone, (tokens(s) for s in seqs)):
        assert len(a) == len(b) == 12
        k = next((k for k, (x, y) in enumerate(zip(a, b)) if x.token != y.token), None)
        if k is None:
            same += 1
            continue
        # batched and single matmuls round the logits a little differently (~0.01-0.05 nats
        # here): an answer may part from itself only where two tokens were all but tied
        drift = max((abs(x.logprob - y.logprob) for x, y in zip(a[:k], b[:k])), default=0.0)
        assert drift < 0.5, drift  # the same tokens, the same figures but for rounding
        alone_top = dict(a[k].top)
        assert b[k].token in alone_top and a[k].logprob - alone_top[b[k].token] < 0.5, (k, a[k], b[k])
    assert same >= 2, same  # confident continuations do not part at all


def test_a_new_answer_joins_at_the_next_step(engine: LlamaCppEngine, decodes: list[int]) -> None:
    engine._clear_cache()
    assert engine.loop is not None
    first = start(engine, 1, QUESTIONS[0], GenParams(max_tokens=20, temperature=0.0))
    for _ in range(4):
        engine.loop.step()
    n_before = len(decodes)
    second = start(engine, 2, QUESTIONS[1])
    engine.loop.step()
    # the step after it came carries the first answer's next token and the second's prompt
    assert decodes[n_before] == 1 + len(second.tokens) and first.n_out == 5
    run_all(engine, [first, second])
    assert first.n_out == 20 and second.n_out == 12


def test_a_stop_ends_one_answer_and_leaves_the_others(engine: LlamaCppEngine) -> None:
    engine._clear_cache()
    assert engine.loop is not None
    cancel = threading.Event()
    params = GenParams(max_tokens=16, temperature=0.0)
    stopped = start(engine, 1, QUESTIONS[0], params, cancel)
    others = [start(engine, i, q, params) for i, q in enumerate(QUESTIONS[1:3], 2)]
    for _ in range(3):
        engine.loop.step()
    cancel.set()
    engine.loop.step()  # within one step
    assert stopped.over and stopped.finish == "cancelled" and stopped.n_out == 3
    assert not any(s.over for s in others)
    run_all(engine, others)
    assert [s.finish for s in others] == ["length", "length"] and all(s.n_out == 16 for s in others)


def test_each_slot_keeps_its_own_prefix(engine: LlamaCppEngine) -> None:
    engine._clear_cache()
    long = "Read this. " + "The lighthouse keeper wrote in a log every night. " * 20
    chat_a = [Message("user", long + " What did he write?")]
    chat_b = [Message("user", "Count: one two three " * 10)]
    a, b = start(engine, 1, chat_a), start(engine, 2, chat_b)
    run_all(engine, [a, b])
    answer_a = text(a)
    # turn 2 of chat A, while chat B's slot is still held: A finds its own slot's prefix
    turn2 = chat_a + [Message("assistant", answer_a), Message("user", "And then?")]
    a2, b2 = start(engine, 3, turn2), start(engine, 4, chat_b + [Message("assistant", text(b)), Message("user", "Go on.")])
    run_all(engine, [a2, b2])
    assert a2.kv is not a.kv or a2.usage.cached_tokens >= len(a.tokens) - 1
    assert a2.usage.cached_tokens >= len(a.tokens) - 1 and b2.usage.cached_tokens >= len(b.tokens) - 1
    assert a2.kv is a.kv and b2.kv is b.kv


def test_prompt_lookup_drafts_for_an_answer_alone_only(gemma_path: Path) -> None:
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=1, prompt_lookup="auto", parallel=2))
    try:
        text_in = "Repeat this exactly: " + "the cat sat on the mat and looked at the hat, " * 6
        params = GenParams(max_tokens=40, temperature=0.0)
        alone = start(e, 1, [Message("user", text_in)], params)
        run_all(e, [alone])
        assert alone.steps < alone.n_out - 1  # drafts were kept: fewer decode steps than tokens
        e._clear_cache()
        pair = [start(e, 2, [Message("user", text_in)], params), start(e, 3, [Message("user", "Count: one two")], params)]
        run_all(e, pair)
        assert pair[0].steps >= min(pair[0].n_out, pair[1].n_out) - 1  # no drafts while another answer runs
        assert text(pair[0]) == text(alone)
    finally:
        e.unload()


def test_penalties_bias_and_logprobs(engine: LlamaCppEngine) -> None:
    q = [Message("user", "Say the word yes ten times: yes yes yes")]
    engine._clear_cache()
    plain, penalised = start(engine, 1, q, GenParams(max_tokens=16, temperature=0.0, logprobs=3)), start(
        engine, 2, q, GenParams(max_tokens=16, temperature=0.0, frequency_penalty=2.0, presence_penalty=2.0))
    run_all(engine, [plain, penalised])
    chunks = plain.take()
    t_plain, t_pen = "".join(c.text for c in chunks), text(penalised)
    assert t_plain != t_pen
    words = t_plain.lower().split()
    assert words.count("yes") > t_pen.lower().split().count("yes")
    lps = [lp for c in chunks for lp in (c.logprobs or [])]
    assert len(lps) == plain.n_out and all(lp.logprob <= 0 and len(lp.top) == 3 for lp in lps)
    assert all(lp.top[0][1] >= lp.top[1][1] >= lp.top[2][1] for lp in lps)
    assert all(abs(lp.logprob - lp.top[0][1]) < 1e-4 for lp in lps)  # greedy picks the likeliest
    # a bias of -100 bans the token greedy picked first
    first = engine.tokenize(lps[0].token, add_bos=False)[0]
    banned = start(engine, 3, q, GenParams(max_tokens=4, temperature=0.0, logit_bias={first: float("-inf")}))
    run_all(engine, [banned])
    assert not text(banned).startswith(lps[0].token)
