"""Images to cloud models and private servers, against the project's test servers that
record the request body: OpenAI-compatible image_url parts (data: URLs), Anthropic base64
image blocks; a whole cloud turn (the real keyring) with the images of the history, and a
chat marked "never send images" that sends its text only; the consent preview that lists
the images, or says they are left out."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from support.anthropic_server import AnthropicServer
from support.openai_server import OpenAIServer

from assistant import keys
from assistant.chat.cloud_route import Consent, key_id
from assistant.chat.dispatch import SendPolicy, run_cloud_turn
from assistant.chat.privacy import OutgoingMessages, preview_text
from assistant.chat.store import ChatStore
from assistant.core.types import GenParams, Message
from assistant.engines.cloud import IMAGE_TOKENS, CloudEngine
from assistant.errors import ImageError
from assistant.settings import CloudSettings, Settings

ANTHROPIC_KEY = "sk-ant-test-" + "y" * 24


def picture(fmt: str, color: tuple[int, int, int]) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", (6, 4), color).save(b, fmt)
    return b.getvalue()


PNG, JPEG = picture("PNG", (255, 0, 0)), picture("JPEG", (0, 0, 255))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    a, b = tmp_path / "a.png", tmp_path / "b.jpg"
    a.write_bytes(PNG)
    b.write_bytes(JPEG)
    return str(a), str(b)


@pytest.fixture(scope="module")
def oai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as s:
        yield s


def drain(engine: CloudEngine, messages: list[Message]) -> str:
    return "".join(c.text for c in engine.stream_chat(messages, GenParams(max_tokens=20), threading.Event()))


def test_openai_compatible_gets_image_url_parts(oai_server: OpenAIServer, files: tuple[str, str]) -> None:
    engine = CloudEngine("openai-compatible", "vision-model", "", base_url=oai_server.base_url)
    drain(engine, [Message("system", "Be brief."), Message("user", "What colours?", images=list(files)),
                   Message("assistant", "Red and blue."), Message("user", "Thanks.")])
    assert oai_server.last_body is not None
    assert oai_server.last_body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "What colours?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
            {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64(JPEG)}"}},
        ]},
        {"role": "assistant", "content": "Red and blue."},
        {"role": "user", "content": "Thanks."},
    ]
    # an image is counted as the providers bill one, not as its path's characters
    assert engine.count_tokens([Message("user", "", images=list(files))]) == 4 + 2 * IMAGE_TOKENS


def test_anthropic_gets_base64_image_blocks_before_the_text(files: tuple[str, str]) -> None:
    with AnthropicServer(ANTHROPIC_KEY) as claude:
        engine = CloudEngine("anthropic", "claude-test", ANTHROPIC_KEY, base_url=claude.base_url)
        drain(engine, [Message("user", "What colour?", images=[files[1]])])
        body: Any = claude.last_body
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": b64(JPEG)}},
        {"type": "text", "text": "What colour?"},
    ]}]


def test_an_image_that_went_missing_fails_the_request_before_it_is_sent(oai_server: OpenAIServer, tmp_path: Path) -> None:
    engine = CloudEngine("openai-compatible", "vision-model", "", base_url=oai_server.base_url)
    n = len(oai_server.requests)
    with pytest.raises(ImageError, match="gone.png cannot be read"):
        drain(engine, [Message("user", "see", images=[str(tmp_path / "gone.png")])])
    assert len(oai_server.requests) == n


# -- a whole cloud turn, from the chat's store ----------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore.open(tmp_path / "data" / "history.sqlite3") as s:
        yield s


def _user_contents(body: dict[str, Any] | None) -> list[Any]:
    assert body is not None
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


def test_a_cloud_turn_sends_the_chats_images_unless_it_is_marked_never(
        oai_server: OpenAIServer, store: ChatStore, secret_service: None) -> None:
    cloud = CloudSettings(provider="openai-compatible", model="vision-model", base_url=oai_server.base_url)
    keys.set_key(key_id(cloud), "local-key")
    conv = store.create_conversation().id
    red = store.images.add_bytes(PNG, "red.png")

    def turn(text: str, *images: Any) -> None:
        r = run_cloud_turn(store, cloud, conv, user_text=text, system_prompt=None, params=GenParams(max_tokens=30),
                           cancel=threading.Event(), user_images=list(images))
        assert r.status == "complete", r.error

    turn("What is this?", red)
    assert _user_contents(oai_server.last_body) == [[
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}}]]
    turn("And again?")  # the history's image goes again with its message
    assert _user_contents(oai_server.last_body)[0][1]["type"] == "image_url"
    store.set_never_images(conv, True)
    turn("Text only now.", store.images.add_bytes(JPEG, "blue.jpg"))
    assert _user_contents(oai_server.last_body) == ["What is this?", "And again?", "Text only now."]
    assert len(store.conversation_images(conv)) == 2  # kept in the chat, only not sent


def test_the_preview_lists_the_images_or_says_they_are_left_out(store: ChatStore) -> None:
    policy = SendPolicy(store, Settings(cloud=CloudSettings(provider="openai", model="gpt-4o", routing_mode="ask")))
    conv = store.create_conversation().id
    old = store.images.add_bytes(PNG, "earlier.png")
    mid = store.add_message(conv, "user", "Before.").id
    store.attach_images(mid, [old])
    store.add_message(conv, "assistant", "Red.")
    new = store.images.add_bytes(JPEG, "holiday.jpg")
    out = policy.outgoing_preview("Now this one.", conv, None, images=[new])
    assert isinstance(out, OutgoingMessages) and [m.images for m in out if m.role == "user"] == [[str(old.path)], [str(new.path)]]
    text = preview_text(out)
    assert "── You ──\nBefore.\n[image: earlier.png (1 kB, 6 × 4)]" in text
    assert "Now this one.\n[image: holiday.jpg (1 kB, 6 × 4)]" in text and "left out" not in text
    policy.apply_consent(conv, Consent(send=True, never_images=True))
    out = policy.outgoing_preview("Now this one.", conv, None, images=[new])
    assert all(not m.images for m in out) and out.images_withheld == 2
    text = preview_text(out)
    assert "[image:" not in text and text.endswith("(2 images left out: this chat is marked “Never send images”.)")
    assert policy.decide("Now this one.", conv, local=None, model_path=None, images=[new]).target == "local"


def test_a_picture_larger_than_the_providers_read_is_sent_scaled(oai_server: OpenAIServer, tmp_path: Path) -> None:
    import numpy as np
    from support.image_files import halves, write_png

    from assistant.engines.cloud_tools import CLOUD_BYTES, CLOUD_SIDE

    poster = tmp_path / "poster.jpg"
    halves(4096).jpegsave(str(poster))  # 4,096 pixels: OpenAI would scale it to 2,048
    heavy = write_png(tmp_path / "heavy.png", np.random.default_rng(3).integers(0, 256, (1500, 1500, 3), dtype=np.uint8))
    assert heavy.stat().st_size > CLOUD_BYTES  # few pixels, too many bytes for Anthropic
    engine = CloudEngine("openai-compatible", "vision-model", "", base_url=oai_server.base_url)
    drain(engine, [Message("user", "What is this?", images=[str(poster), str(heavy)])])
    assert oai_server.last_body is not None
    parts = oai_server.last_body["messages"][0]["content"][1:]
    assert len(parts) == 2
    urls = [p["image_url"]["url"] for p in parts]
    sent = [Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))) for u in urls[:2]]
    assert urls[0].startswith("data:image/jpeg;base64,") and sent[0].size == (CLOUD_SIDE, CLOUD_SIDE)
    assert sent[0].getpixel((100, 1000))[0] > 240 and sent[0].getpixel((2000, 1000))[0] < 15  # the same picture
    # a PNG of noise over the byte limit: the same pixels count, sent as a JPEG under it
    assert urls[1].startswith("data:image/jpeg;base64,") and sent[1].size == (1500, 1500)
    assert len(base64.b64decode(urls[1].split(",", 1)[1])) <= CLOUD_BYTES
