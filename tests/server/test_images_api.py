"""Images through the real API server with the official SDKs: OpenAI image_url parts and
Anthropic image blocks reach the engine as Message.images (files that exist while it
answers and are gone after), a model without a projector gets a 400 that names the
problem, bad images a 400 that says what is wrong; http(s) image URLs are fetched
through the network record's client while online and refused offline.

The test GGUF has no projector (its own folder: the 400 for real). The vision model is
the same GGUF in a folder with an mmproj file beside it; its engine is a recorder (the
libmtmd path is the llama.cpp engine's, tested there), so what is checked here ends at
the engine boundary."""

from __future__ import annotations

import base64
import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from PIL import Image
from starlette.testclient import TestClient
from support.api_server import running
from support.image_files import png_bytes_claiming

from assistant import network
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Usage
from assistant.core.vision import has_vision, projector_for, vision_models
from assistant.library.installed import model_ref_for_path
from assistant.server.app import build_app
from assistant.server.runner import ApiServer
from assistant.settings import ServerSettings, Settings

TOKEN = "images-token-" + "k4" * 12
TEXT_ONLY = "gemma-3-270m-q4_k_m"


def png(color: tuple[int, int, int] = (200, 10, 10), size: tuple[int, int] = (12, 8)) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", size, color).save(b, "PNG")
    return b.getvalue()


RED, BLUE = png(), png((0, 0, 255), (5, 9))


class Seer:
    """The vision model's engine: records each request's messages and reads their images
    while it answers (they must exist then)."""

    name, backend, context_length = "seer", "CPU", 4096

    def __init__(self) -> None:
        self.calls: list[list[Message]] = []
        self.seen: list[list[bytes]] = []

    def load(self, model: ModelRef, options: LoadOptions) -> None:
        pass

    def count_tokens(self, messages: list[Message]) -> int:
        return 7 + 100 * sum(len(m.images) for m in messages)

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self.calls.append(messages)
        self.seen.append([Path(p).read_bytes() for m in messages for p in m.images])
        yield Chunk(text="A red square.")
        yield Chunk(done=True, finish_reason="stop", usage=Usage(9, 4))

    def unload(self) -> None:
        pass


@pytest.fixture(scope="module")
def vision_model(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vision")
    model = folder / "seer-1b-q4_k_m.gguf"
    model.symlink_to(gemma_path)
    (folder / "mmproj-seer-1b-f16.gguf").write_bytes(b"GGUF projector stand-in")
    return model


@pytest.fixture(scope="module")
def seer() -> Seer:
    return Seer()


@pytest.fixture(scope="module")
def server(gemma_path: Path, vision_model: Path, seer: Seer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:

    settings = Settings(context_length=2048, n_threads=2, extra_models=[str(vision_model)],
                        server=ServerSettings(parallel=2, queue=4))
    with running(model_ref_for_path(gemma_path), settings, tmp_path_factory.mktemp("models"), TOKEN,
                 prepare=lambda model, s: (seer, LoadOptions(), None)) as srv:
        yield srv


def oai(srv: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url, api_key=TOKEN, max_retries=0, timeout=60)


def ant(srv: ApiServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=srv.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0, timeout=60)


def data_url(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def b64_block(data: bytes) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(data).decode()}}


# -- the vision decision ------------------------------------------------------------------------------
def test_a_projector_beside_the_gguf_is_what_makes_a_model_see(gemma_path: Path, vision_model: Path) -> None:
    assert projector_for(model_ref_for_path(vision_model)) == vision_model.parent / "mmproj-seer-1b-f16.gguf"
    assert not has_vision(model_ref_for_path(gemma_path))
    assert vision_models([model_ref_for_path(gemma_path), model_ref_for_path(vision_model)]) == [model_ref_for_path(vision_model)]
    other = vision_model.parent / "mmproj-other-7b-f16.gguf"  # several: the one named like the model
    other.write_bytes(b"x")
    try:
        assert projector_for(model_ref_for_path(vision_model)).name == "mmproj-seer-1b-f16.gguf"  # type: ignore[union-attr]
    finally:
        other.unlink()


# -- OpenAI ----------------------------------------------------------------------------------------------
def test_openai_image_url_parts_reach_the_engine_as_files_gone_after(server: ApiServer, seer: Seer) -> None:
    r = oai(server).chat.completions.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
        {"role": "system", "content": "Describe images."},
        {"role": "user", "content": [{"type": "text", "text": "What is "}, {"type": "image_url", "image_url": {"url": data_url(RED)}},
                                     {"type": "text", "text": "and this?"},
                                     {"type": "image_url", "image_url": {"url": data_url(BLUE), "detail": "low"}}]},
    ])
    assert r.choices[0].message.content == "A red square."
    messages = seer.calls[-1]
    assert [(m.role, m.content, len(m.images)) for m in messages] == [("system", "Describe images.", 0),
                                                                      ("user", "What is and this?", 2)]
    assert seer.seen[-1] == [RED, BLUE]  # the original bytes, in order, there while it answered
    assert not any(Path(p).exists() for p in messages[1].images)  # and gone with the request
    assert all(p.endswith(".png") for p in messages[1].images)


def test_openai_streamed_with_images(server: ApiServer, seer: Seer) -> None:
    text = "".join(e.choices[0].delta.content or "" for e in oai(server).chat.completions.create(
        model="seer-1b-q4_k_m", max_tokens=8, stream=True,
        messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": data_url(BLUE)}}]}]) if e.choices)
    assert text == "A red square." and seer.seen[-1] == [BLUE] and seer.calls[-1][-1].content == ""


def test_a_model_without_a_projector_gets_a_400_that_names_the_problem(server: ApiServer, seer: Seer) -> None:
    before = len(seer.calls)
    with pytest.raises(openai.BadRequestError) as got:
        oai(server).chat.completions.create(model=TEXT_ONLY, max_tokens=8, messages=[
            {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": data_url(RED)}}]}])
    assert "“gemma-3-270m-q4_k_m” cannot see images: it has no projector (mmproj)" in got.value.message
    with pytest.raises(anthropic.BadRequestError) as got2:
        ant(server).messages.create(model=TEXT_ONLY, max_tokens=8, messages=[{"role": "user", "content": [b64_block(RED)]}])
    assert "cannot see images: it has no projector (mmproj)" in got2.value.message
    assert len(seer.calls) == before


@pytest.mark.parametrize(("url", "says"), [
    (data_url(RED[: len(RED) // 2]), "messages[0].content[0] is a damaged or incomplete PNG file"),
    ("data:image/png;base64,not*base64", "the image data is not valid base64"),
    ("data:image/png,rawbytes", "a data: URL must be base64"),
    (data_url(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 40, "image/heic"), "not supported: HEIC; convert it to JPEG or PNG"),
    (data_url(b"plain text, not a picture"), "is not an image this app reads"),
    ("ftp://example.com/cat.png", "only data:, http: and https: image URLs are understood"),
    (data_url(png_bytes_claiming(20_000, 20_000)), "(20,000 × 20,000 pixels) could not be read to scale it down"),
])
def test_bad_images_are_a_400_that_says_what_is_wrong(server: ApiServer, url: str, says: str) -> None:
    with pytest.raises(openai.BadRequestError) as got:
        oai(server).chat.completions.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}])
    assert says in got.value.message


def test_an_image_outside_a_user_message_is_a_400(server: ApiServer) -> None:
    with pytest.raises(openai.BadRequestError, match="images are understood in user messages only"):
        oai(server).chat.completions.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": data_url(RED)}}]},  # type: ignore[list-item]
            {"role": "user", "content": "hi"}])


# -- Anthropic -------------------------------------------------------------------------------------------
def test_anthropic_base64_image_blocks_reach_the_engine(server: ApiServer, seer: Seer) -> None:
    r = ant(server).messages.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
        {"role": "user", "content": [b64_block(BLUE), {"type": "text", "text": "Colour?"}]},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": [b64_block(RED), {"type": "text", "text": "And now?"}]}])
    assert r.content[0].text == "A red square."  # type: ignore[union-attr]
    assert [(m.role, m.content, len(m.images)) for m in seer.calls[-1]] == [
        ("user", "Colour?", 1), ("assistant", "Blue.", 0), ("user", "And now?", 1)]
    assert seer.seen[-1] == [BLUE, RED]
    n = ant(server).messages.count_tokens(model="seer-1b-q4_k_m", messages=[{"role": "user", "content": [b64_block(RED)]}])
    assert n.input_tokens == 107  # the engine counted with the image


def test_anthropic_bad_source_is_a_400(server: ApiServer) -> None:
    with pytest.raises(anthropic.BadRequestError, match="source must be"):
        ant(server).messages.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
            {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f_1"}}]}])  # type: ignore[list-item,typeddict-item]


# -- image URLs: online fetched and recorded, offline refused ----------------------------------------------
@pytest.fixture
def picture_site() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path != "/red.png":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(RED)))
            self.end_headers()
            self.wfile.write(RED)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_http_image_url_is_fetched_through_the_record(server: ApiServer, seer: Seer, picture_site: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    network.clear()
    oai(server).chat.completions.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"{picture_site}/red.png"}}]}])
    assert seer.seen[-1] == [RED]
    fetched = [e for e in network.entries() if e.purpose == "API server: image download"]
    assert [(e.method, e.path, e.status) for e in fetched] == [("GET", "/red.png", 200)]
    with pytest.raises(anthropic.BadRequestError, match="gave HTTP 404"):
        ant(server).messages.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
            {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": f"{picture_site}/gone.png"}}]}])
    monkeypatch.setattr("assistant.server.images.MAX_IMAGE_BYTES", len(RED) - 1)  # the download stops at the cap
    with pytest.raises(openai.BadRequestError, match=r"The image at 127\.0\.0\.1 is larger than 0 MB, the most an image may be"):
        oai(server).chat.completions.create(model="seer-1b-q4_k_m", max_tokens=8, messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"{picture_site}/red.png"}}]}])


def test_offline_an_image_url_is_refused_and_nothing_is_fetched(vision_model: Path, picture_site: str) -> None:
    # in-process (no socket: offline the SDK could not reach the server either)
    from assistant.engines.shared import SharedEngines
    from assistant.server.models import ModelHost

    seer = Seer()
    host = ModelHost(Settings(extra_models=[str(vision_model)]), vision_model.parent / "none",
                     engines=SharedEngines(prepare=lambda model, s: (seer, LoadOptions(), None), idle_unload_s=None))
    client = TestClient(build_app(host, TOKEN))
    network.clear()
    network.set_offline(True)
    try:
        r = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {TOKEN}"}, json={
            "model": "seer-1b-q4_k_m", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": f"{picture_site}/red.png"}}]}]})
    finally:
        network.set_offline(False)
        host.close(5)
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("Offline mode is on: the image at 127.0.0.1 was not fetched.")
    assert seer.calls == [] and not [e for e in network.entries() if e.purpose == "API server: image download"]


def test_models_say_which_can_see(server: ApiServer) -> None:
    listed = {m.id: m.model_extra for m in oai(server).models.list()}
    assert listed["seer-1b-q4_k_m"]["capabilities"] == ["completion", "tools", "vision"]  # type: ignore[index]
    assert listed[TEXT_ONLY]["capabilities"] == ["completion", "tools"]  # type: ignore[index]
