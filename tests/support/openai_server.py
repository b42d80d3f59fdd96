"""A small local server that speaks OpenAI's chat completions API (streaming SSE) and
records what it was sent, for the tests that need to see the request body or what
servers send besides `content` (llama_cpp.server, the real server the other tests use,
shows neither).

POST /v1/chat/completions and GET /v1/models on 127.0.0.1. The answer is "You said:"
and the last user message's words, cut at max_completion_tokens / max_tokens.

Knobs: `fail_next` ((status, message) answers for the next requests, in order);
`models_body` (the raw body GET /v1/models answers with, e.g. b"" as a broken proxy does);
`deltas` (stream these delta objects instead: `reasoning_content` as DeepSeek, llama.cpp's
server and vLLM send it, `reasoning` as OpenRouter does, `<think>` left in the text).
`api_key` None: any key (or none) is taken.
What it saw: `last_body`, `requests`.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any


class OpenAIServer:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.fail_next: list[tuple[int, str]] = []
        self.deltas: list[dict[str, Any]] | None = None
        self.models_body: bytes | None = None
        self.last_body: dict[str, Any] | None = None
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-test-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(server: OpenAIServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _gate(self) -> bool:
            with server._lock:
                server.requests.append((self.command, self.path))
                failure = server.fail_next.pop(0) if server.fail_next else None
            if server.api_key is not None and self.headers.get("authorization") != f"Bearer {server.api_key}":
                self._send(401, json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}).encode())
                return False
            if failure is not None:
                status, message = failure
                self._send(status, json.dumps({"error": {"message": message, "type": "server_error"}}).encode())
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802
            if not self._gate():
                return
            if server.models_body is not None:
                self._send(200, server.models_body)
                return
            self._send(200, json.dumps({"object": "list", "data": [{"id": "gpt-test", "object": "model", "owned_by": "test"}]}).encode())

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            with server._lock:
                server.last_body = body
            if not self._gate():
                return
            last_user = next((m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
            pieces = ["You said:"] + [f" {w}" for w in str(last_user).split()]
            limit = body.get("max_completion_tokens", body.get("max_tokens"))
            finish = "stop"
            if limit is not None and len(pieces) > int(limit):
                pieces, finish = pieces[: int(limit)], "length"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()

            def chunk(data: dict[str, Any] | str) -> None:
                payload = f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()

            base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": body.get("model")}
            deltas = server.deltas if server.deltas is not None else [
                {"content": piece} | ({"role": "assistant"} if i == 0 else {}) for i, piece in enumerate(pieces)]
            for delta in deltas:
                chunk(base | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
            chunk(base | {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                chunk(base | {"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": len(pieces),
                                                       "total_tokens": prompt + len(pieces)}})
            chunk("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler
