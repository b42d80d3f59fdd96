"""A small OpenAI-compatible chat-completions server that streams recorded deltas, for
tests of what servers send besides `content`: `reasoning_content` (DeepSeek, llama.cpp's
server, vLLM), `reasoning` (OpenRouter), or thinking left in the text as `<think>` tags.

`deltas` (set between requests) is the list of delta objects streamed in order;
`last_body` is the parsed JSON of the last request.
"""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class OpenAIStreamServer:
    def __init__(self) -> None:
        self.deltas: list[dict[str, Any]] = []
        self.last_body: dict[str, Any] | None = None
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-test-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIStreamServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(server: OpenAIStreamServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
            pass

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("content-length") or 0)
            server.last_body = json.loads(self.rfile.read(length) or b"{}")
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()

            def send(data: str) -> None:
                payload = f"data: {data}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
                self.wfile.flush()

            base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
            for delta in server.deltas:
                send(json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}))
            send(json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
            send("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler
