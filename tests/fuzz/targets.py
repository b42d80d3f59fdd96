"""Fuzz targets: each takes bytes from outside the app and checks what must hold for any
of them. An exception other than AssistantError (the app's typed, worded errors) is a
finding, and so is a broken property (an assertion). tests/fuzz/test_fuzz.py runs them
under hypothesis in every test run (bounded, fixed seed); tools/fuzz.py runs them for as
long as you like. Interesting inputs live in tests/fuzz/corpus/<target>/.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.core.gguf_meta import GgufInfo, header_info
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Usage
from assistant.engines import template_env, templates, thinking
from assistant.engines.stops import StopMatcher
from assistant.errors import AssistantError
from assistant.settings import load_settings, save_settings

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
TEMPLATES = HERE.parent / "engines" / "templates"
ALLOWED: tuple[type[BaseException], ...] = (AssistantError,)


# -- the GGUF header reader (core/gguf_meta.py) -------------------------------------------------------
def gguf_header(data: bytes) -> None:
    try:
        info = header_info(data, Path("fuzz.gguf"), len(data))
    except AssistantError:
        return
    assert isinstance(info, GgufInfo) and info.architecture and isinstance(info.architecture, str)
    assert info.n_tensors >= 0 and (info.block_count is None or 0 < info.block_count <= 512)


# -- the chat-template sandbox (engines/templates.py, template_env.py) -----------------------------------
FUZZ_DEADLINE_S = 0.25  # the fuzz run's render limit: a template that loops costs this, not 5 s
_MESSAGES = [Message("system", "Be brief."), Message("user", "Hi <|im_end|> {{ 7*7 }}"),
             Message("assistant", "Hello.", thinking="greet"), Message("user", "Bye")]


def chat_template(data: bytes) -> None:
    source = data.decode("utf-8", "replace")
    saved = template_env.DEADLINE_S
    template_env.DEADLINE_S = FUZZ_DEADLINE_S
    t0 = time.monotonic()
    try:
        out = templates.render(source, _MESSAGES, bos_token="<s>", eos_token="</s>", enable_thinking=False)
        assert isinstance(out, str) and len(out) <= template_env.MAX_CHARS
    except AssistantError:
        pass
    finally:
        template_env.DEADLINE_S = saved
    took = time.monotonic() - t0
    assert took < FUZZ_DEADLINE_S + 2.0, f"a render took {took:.2f} s with a {FUZZ_DEADLINE_S} s limit"


# -- the settings loader (settings.py, settings_schema.py) ----------------------------------------------
_SETTINGS_DIR = Path(tempfile.mkdtemp(prefix="fuzz-settings-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


def settings_file(data: bytes) -> None:
    path = _SETTINGS_DIR / f"settings-{threading.get_ident()}.json"
    path.write_bytes(data)
    loaded = load_settings(path)  # never raises
    again = _SETTINGS_DIR / f"again-{threading.get_ident()}.json"
    save_settings(loaded.settings, again)
    reloaded = load_settings(again)
    assert reloaded.warning == "", reloaded.warning  # what was kept is valid
    assert reloaded.settings == loaded.settings
    for p in (path, path.with_name(path.name + ".bak"), again):
        p.unlink(missing_ok=True)


# -- the API server's request parsing and its SSE (server/) --------------------------------------------
class _EchoEngine:
    """Answers with pieces of the request's own text, markup and all, so that whatever a
    client sends comes back through the server's JSON and SSE encoding."""

    name, backend, context_length = "fuzz", "CPU", 4096

    def load(self, model: ModelRef, options: LoadOptions) -> None:
        pass

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m.content) for m in messages)

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        text = messages[-1].content[:200]
        for i in range(0, len(text), 7):
            yield Chunk(text=text[i:i + 7], thinking=text[i:i + 3] if i % 2 else "")
        yield Chunk(done=True, finish_reason="stop", usage=Usage(3, 2))

    def unload(self) -> None:
        pass


class _Server:
    def __init__(self) -> None:
        from assistant.server.app import build_app
        from assistant.server.models import ModelHost
        from assistant.settings import Settings

        root = Path(tempfile.mkdtemp(prefix="fuzz-server-"))
        self.model = ModelRef(root / "fuzz-model.gguf", "gguf", name="fuzz-model")
        self.host = ModelHost(Settings(), root / "models", pinned=[self.model],
                              prepare=lambda model, settings: (_EchoEngine(), LoadOptions(), None))
        self.app = build_app(self.host, "fuzz-token")
        self.loop = asyncio.new_event_loop()

    def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        return self.loop.run_until_complete(self._call(method, path, body))

    async def _call(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        sent = {"done": False}
        out: dict[str, Any] = {"status": 0, "body": b""}

        async def receive() -> dict[str, Any]:
            if not sent["done"]:
                sent["done"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # the client stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]
            elif message["type"] == "http.response.body":
                out["body"] += message.get("body", b"")

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
                 "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
                 "server": ("127.0.0.1", 8765), "client": ("127.0.0.1", 50000),
                 "headers": [(b"authorization", b"Bearer fuzz-token"), (b"content-type", b"application/json")]}
        await asyncio.wait_for(self.app(scope, receive, send), timeout=30)
        return out["status"], out["body"]


_server: _Server | None = None
_ROUTES = [("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/v1/messages"), ("GET", "/v1/models")]


def api_request(data: bytes) -> None:
    """First byte: the route; the rest: the request body as sent."""
    global _server
    if _server is None:
        _server = _Server()
    method, path = _ROUTES[(data[0] if data else 0) % len(_ROUTES)]
    status, body = _server.request(method, path, data[1:])
    assert status in (200, 400, 404), (status, body[:300])
    if body.startswith(b"data:") or b"\ndata:" in body or body.startswith(b"event:"):
        for line in body.decode("utf-8").splitlines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                if payload != "[DONE]":
                    json.loads(payload)  # every event is JSON
    else:
        doc = json.loads(body)
        if status != 200:
            assert "error" in doc, doc


# -- the thinking splitter and stop strings over a token stream (engines/thinking.py, stops.py) --------
_FORMATS = [None, thinking.THINK, thinking.MISTRAL, thinking.GEMMA4, thinking.HARMONY]


def _pieces(text: str, cuts: bytes) -> list[str]:
    out, pos = [], 0
    for c in cuts:
        step = 1 + c % 9
        out.append(text[pos:pos + step])
        pos += step
        if pos >= len(text):
            break
    out.append(text[pos:])
    return [p for p in out if p]


def _split_run(make: Callable[[], Any], pieces: list[str]) -> tuple[str, str]:
    s = make()
    thinking_parts, answer_parts = [], []
    for p in pieces:
        t, a = s.feed(p)
        thinking_parts.append(t)
        answer_parts.append(a)
    t, a = s.flush()
    return "".join(thinking_parts) + t, "".join(answer_parts) + a


def thinking_stream(data: bytes) -> None:
    """Byte 0: the family and how the stream starts; then where the text is cut into
    tokens; the text itself after a NUL. Cut anywhere, the split is the same."""
    head, _, rest = data.partition(b"\0")
    fmt = _FORMATS[(head[0] if head else 0) % len(_FORMATS)]
    start_thinking = bool(head and head[0] & 0x10)
    start_answer = bool(head and head[0] & 0x20) and not start_thinking
    text = rest.decode("utf-8", "replace")

    def make() -> thinking.ThinkingSplitter:
        return thinking.ThinkingSplitter(fmt, start_thinking=start_thinking, start_answer=start_answer)

    whole = _split_run(make, [text] if text else [])
    cut = _split_run(make, _pieces(text, head[1:]))
    assert cut == whole, (cut, whole)
    assert len(whole[0]) + len(whole[1]) <= len(text)
    # stop strings over the same stream: the text before the first stop string found once
    # a token has arrived (as llama.cpp's server: with overlapping stops, where the tokens
    # end decides which one completes first)
    stops = [s for s in text[:40].split("|")[:3] if s]
    m = StopMatcher(stops)
    emitted, seen, expected = [], "", text
    for piece in _pieces(text, head[1:]):
        emitted.append(m.feed(piece))
        seen += piece
        found = [i for i in (seen.find(s) for s in stops) if i >= 0]
        if found:
            expected = seen[:min(found)]
            break
    assert m.stopped == (expected != text or any(s in text for s in stops))
    got = "".join(emitted) + ("" if m.stopped else m.flush())
    assert got == expected, (got, expected, stops)


# -- the document parsers (documents/parse.py; the app runs them in a child process) -------------------
DOCUMENT_KINDS = (".pdf", ".docx", ".html", ".md", ".txt", ".csv", ".py")


def document_file(data: bytes) -> None:
    """The first byte picks the kind (by file name, as the app does), the rest is the file.
    Whatever the bytes, the parser returns text sections or a DocumentError that names the
    file; never another exception (a parser crash would cost the file its parse process)."""
    from assistant.documents.errors import DocumentError
    from assistant.documents.parse import parse_file

    kind = DOCUMENT_KINDS[data[0] % len(DOCUMENT_KINDS)] if data else ".txt"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzzed{kind}"
        path.write_bytes(data[1:])
        try:
            parsed = parse_file(path)
        except DocumentError as exc:
            assert path.name in exc.message, exc.message  # the message names the file
            return
        for section in parsed.sections:
            assert isinstance(section.text, str)


# -- images (core/image_format.py, read before any decoder; core/images.py, the local engines' check) --------
def image_file(data: bytes) -> None:
    """An attached or API-sent picture: its format and size, or an ImageError; its header
    alone agrees; what the local engines' check lets through is what their decoder reads,
    within its bound."""
    from assistant.core import image_format, images

    try:
        info = image_format.info_of(data, "fuzzed")
    except AssistantError:
        info = None
    if info is not None:
        assert info.format in image_format.MEDIA_TYPES and info.frames >= 1
        assert 0 < info.width <= image_format.MAX_SIDE and 0 < info.height <= image_format.MAX_SIDE
    # the header alone (a file too large to read whole, which is scaled down): a size or an ImageError
    try:
        head = image_format.head_info(data[:1024 * 1024], "fuzzed")
    except AssistantError:
        head = None
    if head is not None:
        assert head.format in image_format.MEDIA_TYPES and head.frames == 1
        assert 0 < head.width <= image_format.MAX_SIDE and 0 < head.height <= image_format.MAX_SIDE
    if info is not None and info.format != "jpeg":  # a JPEG's walk may meet a later frame header
        assert head is not None and (head.format, head.width, head.height) == (info.format, info.width, info.height)
    try:
        seen = images.check(data, Path("fuzzed.img"))
    except AssistantError:
        return
    assert info is not None and seen.format in ("png", "jpeg", "gif", "bmp")
    assert (seen.width, seen.height) == (info.width, info.height) and seen.width * seen.height <= images.MAX_PIXELS


# -- tool calls in a model's answer (tools/formats/: every family's stream splitter) ---------------------
def tool_calls(data: bytes) -> None:
    """Byte 0: the family; then where the text is cut into tokens; the answer after a NUL.
    Cut anywhere, the answer text, the calls and the reason are the same as whole, and the
    answer's characters are never lost (text plus the call section is the input)."""
    from assistant.tools.formats import FORMATS

    head, _, rest = data.partition(b"\0")
    fmt = FORMATS[(head[0] if head else 0) % len(FORMATS)]()
    fmt.template_variables([{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}])
    text = rest.decode("utf-8", "replace")

    def run(pieces: list[str]) -> tuple[str, list[Any], str | None]:
        stream = fmt.stream()
        shown = "".join(stream.feed(p) for p in pieces)
        tail, calls, error = stream.finish()
        return shown + tail, [(c.name, json.loads(c.arguments)) for c in calls], error

    whole = run([text] if text else [])
    assert run(_pieces(text, head[1:])) == whole, whole
    shown, calls, _ = whole
    assert calls or shown == text  # without calls nothing of the answer is dropped


# -- mcp.json, ours or another app's (tools/mcp_config.py) ----------------------------------------------
def mcp_json(data: bytes) -> None:
    """Servers or an McpConfigError; a server that is read has a command or a URL."""
    from assistant.tools.mcp_config import parse_config

    try:
        config = parse_config(data.decode("utf-8", "replace"), "fuzzed.json")
    except AssistantError:
        return
    for name, server in config.servers.items():
        assert isinstance(name, str) and (server.command or server.url)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "gguf_header": gguf_header,
    "chat_template": chat_template,
    "settings_file": settings_file,
    "api_request": api_request,
    "thinking_stream": thinking_stream,
    "document_file": document_file,
    "image_file": image_file,
    "tool_calls": tool_calls,
    "mcp_json": mcp_json,
}


def corpus(name: str) -> list[bytes]:
    """The kept inputs of a target (the real templates count for chat_template)."""
    files = sorted((CORPUS / name).glob("*")) if (CORPUS / name).is_dir() else []
    if name == "chat_template":
        files += sorted(TEMPLATES.glob("*.jinja"))
    return [f.read_bytes() for f in files if f.is_file()]
