"""Prompt-lookup decoding: the lookup itself, and with the real model the same greedy
answer as without drafts, fewer decode steps on a quoting answer, and stops, cancel,
length limits, usage and timings as before."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines import llamacpp_draft
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.llamacpp_draft import PromptLookup

CODE = '''def area(shapes):
    total = 0
    for s in shapes:
        if s.kind == "circle":
            total += 3.14159 * s.r * s.r
        elif s.kind == "square":
            total += s.side * s.side
    return total
'''
EDIT = [Message("user", f"Here is some Python code:\n\n```python\n{CODE}```\n\n"
                        "Rewrite it with the variable total renamed to result. Show the complete code.")]


def test_lookup_drafts_what_followed_the_same_ending() -> None:
    pl = PromptLookup([1, 2, 3, 4, 5, 6, 9, 2, 3])
    assert pl.draft(10) == [4, 5, 6, 9, 2, 3]  # after the earlier "2 3"
    assert pl.draft(2) == [4, 5]
    pl.add(7)  # "2 3 7" and "3 7" were never seen
    assert pl.draft(10) == []


def test_lookup_backs_off_when_drafts_are_rejected() -> None:
    pl = PromptLookup([1, 2, 3, 1, 2])
    assert pl.draft(4)
    pl.result(4, 0)
    pl.result(4, 0)
    assert pl.draft(4) == []  # paused
    for _ in range(llamacpp_draft.BACKOFF_TOKENS):
        pl.add(1)
        pl.add(2)
    assert pl.draft(4)  # tries again later


@pytest.fixture(scope="module")
def engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2))
    yield e
    e.unload()


def run(e: LlamaCppEngine, messages, lookup: str, params: GenParams, cancel=None):  # type: ignore[no-untyped-def]
    e.prompt_lookup = lookup
    e._clear_cache()
    chunks = list(e.stream_chat(messages, params, cancel or threading.Event()))
    return "".join(c.text for c in chunks), chunks


@pytest.mark.parametrize("messages", [EDIT, [Message("user", "Write a short poem about the sea.")]], ids=["edit", "plain"])
def test_greedy_answer_is_the_same_with_drafts(engine: LlamaCppEngine, messages: list[Message]) -> None:
    # 80 tokens: the whole quoting answer. Past it this small model rambles in near-ties
    # (two tokens within rounding of each other), where llama.cpp's batched matmul (a
    # draft's check) and its one-token matmul may round apart, as in llama-server.
    params = GenParams(max_tokens=80, temperature=0.0)
    plain, chunks_plain = run(engine, messages, "off", params)
    drafted, chunks = run(engine, messages, "auto", params)
    assert drafted == plain
    assert chunks[-1].usage == chunks_plain[-1].usage
    t = chunks[-1].timings
    assert t.ttft_s > 0 and t.decode_s > 0 and t.total_s >= t.decode_s
    if messages is EDIT:  # the answer quotes the code: most drafted tokens are kept
        lk = engine.last_lookup
        assert lk.drafted > 0 and lk.accepted / lk.drafted > 0.5, (lk.drafted, lk.accepted)


def test_drafts_respect_stops_length_and_cancel(engine: LlamaCppEngine) -> None:
    params = GenParams(max_tokens=80, temperature=0.0)
    # the drafted answer itself as the reference: on some CPUs a near-tie rounds apart
    # between the batched and the one-token matmul (see above), which is not what this tests
    full, _ = run(engine, EDIT, "auto", params)
    assert "elif" in full  # the answer quotes the code
    stop = full[full.index("elif"):][:12]
    text, chunks = run(engine, EDIT, "auto", GenParams(max_tokens=80, temperature=0.0, stop=[stop]))
    assert stop not in text and chunks[-1].finish_reason == "stop" and full.startswith(text)
    text, chunks = run(engine, EDIT, "auto", GenParams(max_tokens=17, temperature=0.0))
    assert chunks[-1].finish_reason == "length" and chunks[-1].usage.completion_tokens == 17
    cancel = threading.Event()
    seen = []
    engine.prompt_lookup = "auto"
    for chunk in engine.stream_chat(EDIT, params, cancel):
        seen.append(chunk)
        if len(seen) == 5:
            cancel.set()
    assert seen[-1].finish_reason == "cancelled" and seen[-1].usage.completion_tokens <= 5 + llamacpp_draft.DRAFT_MAX
    # the cache's record stays true after drafts were cut back: the same prompt again
    # (its last token evaluated anew on the reused cache) answers as it does after an
    # answer without drafts. Not as a fresh prompt: one batch or two round apart, and
    # this small model has near-ties in this answer.
    again, _ = run(engine, EDIT, "auto", params)
    assert again == full

    def regenerate(lookup: str) -> str:
        run(engine, EDIT, lookup, params)
        return "".join(c.text for c in engine.stream_chat(EDIT, params, threading.Event()))

    assert regenerate("auto") == regenerate("off")
