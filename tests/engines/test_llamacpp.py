"""The llama.cpp engine end to end with the real Gemma 3 270M model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.errors import EngineError, PromptTooLongError

GREEDY = GenParams(max_tokens=24, temperature=0.0, repeat_penalty=1.0)


def collect(engine, messages, params=GREEDY, cancel=None):  # type: ignore[no-untyped-def]
    cancel = cancel or threading.Event()
    chunks = list(engine.stream_chat(messages, params, cancel))
    return "".join(c.text for c in chunks), chunks


def test_streams_text_with_usage_and_timings(gemma_engine: LlamaCppEngine) -> None:
    messages = [Message("system", "Be brief."), Message("user", "Name three colours.")]
    text, chunks = collect(gemma_engine, messages, GenParams(max_tokens=20, temperature=0.7, seed=1))
    final = chunks[-1]
    assert final.done and all(not c.done for c in chunks[:-1])
    assert len(chunks) > 2, "text must arrive in several chunks, not at once"
    assert text.strip()
    assert final.usage is not None and final.timings is not None
    assert final.usage.prompt_tokens == gemma_engine.count_tokens(messages)
    assert 0 < final.usage.completion_tokens <= 20
    assert final.finish_reason in ("length", "stop")
    if final.finish_reason == "length":
        assert final.usage.completion_tokens == 20
    t = final.timings
    assert 0 < t.ttft_s <= t.total_s and t.prompt_s > 0
    assert t.decode_tokens_per_s(final.usage.completion_tokens) > 0
    assert gemma_engine.backend == "CPU" and gemma_engine.name == "llama.cpp"


def test_cancel_mid_answer_stops_at_once(gemma_engine: LlamaCppEngine) -> None:
    cancel = threading.Event()
    got = []
    for chunk in gemma_engine.stream_chat([Message("user", "Tell me a long story.")], GenParams(max_tokens=200, temperature=0.8, seed=3), cancel):
        got.append(chunk)
        if len(got) == 3:
            cancel.set()
    final = got[-1]
    assert final.done and final.finish_reason == "cancelled"
    assert final.usage.completion_tokens <= 4


def test_follow_up_turn_reuses_the_cache(gemma_path: Path) -> None:
    # an engine of its own: the session engine's cache holds whatever the tests before ran
    warm = LlamaCppEngine()
    warm.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2))
    try:
        turn1 = [Message("user", "Write one sentence about rivers.")]
        answer1, chunks1 = collect(warm, turn1)
        assert chunks1[-1].usage.cached_tokens == 0  # a new engine has nothing to reuse
        turn2 = turn1 + [Message("assistant", answer1), Message("user", "And one about lakes?")]
        answer2, chunks2 = collect(warm, turn2)
        usage = chunks2[-1].usage
        new_part = usage.prompt_tokens - warm.count_tokens(turn1)
        # only the new messages (and the re-tokenized end of the answer) are evaluated
        assert usage.cached_tokens >= warm.count_tokens(turn1)
        assert usage.evaluated_prompt_tokens <= new_part + 8
        assert usage.evaluated_prompt_tokens < usage.prompt_tokens / 2
    finally:
        warm.unload()

    # the reused cache gives the same greedy answer as a fresh engine with no cache
    fresh = LlamaCppEngine()
    fresh.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2))
    try:
        fresh_answer, fresh_chunks = collect(fresh, turn2)
        assert fresh_chunks[-1].usage.cached_tokens == 0
    finally:
        fresh.unload()
    assert answer2 == fresh_answer


def test_stop_strings_are_not_emitted(gemma_engine: LlamaCppEngine) -> None:
    messages = [Message("user", "Count: 1, 2, 3, 4, 5, 6, 7")]
    free, _ = collect(gemma_engine, messages, GenParams(max_tokens=30, temperature=0.0))
    assert len(free) > 4
    stop = free[2:4]
    text, chunks = collect(gemma_engine, messages, GenParams(max_tokens=30, temperature=0.0, stop=[stop]))
    assert stop not in text
    assert free.startswith(text)
    assert chunks[-1].finish_reason == "stop"


def test_prompt_longer_than_the_window_names_the_limit(gemma_engine: LlamaCppEngine) -> None:
    with pytest.raises(PromptTooLongError) as err:
        collect(gemma_engine, [Message("user", "word " * 5000)])
    assert "2048" in str(err.value)
    assert err.value.limit == 2048 and err.value.needed > 2048
    # the engine still works afterwards
    text, _ = collect(gemma_engine, [Message("user", "Hi")])
    assert text


def test_unloaded_engine_refuses_clearly() -> None:
    with pytest.raises(EngineError, match="No model is loaded"):
        list(LlamaCppEngine().stream_chat([Message("user", "hi")], GREEDY, threading.Event()))


def test_unload_frees_and_reload_works(gemma_path: Path) -> None:
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    assert e.loaded and e.context_length == 512
    e.unload()
    assert not e.loaded
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    text, _ = collect(e, [Message("user", "Hi")])
    assert text
    e.unload()


def test_stop_inside_a_prompt_batch_keeps_the_cache_consistent(gemma_path: Path) -> None:
    """Stop aborts llama_decode between graph operations (not only between batches); the
    engine's record of the cache stays true, so the next answer is the same as a fresh one."""
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=1))
    try:
        long = [Message("user", "Read this. " + "A cat sat on a mat near the door. " * 110 + "What sat?")]
        cancel = threading.Event()
        timer = threading.Timer(0.3, cancel.set)
        timer.start()
        t0 = time.perf_counter()
        _, chunks = collect(e, long, GREEDY, cancel)
        stop_s = time.perf_counter() - t0
        assert chunks[-1].finish_reason == "cancelled" and chunks[-1].usage.completion_tokens == 0
        assert stop_s < 2.0, stop_s
        again, _ = collect(e, long)
        fresh = LlamaCppEngine()
        fresh.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=1))
        try:
            assert again == collect(fresh, long)[0]
        finally:
            fresh.unload()
    finally:
        e.unload()
