"""Images in API requests: OpenAI `image_url` parts and Anthropic `image` blocks.

Each image is checked (core/image_format.py: format by its bytes, at most 50 MB, not
damaged) and kept for the request in a temporary folder that goes when the answer ends;
the engine gets their paths as `Message.images`. Sources:
- a data: URL (OpenAI) or a base64 source (Anthropic): the bytes are in the request;
- an http(s) URL (both APIs): fetched by the app through the network record's client
  ("API server: image download"), only while the app is online; a 400 says so offline.
  At most MAX_IMAGE_BYTES are read; redirects are followed (up to 5).
A model that cannot see (core/vision.py) gets a 400 naming the problem before any
engine is asked.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from assistant import network
from assistant.chat.images import TempImageStore
from assistant.core.image_format import MAX_IMAGE_BYTES, too_big
from assistant.core.types import Message, ModelRef
from assistant.core.vision import has_vision
from assistant.errors import ImageError
from assistant.server.protocol import BadRequest

FETCH_PURPOSE = "API server: image download"
FETCH_TIMEOUT_S = 30.0


class RequestImages:
    """The images of one request; `close` removes them (the job's end, or a refused request)."""

    def __init__(self) -> None:
        self._store: TempImageStore | None = None

    def add(self, data: bytes, where: str) -> str:
        if self._store is None:
            self._store = TempImageStore()
        return str(self._store.add_bytes(data, where).path)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def openai_part(part: dict[str, Any], where: str, sink: RequestImages) -> str:
    """An `image_url` part's image, kept; its path."""
    spec = part.get("image_url")
    url = spec.get("url") if isinstance(spec, dict) else spec
    if not isinstance(url, str) or not url:
        raise BadRequest(f"{where}.image_url.url must be a data: URL or an http(s) URL.")
    return sink.add(_data_url(url, where) if url.startswith("data:") else fetch(url, where), where)


def anthropic_block(block: dict[str, Any], where: str, sink: RequestImages) -> str:
    """An `image` block's image (base64 or url source), kept; its path."""
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "base64" and isinstance(source, dict):
        return sink.add(_base64(source.get("data"), f"{where}.source.data"), where)
    if kind == "url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        return sink.add(fetch(source["url"], f"{where}.source.url"), where)
    raise BadRequest(f"{where}.source must be {{\"type\": \"base64\", \"media_type\", \"data\"}} or"
                     " {\"type\": \"url\", \"url\"}.", "Files API sources (file_id) are not kept by this server.")


def _data_url(url: str, where: str) -> bytes:
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        raise BadRequest(f"{where}: a data: URL must be base64 (data:image/png;base64,...).")
    return _base64(payload, where)


def _base64(payload: Any, where: str) -> bytes:
    if not isinstance(payload, str) or not payload:
        raise BadRequest(f"{where}: the image data is missing.")
    if len(payload) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
        raise too_big(where, len(payload) * 3 // 4)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: the image data is not valid base64.") from None


def fetch(url: str, where: str) -> bytes:
    """An image from the web, through the recorded client; refused offline. Blocking (a thread)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{where}: only data:, http: and https: image URLs are understood.")
    if network.is_offline():
        raise BadRequest(f"Offline mode is on: the image at {parts.hostname} was not fetched.",
                         "Send the image in the request (a data: URL or a base64 source), or turn off"
                         " Offline mode in the app's Settings.")
    try:
        with network.httpx_client(FETCH_PURPOSE, timeout=FETCH_TIMEOUT_S, follow_redirects=True,
                                  max_redirects=5) as client, client.stream("GET", url) as r:
            if r.status_code != 200:
                raise BadRequest(f"{where}: fetching the image at {parts.hostname} gave HTTP {r.status_code}.",
                                 "Check the URL, or send the image as a data: URL.")
            got = bytearray()
            for piece in r.iter_bytes():
                got += piece
                if len(got) > MAX_IMAGE_BYTES:  # stopped here: the rest is never read
                    raise ImageError(f"The image at {parts.hostname} is larger than {MAX_IMAGE_BYTES / 1e6:.0f} MB,"
                                     " the most an image may be.", "Link a smaller copy, or send a JPEG.")
            return bytes(got)
    except (BadRequest, ImageError):
        raise
    except Exception as exc:
        raise BadRequest(f"{where}: the image at {parts.hostname} could not be fetched"
                         f" ({network.describe_failure(exc)}).", "Check the URL, or send the image as a data: URL.") from None


def require_vision(model: ModelRef, messages: list[Message]) -> None:
    """A 400 when the request has images and the model cannot see them."""
    if any(m.images for m in messages) and not has_vision(model):
        raise BadRequest(f"“{model.display_name}” cannot see images: it has no projector (mmproj) beside its model file.",
                         "Send text only, or ask a vision model (one with an mmproj-*.gguf file in its folder, as the"
                         " catalog's vision models download).")
