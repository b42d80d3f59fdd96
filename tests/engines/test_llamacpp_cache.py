"""Gemma 3's sliding-window layers keep only their window (no `swa_full`); prefixes are
still reused across turns, with a checkpoint where the window before the cut is gone,
and the answers stay those of a fresh engine."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine

GREEDY = GenParams(max_tokens=16, temperature=0.0)
LONG = "Read this. " + "The lighthouse stood on a rock, and its keeper wrote in a log every night. " * 70


def collect(e: LlamaCppEngine, messages: list[Message], params: GenParams = GREEDY):  # type: ignore[no-untyped-def]
    chunks = list(e.stream_chat(messages, params, threading.Event()))
    return "".join(c.text for c in chunks), chunks[-1]


@pytest.fixture(scope="module")
def engines(gemma_path: Path):  # type: ignore[no-untyped-def]
    warm, fresh = LlamaCppEngine(), LlamaCppEngine()
    for e in (warm, fresh):
        # one slot: with N slots the SWA cache holds N windows, and one sequence alone keeps
        # more than its window (these tests need the window to move past a prefix)
        e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=4096, n_threads=2, parallel=1))
    yield warm, fresh
    warm.unload()
    fresh.unload()


def last_logits(e: LlamaCppEngine):  # type: ignore[no-untyped-def]
    import numpy as np

    n = e._lib.llama_vocab_n_tokens(e._vocab)
    return np.ctypeslib.as_array(e._lib.llama_get_logits_ith(e._ctx, -1), shape=(n,)).copy()


def fresh_answer(fresh: LlamaCppEngine, messages: list[Message], params: GenParams = GREEDY) -> str:
    fresh._clear_cache()
    return collect(fresh, messages, params)[0]


def test_the_swa_cache_is_window_sized(engines) -> None:  # type: ignore[no-untyped-def]
    warm, _ = engines
    assert warm._kv.n_swa == warm._lib.llama_model_n_swa(warm._model) > 0
    assert warm.load_report["swa_full"] is False


def test_a_cut_behind_the_window_restores_a_checkpoint(engines) -> None:  # type: ignore[no-untyped-def]
    warm, fresh = engines
    warm._clear_cache()
    turn1 = [Message("user", LONG + " What did the keeper write?")]
    collect(warm, turn1)
    n1 = warm.count_tokens(turn1)
    # a long assistant message moves the window far past the end of turn 1's prompt
    story = "Night after night the keeper climbed the stairs and lit the great lamp for the ships. " * 40
    turn2 = turn1 + [Message("assistant", story), Message("user", "And then?")]
    collect(warm, turn2)
    assert not warm._kv._window_held(n1)  # the SWA layers no longer hold what turn 1 ended with
    before = warm._kv.restored
    # that message edited (or its thinking dropped): the cut is at the end of turn 1's prompt
    turn3 = turn1 + [Message("assistant", "He wrote about ships."), Message("user", "And then?")]
    one = GenParams(max_tokens=1, temperature=0.0)  # the loop stops before decoding: the prompt's logits stay
    _, done = collect(warm, turn3, one)
    assert warm._kv.restored == before + 1  # from the checkpoint taken at the end of turn 1's prompt
    assert n1 - 8 <= done.usage.cached_tokens <= n1
    fresh._clear_cache()
    collect(fresh, turn3, one)
    # the restored window gives the logits a fresh evaluation gives, up to rounding: another
    # batch split alone moves them by about 0.7 of this range of 31 (measured)
    a, b = last_logits(warm), last_logits(fresh)
    assert int(a.argmax()) == int(b.argmax())
    assert float(abs(a - b).max()) < 0.05 * float(b.max() - b.min()), float(abs(a - b).max())


def test_a_follow_up_turn_appends_without_a_checkpoint(engines) -> None:  # type: ignore[no-untyped-def]
    warm, fresh = engines
    warm._clear_cache()
    turn1 = [Message("user", LONG + " Summarise it.")]
    answer1, _ = collect(warm, turn1, GenParams(max_tokens=40, temperature=0.0))
    before = warm._kv.restored
    turn2 = turn1 + [Message("assistant", answer1), Message("user", "And in one word?")]
    answer2, done = collect(warm, turn2)
    assert done.usage.evaluated_prompt_tokens < 40 and warm._kv.restored == before
    assert answer2 == fresh_answer(fresh, turn2)


def test_an_edit_early_in_the_chat_evaluates_again_from_the_start(engines) -> None:  # type: ignore[no-untyped-def]
    warm, fresh = engines
    warm._clear_cache()
    collect(warm, [Message("user", LONG + " Who wrote the log?")])
    edited = [Message("user", "Read this carefully. " + LONG[11:] + " Who wrote the log?")]
    answer, done = collect(warm, edited)
    assert done.usage.cached_tokens <= 8  # only the template's start is shared
    assert answer == fresh_answer(fresh, edited)


def test_a_cut_inside_the_window_needs_no_checkpoint(engines) -> None:  # type: ignore[no-untyped-def]
    warm, fresh = engines
    warm._clear_cache()
    base = [Message("user", LONG + " Name one thing.")]
    collect(warm, base, GenParams(max_tokens=8, temperature=0.0))
    before = warm._kv.restored
    # the last message changes at its end: the cut is a few tokens back, inside the window
    other = [Message("user", LONG + " Name two things.")]
    answer, done = collect(warm, other)
    assert warm._kv.restored == before and done.usage.cached_tokens >= done.usage.prompt_tokens - 10
    assert answer == fresh_answer(fresh, other)


def test_a_new_checkpoint_takes_the_buffer_of_the_one_it_pushes_out(engines) -> None:  # type: ignore[no-untyped-def]
    warm, fresh = engines
    warm._clear_cache()
    one = GenParams(max_tokens=1, temperature=0.0)
    story = "Night after night the keeper climbed the stairs and lit the great lamp for the ships. " * 40
    chats = [[Message("user", LONG + " What did the keeper write?")]]
    for i in range(3):  # each turn's long answer moves the window past the end of the turn before
        chats.append(chats[-1] + [Message("assistant", f"{i}. {story}"), Message("user", "And then?")])
    bufs = []
    for chat in chats:
        collect(warm, chat, one)
        bufs.append(warm._kv._checkpoints[-1].buf)
    assert len(warm._kv._checkpoints) == 2
    assert bufs[2] is bufs[0] and bufs[3] is bufs[1]  # no new buffer (zeroed first) after the second
    # an edit of the last answer: the cut is behind the window, at the checkpoint in turn 1's buffer
    before = warm._kv.restored
    edited = chats[2] + [Message("assistant", "He wrote about ships."), Message("user", "And then?")]
    _, done = collect(warm, edited, one)
    assert warm._kv.restored == before + 1
    assert done.usage.cached_tokens >= warm.count_tokens(chats[2]) - 8
    fresh._clear_cache()
    collect(fresh, edited, one)
    a, b = last_logits(warm), last_logits(fresh)
    assert int(a.argmax()) == int(b.argmax())
    assert float(abs(a - b).max()) < 0.05 * float(b.max() - b.min()), float(abs(a - b).max())


@pytest.mark.parametrize("flash", ["off", "on"])
def test_a_cleared_cache_answers_as_a_fresh_one_though_its_old_cells_hold_data(gemma_path: Path, flash: str) -> None:
    """clear() forgets the cells without zeroing them, as llama-server does: a shorter
    prompt after a long one attends only to its own cells, with or without flash attention."""
    opts = LoadOptions(n_ctx=2048, n_threads=2, flash_attn=flash)
    used, fresh = LlamaCppEngine(), LlamaCppEngine()
    try:
        for e in (used, fresh):
            e.load(ModelRef(gemma_path, "gguf"), opts)
        one = GenParams(max_tokens=1, temperature=0.0)
        collect(used, [Message("user", LONG + " Tell me more.")], one)
        used._clear_cache()
        short = [Message("user", "Name a colour.")]
        collect(used, short, one)
        collect(fresh, short, one)
        a, b = last_logits(used), last_logits(fresh)
        assert float(abs(a - b).max()) <= 1e-4 * float(b.max() - b.min()), float(abs(a - b).max())
        assert collect(used, short, GREEDY)[0] == fresh_answer(fresh, short)
    finally:
        used.unload()
        fresh.unload()
