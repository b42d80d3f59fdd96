"""An M-RoPE vision model on our llama.cpp engine, for real: the tiny Qwen2-VL pair
(tests/support/tiny_qwen2vl.py: architecture qwen2vl, projector qwen2vl_merger, random
weights). Its 48 x 40 test picture is 12 image tokens but only 4 positions. The first
answer token's logits must equal what libmtmd's own helper gives for the same prompt
(mtmd_helper_eval_chunks: its positions are the reference), a later turn that reuses
the cached image must equal a fresh engine, and two answers side by side in one context
must equal each alone."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.templates import MEDIA_MARKER
from tests.support import image_files as imgs
from tests.support.tiny_qwen2vl import mmproj_path, model_path

FIRST = GenParams(max_tokens=1, temperature=0.0, logprobs=20)
GREEDY = GenParams(max_tokens=4, temperature=0.0, repeat_penalty=1.0)


def _engine(parallel: int = 1) -> LlamaCppEngine:
    e = LlamaCppEngine()
    e.load(ModelRef(model_path(), "gguf"), LoadOptions(n_ctx=1024, n_threads=1, mmproj=str(mmproj_path()),
                                                       parallel=parallel))
    return e


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    e = _engine()
    yield e
    e.unload()


@pytest.fixture(scope="module")
def pics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pics")
    return {"a": imgs.write_png(d / "a.png", imgs.noise(1)), "b": imgs.write_png(d / "b.png", imgs.noise(2))}


def _first(e: LlamaCppEngine, messages: list[Message]) -> list[tuple[str, float]]:
    chunks = list(e.stream_chat(messages, FIRST, threading.Event()))
    lp = [c for c in chunks if c.logprobs][0].logprobs[0]  # type: ignore[index]
    return sorted((t, round(v, 3)) for t, v in lp.top)


def _reference(e: LlamaCppEngine, messages: list[Message], image: Path) -> list[tuple[str, float]]:
    """libmtmd's helper on the prompt our engine renders: its chunks, its positions, a fresh context."""
    from llama_cpp import llama_cpp as lib
    from llama_cpp import mtmd_cpp as mtmd

    text = e.render_prompt(messages).encode()
    params = lib.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_threads, params.n_threads_batch = 1024, 512, 1, 1
    ctx = lib.llama_init_from_model(e._model, params)
    try:
        data = image.read_bytes()
        bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(e.vision.ctx, (ctypes.c_uint8 * len(data)).from_buffer_copy(data),  # type: ignore[union-attr]
                                                       len(data), False)
        chunks = mtmd.mtmd_input_chunks_init()
        inp = mtmd.mtmd_input_text(text, len(text), False, True)
        assert mtmd.mtmd_tokenize(e.vision.ctx, chunks, ctypes.byref(inp),  # type: ignore[union-attr]
                                  (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
        mtmd.mtmd_bitmap_free(bitmap)
        new_past = lib.llama_pos(0)
        assert mtmd.mtmd_helper_eval_chunks(e.vision.ctx, ctx, chunks, 0, 0, 512, True, ctypes.byref(new_past)) == 0  # type: ignore[union-attr]
        n_tokens = sum(int(mtmd.mtmd_input_chunk_get_n_tokens(mtmd.mtmd_input_chunks_get(chunks, i)))
                       for i in range(mtmd.mtmd_input_chunks_size(chunks)))
        assert new_past.value < n_tokens  # M-RoPE: fewer positions than tokens
        mtmd.mtmd_input_chunks_free(chunks)
        n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(e._model))
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, -1), shape=(n_vocab,)).astype(np.float64)
    finally:
        lib.llama_free(ctx)
    logp = logits - (np.log(np.exp(logits - logits.max()).sum()) + logits.max())
    top = np.argsort(-logp)[:20]
    return sorted((e._token_text(int(t)), round(float(logp[t]), 3)) for t in top)


def _ask(image: Path, question: str = "What is this?") -> Message:
    return Message("user", question, images=[str(image)])


def test_the_image_is_placed_where_libmtmd_places_it(engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    messages = [_ask(pics["a"])]
    assert MEDIA_MARKER in engine.render_prompt(messages)
    ours = _first(engine, messages)
    assert ours == _reference(engine, messages, pics["a"])
    assert ours != _first(engine, [_ask(pics["b"])])  # the model saw the pixels


def test_a_later_turn_reuses_the_image_and_equals_a_fresh_engine(engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    first = [_ask(pics["a"])]
    reply = "".join(c.text for c in engine.stream_chat(first, GREEDY, threading.Event()))
    later = [*first, Message("assistant", reply), Message("user", "And the colours?")]
    kv = engine._kv
    assert kv is not None and kv._images  # the image's cells are in the cache, with fewer positions
    warm = _first(engine, later)  # reuses the image's cells: its text goes at positions after them
    fresh = _engine()
    try:
        assert warm == _first(fresh, later)
    finally:
        fresh.unload()
    # an edit that keeps the image but changes the question after it cuts at a position
    edited = [_ask(pics["a"], "Describe it in one word.")]
    assert _first(engine, edited) == _reference(engine, edited, pics["a"])


def test_two_answers_side_by_side_equal_each_alone(pics: dict[str, Path]) -> None:
    e = _engine(parallel=2)
    try:
        alone = [_first(e, [_ask(pics[k])]) for k in ("a", "b")]
        e._clear_cache()
        loop = e.loop
        assert loop is not None
        # the other answer's text first, so the image is read beside a running answer
        other = e.start_answer(0, [Message("user", "Count to ten.")], GenParams(max_tokens=8, temperature=0.0),
                               threading.Event())
        loop.step()
        seqs = [e.start_answer(i + 1, [_ask(pics[k])], FIRST, threading.Event()) for i, k in enumerate(("a", "b"))]
        while not all(s.over for s in (*seqs, other)):
            loop.step()
        got = []
        for s in seqs:
            lp = [c for c in s.take() if c.logprobs][0].logprobs[0]  # type: ignore[index]
            got.append(sorted((t, round(v, 3)) for t, v in lp.top))
        assert got == alone and other.error is None
    finally:
        e.unload()
