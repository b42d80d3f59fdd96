"""Vision on the MLX engine, for real: mlx-vlm on the CPU (`mlx[cpu]` on Linux) with a
tiny random Gemma 3 vision model (mlx_vlm_tiny.py), images written as files.

Skipped where mlx-vlm is not installed; an install that cannot be imported fails."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mlx_lm", reason="mlx-lm is not installed")
if importlib.util.find_spec("mlx_vlm") is None:
    pytest.skip("mlx-vlm is not installed (pip install mlx-vlm): MLX vision is not tested", allow_module_level=True)
import mlx.core as mx  # noqa: E402
import mlx_vlm  # noqa: E402,F401  (installed but broken, e.g. a dependency missing: fail, never skip)

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines import mlx_vision  # noqa: E402
from assistant.engines.mlx import MlxEngine  # noqa: E402
from assistant.errors import EngineError, ImageError, ModelFormatError, PromptTooLongError  # noqa: E402
from tests.support import image_files as imgs  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from mlx_tiny import build_tiny_model  # noqa: E402
from mlx_vlm_tiny import N_IMAGE_TOKENS, build_tiny_vlm  # noqa: E402

GREEDY = GenParams(max_tokens=8, temperature=0.0, repeat_penalty=1.1, seed=0)
QUESTION = "What is in this picture?"


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("mlxvlm") / "tiny-gemma3-vision")


def new_engine(path: Path, **options) -> MlxEngine:  # type: ignore[no-untyped-def]
    engine = MlxEngine()
    engine.load(ModelRef(path, "mlx"), LoadOptions(**{"n_ctx": 1024, **options}))
    return engine


@pytest.fixture(scope="module")
def engine(tiny_vlm: Path):  # type: ignore[no-untyped-def]
    e = new_engine(tiny_vlm)
    yield e
    e.unload()


@pytest.fixture(scope="module")
def pics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pics")
    return {"a": imgs.write_png(d / "a.png", imgs.noise(1)), "b": imgs.write_png(d / "b.png", imgs.noise(2)),
            "a_copy": imgs.write_png(d / "a_copy.png", imgs.noise(1))}


def answer(engine: MlxEngine, messages: list[Message], params: GenParams = GREEDY):  # type: ignore[no-untyped-def]
    chunks = list(engine.stream_chat(messages, params, threading.Event()))
    return "".join(c.text for c in chunks), chunks[-1]


def seen(*images: Path, text: str = QUESTION) -> list[Message]:
    return [Message("user", text, images=[str(p) for p in images])]


# -- the path end to end ------------------------------------------------------------------
def test_a_vision_folder_loads_with_mlx_vlm(engine: MlxEngine) -> None:
    assert engine._vision is not None
    assert engine._vision.placeholder == "<start_of_image>"  # found from mlx-vlm's own prompt builder


def test_an_image_is_read_and_answered(engine: MlxEngine, pics: dict[str, Path]) -> None:
    messages = seen(pics["a"])
    text, last = answer(engine, messages)
    assert text and last.done and last.finish_reason in ("stop", "length")
    keys = engine.prompt_tokens(messages)
    assert sum(t < 0 for t in keys) == N_IMAGE_TOKENS  # one stand-in per image token
    assert last.usage is not None and last.usage.prompt_tokens == engine.count_tokens(messages) == len(keys)
    assert last.usage.completion_tokens == GREEDY.max_tokens
    assert engine._cache_offset() == len(engine._cache_tokens) == len(keys) + GREEDY.max_tokens


def test_the_prompt_grows_by_the_images_tokens(engine: MlxEngine, pics: dict[str, Path]) -> None:
    from PIL import Image

    vision = engine._vision
    assert vision is not None
    # the processor's own expansion of one image: <start_of_image>, N image tokens, <end_of_image>, newlines
    with Image.open(pics["a"]) as img:
        out = vision.processor(text=["<start_of_image>"], images=[img.convert("RGB")], add_special_tokens=False)
    ids = np.array(out["input_ids"]).ravel().tolist()
    assert ids.count(vision.image_token_id) == N_IMAGE_TOKENS
    plain = [Message("user", QUESTION)]
    assert engine.count_tokens(seen(pics["a"])) == engine.count_tokens(plain) + len(ids)
    assert engine.count_tokens(seen(pics["a"], pics["b"])) == engine.count_tokens(plain) + 2 * len(ids)
    enc = engine._encode(engine.build_prompt(seen(pics["a"], pics["b"])), seen(pics["a"], pics["b"]))
    assert enc.ids.count(vision.image_token_id) == 2 * N_IMAGE_TOKENS and len(enc.images) == 2


def last_logits(engine: MlxEngine, image: Path) -> np.ndarray:
    """The model's logits after the prompt, from the engine's ids and the image's pixels."""
    messages = seen(image)
    enc = engine._encode(engine.build_prompt(messages), messages)
    (_, img), = enc.images
    ids = mx.array([enc.ids])
    out = engine._model(ids, img.arrays["pixel_values"], mask=mx.ones(ids.shape, dtype=mx.int32))
    logits = out.logits if hasattr(out, "logits") else out
    return np.array(logits[0, -1].astype(mx.float32))


def test_different_images_change_the_logits(engine: MlxEngine, pics: dict[str, Path]) -> None:
    a, b, a2 = (last_logits(engine, pics[k]) for k in ("a", "b", "a_copy"))
    assert np.array_equal(a, a2)  # the same pixels in another file: the same logits
    assert not np.allclose(a, b, atol=1e-4)
    # and so the answers: another image, another answer; the same pixels, the same answer
    fresh = {k: answer(new_engine(engine._path), seen(pics[k]))[0] for k in ("a", "b", "a_copy")}  # type: ignore[arg-type]
    assert fresh["a"] == fresh["a_copy"] != fresh["b"]


def test_same_pixels_in_another_file_have_the_same_keys(engine: MlxEngine, pics: dict[str, Path]) -> None:
    assert engine.prompt_tokens(seen(pics["a"])) == engine.prompt_tokens(seen(pics["a_copy"]))
    assert engine.prompt_tokens(seen(pics["a"])) != engine.prompt_tokens(seen(pics["b"]))


# -- the cache across turns ---------------------------------------------------------------
def test_text_after_the_same_image_reuses_the_cache(tiny_vlm: Path, pics: dict[str, Path]) -> None:
    warm = new_engine(tiny_vlm)
    first, _ = answer(warm, seen(pics["a"]))
    turn2 = seen(pics["a"]) + [Message("assistant", first), Message("user", "And the colours?")]
    text, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens >= len(warm.prompt_tokens(seen(pics["a"]))) - 2
    cold_text, cold = answer(new_engine(tiny_vlm), turn2)
    assert text == cold_text and cold.usage is not None and cold.usage.cached_tokens == 0


def test_a_new_image_in_a_later_turn_prefills_from_the_start(tiny_vlm: Path, pics: dict[str, Path]) -> None:
    warm = new_engine(tiny_vlm)
    first, _ = answer(warm, seen(pics["a"]))
    turn2 = seen(pics["a"]) + [Message("assistant", first), Message("user", "And this one?", images=[str(pics["b"])])]
    text, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens == 0  # its features go in with the whole prompt
    assert text == answer(new_engine(tiny_vlm), turn2)[0]
    # the same question about the other image: the cache stops at the image
    other = seen(pics["b"])
    _, last = answer(warm, other)
    assert last.usage is not None and last.usage.cached_tokens == 0


def test_a_stop_string_ends_the_answer_after_an_image(engine: MlxEngine, pics: dict[str, Path]) -> None:
    text, _ = answer(engine, seen(pics["a"]))
    stop = text[3:5]
    cut, last = answer(engine, seen(pics["a"]), GenParams(max_tokens=8, temperature=0.0, repeat_penalty=1.1, stop=[stop]))
    assert last.finish_reason == "stop" and cut == text[: text.index(stop)]


def test_cancel_before_start_with_an_image(engine: MlxEngine, pics: dict[str, Path]) -> None:
    cancel = threading.Event()
    cancel.set()
    chunks = list(engine.stream_chat(seen(pics["a"]), GREEDY, cancel))
    assert len(chunks) == 1 and chunks[0].finish_reason == "cancelled"


def test_images_count_in_the_context_budget(tiny_vlm: Path, pics: dict[str, Path]) -> None:
    small = new_engine(tiny_vlm, n_ctx=len(new_engine(tiny_vlm).prompt_tokens(seen(pics["a"]))) + 1)
    answer(small, seen(pics["a"]), GenParams(max_tokens=1, temperature=0.0))
    with pytest.raises(PromptTooLongError):
        answer(small, seen(pics["a"], pics["b"]))


# -- bad input ------------------------------------------------------------------------------
def test_a_corrupt_image_is_a_clear_error(engine: MlxEngine, tmp_path: Path) -> None:
    good = imgs.png_bytes(imgs.noise(3))
    # header and end marker intact (so the probe passes), pixel data garbage: the decoder refuses it
    start = good.index(b"IDAT") + 4
    bad = good[:start] + bytes(b ^ 0x5A for b in good[start:start + 40]) + good[start + 40:]
    (tmp_path / "bad.png").write_bytes(bad)
    with pytest.raises(ImageError, match="bad.png"):
        answer(engine, seen(tmp_path / "bad.png"))
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ImageError, match="cut.png"):
        answer(engine, seen(tmp_path / "cut.png"))
    with pytest.raises(ImageError, match="missing.png"):
        answer(engine, seen(tmp_path / "missing.png"))


def test_the_first_frame_of_an_animation_is_used_and_said(engine: MlxEngine, tmp_path: Path) -> None:
    gif = tmp_path / "anim.gif"
    gif.write_bytes(imgs.gif_bytes(3))
    text, last = answer(engine, seen(gif))
    assert last.done and engine._vision is not None and engine._vision.notes and "first" in engine._vision.notes[0]


def test_a_text_model_still_refuses_images(tmp_path: Path, pics: dict[str, Path]) -> None:
    text_only = new_engine(build_tiny_model(tmp_path / "tiny-llama"))
    assert text_only._vision is None
    with pytest.raises(ImageError, match="cannot see images"):
        answer(text_only, seen(pics["a"]))


def test_without_mlx_vlm_a_vision_folder_is_text_only(tiny_vlm: Path, pics: dict[str, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlx_vision, "available", lambda: False)  # as on a Mac without mlx-vlm installed
    e = new_engine(tiny_vlm)
    assert e._vision is None
    text, _ = answer(e, [Message("user", QUESTION)])
    assert text
    with pytest.raises(ImageError, match="needs mlx-vlm, which is not installed"):
        answer(e, seen(pics["a"]))


def test_a_vision_folder_without_its_image_processor_is_a_clear_error(tiny_vlm: Path, tmp_path: Path) -> None:
    broken = tmp_path / "no-processor"
    shutil.copytree(tiny_vlm, broken)
    (broken / "preprocessor_config.json").unlink()
    with pytest.raises(ModelFormatError, match="mlx-vlm could not load"):
        new_engine(broken)


def test_a_broken_mlx_vlm_is_an_error_at_load_not_text_only(tiny_vlm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlx_vlm.utils", None)  # installed, but an import inside it fails
    with pytest.raises(EngineError, match="mlx-vlm cannot be imported"):
        new_engine(tiny_vlm)


def test_an_image_through_the_engine_process(engine: MlxEngine, tiny_vlm: Path, pics: dict[str, Path]) -> None:
    """As the app runs it: the engine in its child process, the image as a path in the message."""
    from assistant.engines.host import EngineProxy

    p = EngineProxy("mlx")
    p.load(ModelRef(tiny_vlm, "mlx"), LoadOptions(n_ctx=1024))
    try:
        assert p.pid != os.getpid()
        text, last = answer(p, seen(pics["a"]))  # type: ignore[arg-type]
        assert text == answer(new_engine(tiny_vlm), seen(pics["a"]))[0]
        assert last.usage is not None and last.usage.prompt_tokens == engine.count_tokens(seen(pics["a"]))
        with pytest.raises(ImageError, match="missing.png"):
            answer(p, seen(pics["a"].parent / "missing.png"))  # type: ignore[arg-type]
    finally:
        p.unload()


def test_an_open_think_block_after_an_image_streams_thinking(tiny_vlm: Path, pics: dict[str, Path]) -> None:
    from mlx_vlm_tiny import TEMPLATE

    source = TEMPLATE.read_text()
    thinking_template = source.replace("{{'<start_of_turn>model\n'}}", "{{'<start_of_turn>model\n<think>\n'}}")
    assert thinking_template != source
    e = new_engine(tiny_vlm, chat_template=thinking_template)
    assert e.render_prompt(seen(pics["a"])).endswith("<think>\n")
    chunks = list(e.stream_chat(seen(pics["a"]), GREEDY, threading.Event()))
    assert "".join(c.thinking for c in chunks).strip() and "".join(c.text for c in chunks) == ""
    assert sum(t < 0 for t in e.prompt_tokens(seen(pics["a"]))) == N_IMAGE_TOKENS
