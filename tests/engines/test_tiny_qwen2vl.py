"""The tiny Qwen2-VL pair (tests/support/tiny_qwen2vl.py) on llama.cpp's raw bindings: an M-RoPE
vision model whose image chunk advances the position by fewer steps than it has tokens.

Not through our engine: these tests prove the model files are real (they load, tokenize an image,
evaluate it and decode after it), so that the engine's tests can rely on them."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pytest

from tests.support import image_files as imgs
from tests.support import tiny_qwen2vl as qwen

PROMPT = b"<|im_start|>user\n%sWhat is this?<|im_end|>\n<|im_start|>assistant\n"


@dataclass
class Loaded:
    lib: Any
    mtmd: Any
    model: Any
    ctx: Any
    vision: Any


@dataclass
class Chunk:
    kind: int
    n_tokens: int
    n_pos: int
    tokens: list[int]  # text chunks only
    grid: tuple[int, int] = (0, 0)  # image chunks only: (nx, ny) in tokens


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    from llama_cpp import llama_cpp as lib
    from llama_cpp import mtmd_cpp as mtmd

    lib.llama_backend_init()
    model = lib.llama_model_load_from_file(str(qwen.model_path()).encode(), lib.llama_model_default_params())
    assert model
    cp = lib.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_threads, cp.n_threads_batch = 512, 512, 1, 1
    ctx = lib.llama_init_from_model(model, cp)
    assert ctx
    mp = mtmd.mtmd_context_params_default()
    mp.use_gpu, mp.n_threads, mp.print_timings = False, 1, False
    vision = mtmd.mtmd_init_from_file(str(qwen.mmproj_path()).encode(), model, mp)
    assert vision
    yield Loaded(lib, mtmd, model, ctx, vision)
    mtmd.mtmd_free(vision)
    lib.llama_free(ctx)
    lib.llama_model_free(model)


def tokenize(m: Loaded, png: bytes) -> Any:
    """PROMPT with the image at libmtmd's default marker: its input chunks (to free)."""
    mtmd = m.mtmd
    buf = (ctypes.c_uint8 * len(png)).from_buffer_copy(png)
    bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(m.vision, buf, len(png), False, mtmd.mtmd_helper_init_opt_default())
    assert bitmap
    chunks = mtmd.mtmd_input_chunks_init()
    prompt = PROMPT % mtmd.mtmd_default_marker()
    text = mtmd.mtmd_input_text(prompt, len(prompt), False, True)
    try:
        assert mtmd.mtmd_tokenize(m.vision, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
    finally:
        mtmd.mtmd_bitmap_free(bitmap)
    return chunks


def describe(m: Loaded, chunks: Any) -> list[Chunk]:
    mtmd = m.mtmd
    out = []
    for i in range(mtmd.mtmd_input_chunks_size(chunks)):
        c = mtmd.mtmd_input_chunks_get(chunks, i)
        kind = int(mtmd.mtmd_input_chunk_get_type(c))
        one = Chunk(kind, int(mtmd.mtmd_input_chunk_get_n_tokens(c)), int(mtmd.mtmd_input_chunk_get_n_pos(c)), [])
        if kind == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
            n = ctypes.c_size_t(0)
            toks = mtmd.mtmd_input_chunk_get_tokens_text(c, ctypes.byref(n))
            one.tokens = [int(toks[j]) for j in range(n.value)]
        else:
            image = mtmd.mtmd_input_chunk_get_tokens_image(c)
            one.grid = (int(mtmd.mtmd_image_tokens_get_nx(image)), int(mtmd.mtmd_image_tokens_get_ny(image)))
        out.append(one)
    return out


def logits_after(m: Loaded, png: bytes) -> tuple[np.ndarray, int, list[Chunk]]:
    """Evaluate PROMPT with the image from an empty cache, then decode one text token at the
    position libmtmd returns: (its logits, that position, the chunks)."""
    lib, mtmd = m.lib, m.mtmd
    mem = lib.llama_get_memory(m.ctx)
    lib.llama_memory_clear(mem, True)
    chunks = tokenize(m, png)
    try:
        seen = describe(m, chunks)
        new_past = lib.llama_pos(0)
        assert mtmd.mtmd_helper_eval_chunks(m.vision, m.ctx, chunks, 0, 0, 512, True, ctypes.byref(new_past)) == 0
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
    n_past = int(new_past.value)
    assert lib.llama_memory_seq_pos_max(mem, 0) == n_past - 1  # the cache's last position: n_past advanced by n_pos
    batch = lib.llama_batch_init(1, 0, 1)
    try:
        batch.n_tokens = 1
        batch.token[0], batch.pos[0], batch.n_seq_id[0], batch.seq_id[0][0], batch.logits[0] = qwen.token_id("a"), n_past, 1, 0, True
        assert lib.llama_decode(m.ctx, batch) == 0
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(m.ctx, 0), shape=(qwen.N_VOCAB,)).copy()
    finally:
        lib.llama_batch_free(batch)
    return logits, n_past, seen


def test_the_text_model_is_qwen2vl_with_m_rope(loaded: Loaded) -> None:
    lib = loaded.lib
    assert lib.llama_model_rope_type(loaded.model) == lib.LLAMA_ROPE_TYPE_MROPE == 8
    assert lib.llama_model_n_embd(loaded.model) == qwen.N_EMBD
    assert lib.llama_model_n_layer(loaded.model) == qwen.N_LAYER
    vocab = lib.llama_model_get_vocab(loaded.model)
    assert lib.llama_vocab_n_tokens(vocab) == qwen.N_VOCAB
    assert lib.llama_vocab_eos(vocab) == qwen.token_id("<|im_end|>")
    buf = ctypes.create_string_buffer(64)
    assert lib.llama_model_meta_val_str(loaded.model, b"general.architecture", buf, 64) > 0 and buf.value == b"qwen2vl"
    assert qwen.model_path().stat().st_size < 1_000_000 and qwen.mmproj_path().stat().st_size < 1_000_000


def test_its_chat_template_is_qwen2_vls(loaded: Loaded) -> None:
    template = loaded.lib.llama_model_chat_template(loaded.model, None).decode()
    assert template == qwen.CHAT_TEMPLATE
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Hi"}]}]
    text = jinja2.Environment().from_string(template).render(messages=messages, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Hi<|im_end|>\n<|im_start|>assistant\n")


def test_special_tokens_are_single_tokens(loaded: Loaded) -> None:
    lib = loaded.lib
    vocab = lib.llama_model_get_vocab(loaded.model)
    for name in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|endoftext|>"):
        text = name.encode()
        out = (lib.llama_token * 8)()
        assert lib.llama_tokenize(vocab, text, len(text), out, 8, False, True) == 1 and out[0] == qwen.token_id(name)
    text = b"the cat"
    out = (lib.llama_token * 16)()
    n = lib.llama_tokenize(vocab, text, len(text), out, 16, False, True)
    assert [qwen.vocab()[0][t] for t in out[:n]] == ["t", "he", "Ġ", "c", "at"]  # byte-level BPE with the merges


def test_the_image_chunk_has_fewer_positions_than_tokens(loaded: Loaded) -> None:
    """A 48x40 picture is scaled up to 112x84 (at least 8 tokens of 28x28 px): 4x3 = 12 tokens, which
    M-RoPE places on max(4, 3) = 4 positions. libmtmd writes <|vision_start|> / <|vision_end|> around it."""
    chunks = tokenize(loaded, imgs.png_bytes(imgs.noise(1)))
    try:
        before, image, after = describe(loaded, chunks)
    finally:
        loaded.mtmd.mtmd_input_chunks_free(chunks)
    assert image.kind == loaded.mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE
    assert (image.n_tokens, image.n_pos, image.grid) == (12, 4, (4, 3))
    assert before.tokens[-1] == qwen.token_id("<|vision_start|>") and after.tokens[0] == qwen.token_id("<|vision_end|>")
    assert before.n_pos == before.n_tokens == 6 and after.n_pos == after.n_tokens == 22


def test_a_bigger_picture_gives_more_tokens(loaded: Loaded) -> None:
    chunks = tokenize(loaded, imgs.png_bytes(imgs.noise(1, w=200, h=100)))  # rounded to 196x112: not scaled up
    try:
        image = describe(loaded, chunks)[1]
    finally:
        loaded.mtmd.mtmd_input_chunks_free(chunks)
    assert (image.n_tokens, image.n_pos, image.grid) == (28, 7, (7, 4))


def test_the_image_is_evaluated_and_text_follows_at_the_returned_position(loaded: Loaded) -> None:
    logits, n_past, seen = logits_after(loaded, imgs.png_bytes(imgs.noise(1)))
    assert np.isfinite(logits).all() and logits.std() > 0
    assert n_past == sum(c.n_pos for c in seen) == 32
    assert n_past != sum(c.n_tokens for c in seen) == 40  # the image's 12 tokens took 4 positions


def test_two_pictures_give_different_logits(loaded: Loaded) -> None:
    a, _, _ = logits_after(loaded, imgs.png_bytes(imgs.noise(1)))
    b, _, _ = logits_after(loaded, imgs.png_bytes(imgs.noise(2)))
    again, _, _ = logits_after(loaded, imgs.png_bytes(imgs.noise(1)))
    assert not np.allclose(a, b, atol=1e-3)
    assert np.allclose(a, again, atol=1e-4)  # the same picture: the same logits (nothing left from before)


def test_a_projector_of_another_width_is_refused(loaded: Loaded, tmp_path: Path) -> None:
    path = tmp_path / "narrow.gguf"
    qwen.write_mmproj(path, n_embd=32)
    mp = loaded.mtmd.mtmd_context_params_default()
    mp.use_gpu, mp.n_threads, mp.warmup = False, 1, False
    assert not loaded.mtmd.mtmd_init_from_file(str(path).encode(), loaded.model, mp)
