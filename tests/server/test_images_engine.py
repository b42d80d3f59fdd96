"""Images end to end through the real API server and the real llama.cpp engine (its own
process, libmtmd): the test GGUF in a folder with the tiny random projector beside it
(tests/support/tiny_mmproj.py), which the engine factory loads with the model because
core/vision.py finds it. The image's tokens are in the prompt count, different images
give different answers' logits, and the request's image files are gone afterwards."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from support.api_server import running

from assistant.library.installed import model_ref_for_path
from assistant.server.runner import ApiServer
from assistant.settings import ServerSettings, Settings
from tests.support import image_files as imgs
from tests.support.tiny_mmproj import N_IMAGE_TOKENS, mmproj_path

TOKEN = "vision-token-" + "z3" * 12
MODEL = "seer-270m"


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:

    folder = tmp_path_factory.mktemp("seer")
    (folder / f"{MODEL}.gguf").symlink_to(gemma_path)
    (folder / "mmproj-seer-270m.gguf").symlink_to(mmproj_path())
    settings = Settings(context_length=1024, n_threads=2, n_gpu_layers=0, server=ServerSettings(parallel=1, queue=4))
    with running(model_ref_for_path(folder / f"{MODEL}.gguf"), settings, tmp_path_factory.mktemp("models"), TOKEN) as srv:
        yield srv


def png_url(seed: int, tmp: Path) -> str:
    data = imgs.write_png(tmp / f"{seed}.png", imgs.noise(seed)).read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


def ask(srv: ApiServer, content: Any, **kw: Any) -> Any:
    c = openai.OpenAI(base_url=srv.url, api_key=TOKEN, max_retries=0, timeout=300)
    return c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": content}], max_tokens=1,
                                     temperature=0.0, logprobs=True, top_logprobs=5, **kw)


def test_an_image_reaches_the_model_through_its_projector(server: ApiServer, tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("assistant-images-*"))
    text = ask(server, "What is in this picture?")
    one = ask(server, [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": png_url(1, tmp_path)}}])
    other = ask(server, [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": png_url(2, tmp_path)}}])
    # the image's tokens (and the markers around them) are in the prompt
    assert one.usage.prompt_tokens >= text.usage.prompt_tokens + N_IMAGE_TOKENS
    assert one.usage.prompt_tokens == other.usage.prompt_tokens

    def top(r: Any) -> list[tuple[str, float]]:
        return [(t.token, round(t.logprob, 4)) for t in r.choices[0].logprobs.content[0].top_logprobs]

    assert top(one) != top(other)  # the model saw the pixels
    assert set(Path(tempfile.gettempdir()).glob("assistant-images-*")) - before == set()  # the request's images went


def test_anthropic_image_block_on_the_real_engine(server: ApiServer, tmp_path: Path) -> None:
    data = imgs.write_png(tmp_path / "a.png", imgs.noise(3)).read_bytes()
    c = anthropic.Anthropic(base_url=server.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0, timeout=300)
    r = c.messages.create(model=MODEL, max_tokens=2, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(data).decode()}},
        {"type": "text", "text": "Describe it."}]}])
    assert r.usage.input_tokens >= N_IMAGE_TOKENS and r.stop_reason in ("end_turn", "max_tokens")


def test_a_20000_pixel_picture_is_scaled_down_and_seen(server: ApiServer, tmp_path: Path) -> None:
    # 400 megapixels in an 11 MB PNG: kept as a 4,096-pixel copy (core/image_shrink.py), then
    # read by the projector like any other picture: as many image tokens as a small one
    before = set(Path(tempfile.gettempdir()).glob("assistant-images-*"))
    poster = tmp_path / "poster.png"
    imgs.write_poster(poster)
    url = "data:image/png;base64," + base64.b64encode(poster.read_bytes()).decode()
    big = ask(server, [{"type": "text", "text": "What is in this picture?"}, {"type": "image_url", "image_url": {"url": url}}])
    small = ask(server, [{"type": "text", "text": "What is in this picture?"},
                         {"type": "image_url", "image_url": {"url": png_url(1, tmp_path)}}])
    assert big.usage.prompt_tokens == small.usage.prompt_tokens
    assert set(Path(tempfile.gettempdir()).glob("assistant-images-*")) - before == set()
