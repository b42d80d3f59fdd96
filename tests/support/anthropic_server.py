"""A small local server that speaks the documented Anthropic Messages API, for tests.

POST /v1/messages (streaming SSE or a plain JSON answer) and GET /v1/models, on
127.0.0.1 with the standard library's ThreadingHTTPServer. The answer is derived from
the last user message (`answer_pieces`), so tests can assert on the exact text.

Knobs, set on the instance between requests:
- `rate_limit_first`: answer 429 (with retry-after) to that many requests first;
- `drop_after`: in a stream, cut the TCP connection after that many text deltas,
  without the chunked body's end, as a dropped network would;
- `delay_s`: wait before answering (timeouts);
- `fail_next`: (status, error type, message) answers for the next requests, in order, as
  real servers send them (403 permission, 404 model, 500, 529 overloaded...);
- `error_event_after`: in a stream, send the documented `error` event after that many
  text deltas (an overloaded server mid-answer), then end the stream;
- `end_early_after`: in a stream, end the body cleanly after that many deltas, without
  message_delta / message_stop (a proxy that cut the stream short).
- `thinking`: stream these thinking deltas first, in a thinking block (extended thinking).

The key is checked in `x-api-key` (the documented header) or `Authorization: Bearer`
(what the anthropic SDK 2.x sends); a wrong one gets the documented 401 error JSON.

What it saw: `requests` (method, path), `last_body` (the parsed JSON of the last
POST), `last_headers`.
"""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading
import time
from typing import Any

MODELS = ["claude-test-1", "claude-test-2"]


def answer_pieces(last_user: str) -> list[str]:
    """The deterministic answer to a user message, as the text deltas it streams in."""
    words = last_user.split() or ["(nothing)"]
    return ["You said:"] + [f" {w}" for w in words] + ["."]


def answer_text(last_user: str) -> str:
    return "".join(answer_pieces(last_user))


class AnthropicServer:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.rate_limit_first = 0
        self.drop_after: int | None = None
        self.delay_s = 0.0
        self.fail_next: list[tuple[int, str, str]] = []
        self.error_event_after: int | None = None
        self.end_early_after: int | None = None
        self.thinking: list[str] | None = None
        self.requests: list[tuple[str, str]] = []
        self.last_body: dict[str, Any] | None = None
        self.last_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.rate_limit_first = 0
            self.drop_after = None
            self.delay_s = 0.0
            self.fail_next = []
            self.error_event_after = None
            self.end_early_after = None
            self.thinking = None
            self.requests.clear()
            self.last_body = None
            self.last_headers = {}

    def start(self) -> AnthropicServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="anthropic-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> AnthropicServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hung up (cancel, timeout, dropped stream) is expected here
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _make_handler(server: AnthropicServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, as the SDK expects

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
            pass

        # ------------------------------------------------------------ helpers

        def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", "req_test")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
            self._json(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)

        def _key_ok(self) -> bool:
            # the documented header is x-api-key; anthropic SDK 2.x sends the key as a bearer token
            auth = self.headers.get("authorization") or ""
            bearer = auth[7:] if auth.lower().startswith("bearer ") else None
            return server.api_key in (self.headers.get("x-api-key"), bearer)

        def _gate(self) -> bool:
            """Record the request; answer 401 / 429 when due. True when the request may go on."""
            with server._lock:
                server.requests.append((self.command, self.path.split("?", 1)[0]))
                server.last_headers = {k.lower(): v for k, v in self.headers.items()}
                limited = server.rate_limit_first > 0
                if limited:
                    server.rate_limit_first -= 1
                delay = server.delay_s
                failure = server.fail_next.pop(0) if server.fail_next else None
            if not self._key_ok():
                self._error(401, "authentication_error", "invalid x-api-key")
                return False
            if failure is not None:
                self._error(*failure)
                return False
            if limited:
                # retry-after-ms keeps the SDK's backoff short in tests; retry-after is the standard one
                self._error(429, "rate_limit_error", "Number of requests has exceeded your rate limit.",
                            {"retry-after": "1", "retry-after-ms": "50"})
                return False
            if delay:
                time.sleep(delay)
            return True

        # ------------------------------------------------------------ endpoints

        def do_GET(self) -> None:  # noqa: N802
            if self.path.split("?", 1)[0] != "/v1/models":
                self._error(404, "not_found_error", "Not found")
                return
            if not self._gate():
                return
            data = [
                {"type": "model", "id": m, "display_name": m.replace("-", " ").title(),
                 "created_at": "2025-01-01T00:00:00Z"}
                for m in MODELS
            ]
            self._json(200, {"data": data, "has_more": False, "first_id": MODELS[0], "last_id": MODELS[-1]})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.split("?", 1)[0] != "/v1/messages":
                self._error(404, "not_found_error", "Not found")
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._error(400, "invalid_request_error", "Body is not JSON")
                return
            with server._lock:
                server.last_body = body
            if not self._gate():
                return
            messages = body.get("messages") or []
            if not messages or "max_tokens" not in body or "model" not in body:
                self._error(400, "invalid_request_error", "model, max_tokens and messages are required")
                return
            last_user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
            pieces = answer_pieces(last_user)
            stop_reason = "end_turn"
            if len(pieces) > int(body["max_tokens"]):
                pieces, stop_reason = pieces[: int(body["max_tokens"])], "max_tokens"
            input_tokens = sum(len(_text(m.get("content")).split()) for m in messages)
            input_tokens += len(_text(body.get("system")).split())
            if body.get("stream"):
                self._stream(body["model"], pieces, stop_reason, input_tokens)
            else:
                self._json(200, {
                    "id": "msg_test", "type": "message", "role": "assistant", "model": body["model"],
                    "content": [{"type": "text", "text": "".join(pieces)}],
                    "stop_reason": stop_reason, "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": len(pieces)},
                })

        def _stream(self, model: str, pieces: list[str], stop_reason: str, input_tokens: int) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("request-id", "req_test")
            self.end_headers()

            def event(name: str, data: dict[str, Any]) -> None:
                payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()

            event("message_start", {"type": "message_start", "message": {
                "id": "msg_test", "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }})
            index = 0
            if server.thinking:
                event("content_block_start", {"type": "content_block_start", "index": 0,
                                              "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
                for piece in server.thinking:
                    event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "thinking_delta", "thinking": piece}})
                event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "signature_delta", "signature": "sig"}})
                event("content_block_stop", {"type": "content_block_stop", "index": 0})
                index = 1
            event("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}})
            event("ping", {"type": "ping"})
            for i, piece in enumerate(pieces):
                if server.error_event_after is not None and i >= server.error_event_after:
                    event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if server.end_early_after is not None and i >= server.end_early_after:
                    self.wfile.write(b"0\r\n\r\n")  # a clean end of the body, but no message_stop
                    self.wfile.flush()
                    return
                if server.drop_after is not None and i >= server.drop_after:
                    # cut the connection without the chunked terminator: the client sees an incomplete body
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                    self.close_connection = True
                    return
                event("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": piece}})
                time.sleep(0.005)
            event("content_block_stop", {"type": "content_block_stop", "index": index})
            event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                    "usage": {"output_tokens": len(pieces)}})
            event("message_stop", {"type": "message_stop"})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


def _text(content: Any) -> str:
    """A message's text: a string, or the text blocks of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""
