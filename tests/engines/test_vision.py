"""Vision on the llama.cpp engine, for real: libmtmd with a tiny random Gemma 3 projector
(tests/support/tiny_mmproj.py) on the real Gemma 3 270M, images written as files."""

from __future__ import annotations

import ctypes
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.core import images
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.host import EngineProxy
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.templates import MEDIA_MARKER
from assistant.errors import EngineCrashedError, ImageError, ModelFormatError
from tests.support import image_files as imgs
from tests.support.tiny_mmproj import N_IMAGE_TOKENS, mmproj_path, write_mmproj

REPO = Path(__file__).resolve().parents[2]
GEMMA3_4B = (REPO / "tests/engines/templates/google-gemma-3-4b-it.jinja").read_text()
GREEDY = GenParams(max_tokens=6, temperature=0.0, repeat_penalty=1.0)
FIRST = GenParams(max_tokens=1, temperature=0.0, logprobs=20)
QUESTION = "What is in this picture?"


def vision_options(**kw) -> LoadOptions:  # type: ignore[no-untyped-def]
    return LoadOptions(n_ctx=1024, n_threads=1, mmproj=str(mmproj_path()), **kw)


@pytest.fixture(scope="module")
def engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    """The model's own template (it reads string content: the markers go before the text)."""
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), vision_options())
    yield e
    e.unload()


@pytest.fixture(scope="module")
def parts_engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    """Gemma 3 4B's template, which reads content parts, as vision models' templates do."""
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), vision_options(chat_template=GEMMA3_4B))
    yield e
    e.unload()


@pytest.fixture(scope="module")
def pics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pics")
    return {"a": imgs.write_png(d / "a.png", imgs.noise(1)), "b": imgs.write_png(d / "b.png", imgs.noise(2)),
            "a_copy": imgs.write_png(d / "a_copy.png", imgs.noise(1))}


def answer(engine, messages, params=GREEDY):  # type: ignore[no-untyped-def]
    chunks = list(engine.stream_chat(messages, params, threading.Event()))
    return "".join(c.text for c in chunks), chunks[-1]


def mtmd_counts(engine: LlamaCppEngine, image: Path) -> tuple[int, int]:
    """libmtmd's own count for an image: (image tokens, text tokens around it)."""
    from llama_cpp import mtmd_cpp as mtmd

    ctx = engine.vision.ctx  # type: ignore[union-attr]
    data = image.read_bytes()
    bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(ctx, (ctypes.c_uint8 * len(data)).from_buffer_copy(data), len(data), False)
    chunks = mtmd.mtmd_input_chunks_init()
    marker = mtmd.mtmd_default_marker()
    text = mtmd.mtmd_input_text(marker, len(marker), False, True)
    assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
    n_image = n_text = 0
    for i in range(mtmd.mtmd_input_chunks_size(chunks)):
        chunk = mtmd.mtmd_input_chunks_get(chunks, i)
        if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
            n_text += int(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
        else:
            n_image += int(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
    mtmd.mtmd_input_chunks_free(chunks)
    mtmd.mtmd_bitmap_free(bitmap)
    return n_image, n_text


# -- the path end to end ----------------------------------------------------------------
def test_an_image_is_read_and_answered(engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    messages = [Message("user", QUESTION, images=[str(pics["a"])])]
    text, last = answer(engine, messages)
    assert text.strip() and last.finish_reason in ("stop", "length")
    tokens = engine.prompt_tokens(messages)
    assert sum(t < 0 for t in tokens) == N_IMAGE_TOKENS  # the image's place, one stand-in per image token
    assert last.usage.prompt_tokens == engine.count_tokens(messages) == len(tokens)


def test_the_prompt_grows_by_the_images_tokens(parts_engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    n_image, n_text = mtmd_counts(parts_engine, pics["a"])
    assert n_image == N_IMAGE_TOKENS and n_text == 2  # <start_of_image> ... <end_of_image>
    plain = [Message("user", QUESTION)]
    seen = [Message("user", QUESTION, images=[str(pics["a"])])]
    assert MEDIA_MARKER in parts_engine.render_prompt(seen) and "'type'" not in parts_engine.render_prompt(seen)
    assert parts_engine.count_tokens(seen) == parts_engine.count_tokens(plain) + n_image + n_text
    two = [Message("user", QUESTION, images=[str(pics["a"]), str(pics["b"])])]
    assert parts_engine.count_tokens(two) == parts_engine.count_tokens(plain) + 2 * (n_image + n_text)
    _, last = answer(parts_engine, seen)
    assert last.usage.prompt_tokens == parts_engine.count_tokens(seen)


def first_logprobs(engine: LlamaCppEngine, image: Path) -> list[float]:
    engine._clear_cache()  # each from an empty cache: the same computation each time
    chunks = list(engine.stream_chat([Message("user", QUESTION, images=[str(image)])], FIRST, threading.Event()))
    lps = [lp for c in chunks for lp in (c.logprobs or [])]
    return [v for _, v in lps[0].top]


def test_different_images_change_the_first_tokens_logits(engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    a, b, a2 = (first_logprobs(engine, pics[k]) for k in ("a", "b", "a_copy"))
    assert a == a2  # the same pixels in another file: the same logits
    assert not np.allclose(a, b, atol=1e-4)


# -- prefix cache ---------------------------------------------------------------------------
def test_text_after_the_same_image_reuses_the_cache_a_different_image_does_not(
        engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    engine._clear_cache()
    turn1 = [Message("user", QUESTION, images=[str(pics["a"])])]
    text, _ = answer(engine, turn1)
    turn2 = [*turn1, Message("assistant", text), Message("user", "Describe it in one word.")]
    _, last = answer(engine, turn2)
    tokens = engine.prompt_tokens(turn2)
    image_end = max(i for i, t in enumerate(tokens) if t < 0) + 1
    assert last.usage.cached_tokens > image_end  # past the image: not read again
    # the same text with another image: the cache holds up to the image, not into it
    other = [Message("user", QUESTION, images=[str(pics["b"])])]
    _, last = answer(engine, other)
    first_image_token = next(i for i, t in enumerate(engine.prompt_tokens(other)) if t < 0)
    assert last.usage.cached_tokens == first_image_token


def test_images_beside_other_answers_in_one_batch(gemma_path: Path, pics: dict[str, Path]) -> None:
    """Two slots: an image prompt prefilled while another answer decodes gives the answer it gives alone."""
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), vision_options(parallel=2))
    try:
        seen = [Message("user", QUESTION, images=[str(pics["b"])])]
        alone, _ = answer(e, seen)
        e._clear_cache()
        loop = e.loop
        assert loop is not None
        other = e.start_answer(1, [Message("user", "Count to ten.")], GenParams(max_tokens=12, temperature=0.0),
                               threading.Event())
        loop.step()  # the other answer's prompt, then it decodes
        mine = e.start_answer(2, seen, GREEDY, threading.Event())
        while not (mine.over and other.over):
            loop.step()
        text = "".join(c.text for c in mine.take())
        assert mine.error is None and text == alone
    finally:
        e.unload()


# -- what the user attaches -------------------------------------------------------------------
def bad(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def expect_image_error(engine: LlamaCppEngine, path: Path, *words: str) -> None:
    with pytest.raises(ImageError) as err:
        answer(engine, [Message("user", QUESTION, images=[str(path)])])
    msg = str(err.value)
    assert path.name in msg and err.value.hint, msg
    for w in words:
        assert w in msg, msg


def test_bad_images_say_what_is_wrong(engine: LlamaCppEngine, tmp_path: Path) -> None:
    good = imgs.png_bytes(imgs.noise(3))
    expect_image_error(engine, bad(tmp_path, "notes.png", b"just some text, not an image\n" * 10), "not an image")
    expect_image_error(engine, bad(tmp_path, "cut.png", good[: len(good) // 2]), "damaged or incomplete PNG")
    expect_image_error(engine, bad(tmp_path, "photo.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64), "HEIC", "not support")
    expect_image_error(engine, bad(tmp_path, "pic.webp", b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 64), "WebP")
    # a damaged body inside a well-formed file: the decoder's refusal, said as such
    at = good.index(b"IDAT")
    (n,) = struct.unpack(">I", good[at - 4:at])
    garbled = good[:at + 4] + bytes(n) + good[at + 4 + n:]  # whole chunks, zeros for picture data
    expect_image_error(engine, bad(tmp_path, "garbled.png", garbled), "could not be decoded")
    expect_image_error(engine, imgs.png_header_claiming(tmp_path / "bomb.png", 20000, 20000), "20,000 x 20,000")
    huge = tmp_path / "huge.png"
    huge.write_bytes(good)
    os.truncate(huge, 200 * 1024 * 1024)  # sparse: 200 MB by its size, nothing written
    expect_image_error(engine, huge, "200 MB")
    assert answer(engine, [Message("user", "Hi")])[0]  # the engine goes on


def test_an_animated_gif_is_its_first_frame_and_says_so(engine: LlamaCppEngine, tmp_path: Path) -> None:
    gif = bad(tmp_path, "anim.gif", imgs.gif_bytes(3))
    info = images.probe(gif)
    assert info.format == "gif" and "first frame" in info.note
    assert images.probe(bad(tmp_path, "still.gif", imgs.gif_bytes(1))).note == ""
    for _ in range(2):  # the second time from the engine's kept images: still said
        text, last = answer(engine, [Message("user", QUESTION, images=[str(gif)])])
        assert last.usage.prompt_tokens > 0 and any("first frame" in n for n in engine.vision.notes)  # type: ignore[union-attr]
    engine.count_tokens([Message("user", QUESTION)])
    assert engine.vision.notes == []  # type: ignore[union-attr]  # a prompt without it: nothing to say


def test_a_typed_marker_is_text_not_an_image(engine: LlamaCppEngine) -> None:
    tokens = engine.prompt_tokens([Message("user", f"What does {MEDIA_MARKER} mean?")])
    assert all(t >= 0 for t in tokens)


def test_a_text_only_model_says_it_cannot_see(gemma_engine: LlamaCppEngine, pics: dict[str, Path]) -> None:
    with pytest.raises(ImageError, match="cannot see images"):
        answer(gemma_engine, [Message("user", QUESTION, images=[str(pics["a"])])])
    with pytest.raises(ImageError, match="cannot see images"):
        gemma_engine.count_tokens([Message("user", QUESTION, images=[str(pics["a"])])])


# -- projectors ---------------------------------------------------------------------------------
def test_a_projector_of_another_width_is_refused_by_name(gemma_path: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "mmproj-other-model.gguf"
    write_mmproj(wrong, n_embd=512)
    e = LlamaCppEngine()
    with pytest.raises(ModelFormatError) as err:
        e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=2, mmproj=str(wrong)))
    msg = str(err.value)
    assert "does not match" in msg and wrong.name in msg and "640" in msg and "512" in msg
    assert not e.loaded  # nothing left half-loaded


def test_the_engine_process_reports_bad_projectors_and_reads_images(gemma_path: Path, tmp_path: Path,
                                                                   pics: dict[str, Path]) -> None:
    wrong = tmp_path / "mmproj-other-model.gguf"
    write_mmproj(wrong, n_embd=512)
    junk = tmp_path / "mmproj-junk.gguf"
    junk.write_bytes(mmproj_path().read_bytes()[:5000])  # a download cut short
    for projector, kinds in ((wrong, (ModelFormatError,)), (junk, (ModelFormatError, EngineCrashedError))):
        p = EngineProxy("llama.cpp", use_safe_mode_store=False)
        with pytest.raises(kinds) as err:
            p.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=1, mmproj=str(projector)))
        assert projector.name in str(err.value) or gemma_path.name in str(err.value)
        p.unload()
    p = EngineProxy("llama.cpp", use_safe_mode_store=False)
    p.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=1, mmproj=str(mmproj_path())))
    try:
        seen = [Message("user", QUESTION, images=[str(pics["a"])])]
        text, last = answer(p, seen)
        assert text.strip() and last.usage.prompt_tokens == p.count_tokens(seen)
        with pytest.raises(ImageError, match="damaged or incomplete|truncated"):
            cut = tmp_path / "cut.png"
            cut.write_bytes(pics["a"].read_bytes()[:100])
            answer(p, [Message("user", QUESTION, images=[str(cut)])])
        assert p.alive and answer(p, seen)[0] == text
    finally:
        p.unload()


def test_headers_give_the_size_without_decoding(tmp_path: Path) -> None:
    from PIL import Image

    pixels = imgs.noise(4, w=300, h=200)
    for fmt, ext, kw in (("JPEG", "jpg", {}), ("JPEG", "jpg", {"progressive": True}), ("BMP", "bmp", {}), ("PNG", "png", {})):
        path = tmp_path / f"x{len(kw)}.{ext}"
        Image.fromarray(pixels).save(path, fmt, **kw)
        info = images.probe(path)
        assert (info.width, info.height, info.note) == (300, 200, ""), (fmt, kw)
    data = (tmp_path / "x0.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageError, match="damaged or incomplete|truncated"):
        images.probe(tmp_path / "cut.jpg")
    with pytest.raises(ImageError, match="cannot be opened"):
        images.probe(tmp_path / "missing.png")


def test_an_undecodable_image_never_reaches_ffmpeg(engine: LlamaCppEngine, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """libmtmd's helper hands what stb_image cannot decode to ffmpeg (as a video) when one
    is on PATH: a hostile file must not reach another program."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ran = tmp_path / "ran"
    for name in ("ffmpeg", "ffprobe"):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\necho {name} >> {ran}\nexit 1\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    good = imgs.png_bytes(imgs.noise(5))
    # the chunks are whole (the header check passes); the picture data inside is zeros
    at = good.index(b"IDAT")
    (n,) = struct.unpack(">I", good[at - 4:at])
    garbled = bad(tmp_path, "garbled.png", good[:at + 4] + bytes(n) + good[at + 4 + n:])
    expect_image_error(engine, garbled, "could not be decoded")
    assert not ran.exists()
