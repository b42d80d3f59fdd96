"""M-RoPE vision on the MLX engine, for real: mlx-vlm on the CPU with a tiny random Qwen2-VL
(mlx_vlm_tiny.build_tiny_qwen2_vl), whose image tokens take fewer positions than tokens
(3-D positions; the text after an image is `rope_deltas` behind its token count).

What each test compares is the first answer token's log-probabilities as mlx-vlm's
generate_step yields them (a spy around it records them): a turn that reuses the cache must
give the same numbers as a fresh engine given the whole conversation.

Skipped where mlx-vlm is not installed; an install that cannot be imported fails."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("mlx_lm", reason="mlx-lm is not installed")
if importlib.util.find_spec("mlx_vlm") is None:
    pytest.skip("mlx-vlm is not installed (pip install mlx-vlm): MLX vision is not tested", allow_module_level=True)
# the module (the package's `generate` attribute is the function); installed but broken: fail, never skip
vlm_generate = importlib.import_module("mlx_vlm.generate")

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.mlx import MlxEngine  # noqa: E402
from tests.support import image_files as imgs  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from mlx_vlm_tiny import QWEN_IMAGE_TOKENS, build_tiny_qwen2_vl  # noqa: E402

# no repeat penalty: the log-probabilities are the model's own
PLAIN = GenParams(max_tokens=4, temperature=0.0, repeat_penalty=1.0, seed=0)
QUESTION = "What is in this picture?"


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("mlxqwen") / "tiny-qwen2-vl")


@pytest.fixture(scope="module")
def pics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pics")
    return {"a": imgs.write_png(d / "a.png", imgs.noise(1)), "b": imgs.write_png(d / "b.png", imgs.noise(2))}


@pytest.fixture
def firsts(monkeypatch: pytest.MonkeyPatch) -> list[np.ndarray]:
    """The first log-probabilities of each generate_step run, in order."""
    seen: list[np.ndarray] = []
    real = vlm_generate.generate_step

    def spy(*args: Any, **kwargs: Any) -> Any:
        first = True
        for token, logprobs in real(*args, **kwargs):
            if first:
                seen.append(np.array(logprobs).ravel())
                first = False
            yield token, logprobs

    monkeypatch.setattr(vlm_generate, "generate_step", spy)
    return seen


def new_engine(path: Path) -> MlxEngine:
    engine = MlxEngine()
    engine.load(ModelRef(path, "mlx"), LoadOptions(n_ctx=1024))
    return engine


def answer(engine: MlxEngine, messages: list[Message], params: GenParams = PLAIN):  # type: ignore[no-untyped-def]
    chunks = list(engine.stream_chat(messages, params, threading.Event()))
    return "".join(c.text for c in chunks), chunks[-1]


def fresh_equals(path: Path, messages: list[Message], firsts: list[np.ndarray], warm: int):  # type: ignore[no-untyped-def]
    """A fresh engine answers `messages`: its first log-probabilities (the run after firsts[warm])
    equal the warm engine's, firsts[warm]. Its (text, last chunk)."""
    got = answer(new_engine(path), messages)
    assert len(firsts) == warm + 2
    np.testing.assert_allclose(firsts[warm], firsts[warm + 1], atol=1e-5)
    return got


def seen_(*images: Path, text: str = QUESTION) -> list[Message]:
    return [Message("user", text, images=[str(p) for p in images])]


def test_an_image_is_answered_and_counted(tiny_qwen: Path, pics: dict[str, Path], firsts: list[np.ndarray]) -> None:
    engine = new_engine(tiny_qwen)
    vision = engine._vision
    assert vision is not None and vision.placeholder == "<|vision_start|><|image_pad|><|vision_end|>"
    text, last = answer(engine, seen_(pics["a"]))
    assert text and last.done and last.usage is not None
    keys = engine.prompt_tokens(seen_(pics["a"]))
    assert sum(t < 0 for t in keys) == QWEN_IMAGE_TOKENS  # a 48 x 40 picture: a 3 x 2 grid of merged patches
    # <|vision_start|>, the image tokens, <|vision_end|>: the prompt grows by the image's tokens
    assert engine.count_tokens(seen_(pics["a"])) == engine.count_tokens([Message("user", QUESTION)]) + QWEN_IMAGE_TOKENS + 2
    assert last.usage.prompt_tokens == len(keys)
    answer(new_engine(tiny_qwen), seen_(pics["b"]))
    a, b = firsts
    assert not np.allclose(a, b, atol=1e-3)  # the image reaches the answer


def test_a_second_turn_on_the_cache_equals_a_fresh_engine(tiny_qwen: Path, pics: dict[str, Path],
                                                          firsts: list[np.ndarray]) -> None:
    """The M-RoPE check: after the image the positions run `rope_deltas` behind the tokens, and
    the question after the answer must be read at those positions, not at its token count."""
    warm = new_engine(tiny_qwen)
    first, _ = answer(warm, seen_(pics["a"]))
    turn2 = seen_(pics["a"]) + [Message("assistant", first), Message("user", "And the colours?")]
    text, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens >= len(warm.prompt_tokens(seen_(pics["a"])))
    cold_text, cold = fresh_equals(tiny_qwen, turn2, firsts, 1)
    assert cold.usage is not None and cold.usage.cached_tokens == 0
    assert text == cold_text
    # a third turn on the same cache, still at the image's positions
    turn3 = turn2 + [Message("assistant", text), Message("user", "Anything else?")]
    answer(warm, turn3)
    fresh_equals(tiny_qwen, turn3, firsts, 3)


def test_text_after_an_image_turn_equals_a_fresh_engine(tiny_qwen: Path, pics: dict[str, Path],
                                                        firsts: list[np.ndarray]) -> None:
    """An image turn's rope deltas must not leak into a later prompt without that image."""
    warm = new_engine(tiny_qwen)
    answer(warm, seen_(pics["a"]))
    plain = [Message("user", "Tell me about the weather.")]
    text, last = answer(warm, plain)
    assert last.usage is not None and last.usage.cached_tokens > 0  # the system prompt's tokens are reused
    assert fresh_equals(tiny_qwen, plain, firsts, 1)[0] == text
    # the next turn reuses the answer's tokens, written into the cache at the positions decoding gave them
    turn2 = plain + [Message("assistant", text), Message("user", "And tomorrow?")]
    _, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens >= len(warm.prompt_tokens(plain))
    fresh_equals(tiny_qwen, turn2, firsts, 3)


def test_a_new_image_after_an_image_turn_equals_a_fresh_engine(tiny_qwen: Path, pics: dict[str, Path],
                                                               firsts: list[np.ndarray]) -> None:
    warm = new_engine(tiny_qwen)
    first, _ = answer(warm, seen_(pics["a"]))
    turn2 = seen_(pics["a"]) + [Message("assistant", first), Message("user", "And this one?", images=[str(pics["b"])])]
    answer(warm, turn2)
    fresh_equals(tiny_qwen, turn2, firsts, 1)


def test_text_after_two_images_on_the_cache_equals_a_fresh_engine(tiny_qwen: Path, pics: dict[str, Path],
                                                                  firsts: list[np.ndarray]) -> None:
    """Both images' grids place the positions: each advances them by its own grid, not its tokens."""
    warm = new_engine(tiny_qwen)
    first, _ = answer(warm, seen_(pics["a"], pics["b"]))
    turn2 = seen_(pics["a"], pics["b"]) + [Message("assistant", first), Message("user", "Which is brighter?")]
    _, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens > 2 * QWEN_IMAGE_TOKENS
    fresh_equals(tiny_qwen, turn2, firsts, 1)


def test_positions_it_cannot_give_mean_a_prefill_from_the_start(tiny_qwen: Path, pics: dict[str, Path],
                                                                firsts: list[np.ndarray]) -> None:
    """A model that places positions itself, by an index that takes no image grids (another
    mlx-vlm model's): no suffix is fed on its own, the whole prompt is, as mlx-vlm's generate does."""
    warm = new_engine(tiny_qwen)
    assert warm._vision is not None and warm._vision._rope_index is not None  # Qwen2-VL's takes image_grid_thw
    warm._vision._rope_index = None
    first, _ = answer(warm, seen_(pics["a"]))
    turn2 = seen_(pics["a"]) + [Message("assistant", first), Message("user", "And the colours?")]
    _, last = answer(warm, turn2)
    assert last.usage is not None and last.usage.cached_tokens == 0
    fresh_equals(tiny_qwen, turn2, firsts, 1)
