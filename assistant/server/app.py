"""The API server's starlette app: routes, the token check, and the network record.

An ASGI middleware (below the routes, above nothing) checks the token on every request
and writes one line of the network record per request, as the app's own outgoing
requests are written: the client's address, method, path (never the query), bytes both
ways and status, marked incoming. Headers and bodies are never recorded, so the token
cannot land there; uvicorn's access log is off (runner.py) for the same reason.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import network
from assistant.server import anthropic_api, embeddings_api, loaded_api, openai_api
from assistant.server.auth import matches, token_from_headers
from assistant.server.models import ModelHost

PURPOSE = "API server (incoming)"
log = logging.getLogger(__name__)


OPEN_PATHS = ("/health",)  # answered without the token: they tell nothing private


def build_app(host: ModelHost, token: str) -> ASGIApp:
    app = Starlette(routes=[
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", openai_api.list_models, methods=["GET"]),
        Route("/v1/chat/completions", openai_api.chat_completions, methods=["POST"]),
        Route("/v1/completions", openai_api.completions, methods=["POST"]),
        Route("/v1/messages", anthropic_api.messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", anthropic_api.count_tokens, methods=["POST"]),
        Route("/v1/embeddings", embeddings_api.embeddings, methods=["POST"]),
        Route("/assistant/ps", loaded_api.ps, methods=["GET"]),  # `assistant models ps` / `unload`
        Route("/assistant/unload", loaded_api.unload, methods=["POST"]),
    ], exception_handlers={HTTPException: _http_error, Exception: _server_error})
    app.state.host = host
    return TokenAndRecord(app, token)


async def health(request: Request) -> Response:
    """Up, and how busy: no model names, paths or settings (no token is needed here)."""
    host: ModelHost = request.app.state.host
    running, waiting = host.busy
    return JSONResponse({"status": "ok", "slots": host.slots, "slots_busy": running, "queued": waiting})


def _error_response(path: str, status: int, message: str) -> Response:
    if path.startswith("/v1/messages"):
        return anthropic_api.error_body(status, message)
    return openai_api.error_body(status, message)


async def _http_error(request: Request, exc: Exception) -> Response:
    """404 and 405 (and any other HTTP error of the routing) in the API's JSON shape."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        message = f"There is no {path} here. The API is under /v1: models, chat/completions, completions, messages."
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}."
    else:
        message = str(exc.detail)
    response = _error_response(path, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("API server error on %s: %s", request.url.path, type(exc).__name__, exc_info=exc)
    return _error_response(request.url.path, 500, f"The server failed: {type(exc).__name__}. The app's log has the details.")


class TokenAndRecord:
    """401 without the right token; one network-record line per request."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("the API server needs a token")
        self.app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.time()
        client = scope.get("client") or ("", None)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        counts = {"in": _request_head_size(scope), "out": 0, "status": 0}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                counts["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = int(message["status"])
                counts["out"] += 17 + sum(len(k) + len(v) + 4 for k, v in message.get("headers", [])) + 2
            elif message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))
            await send(message)

        outcome = network.OK
        try:
            if scope.get("path") not in OPEN_PATHS and not matches(token_from_headers(headers), self._token):
                await _unauthorized(scope, counting_send, missing=not token_from_headers(headers))
            else:
                await self.app(scope, counting_receive, counting_send)
        except BaseException as exc:  # recorded, then uvicorn answers 500 / closes
            outcome = f"error: {type(exc).__name__}"
            raise
        finally:
            network.record(network.NetworkEntry(
                t0, str(client[0]), client[1], PURPOSE, str(scope.get("method", "")), str(scope.get("path", "/")),
                counts["out"], counts["in"], outcome, counts["status"] or None, direction=network.INBOUND,
            ))


def _request_head_size(scope: Scope) -> int:
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    return len(scope.get("method", "")) + len(raw) + 12 + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", [])) + 2


async def _unauthorized(scope: Scope, send: Send, *, missing: bool) -> None:
    message = ("No API token was sent." if missing else "The API token is wrong.") + (
        " Send the token shown in Settings → Server as `Authorization: Bearer TOKEN` or `x-api-key: TOKEN`."
    )
    if scope.get("path", "").startswith("/v1/messages"):
        body: dict[str, Any] = {"type": "error", "error": {"type": "authentication_error", "message": message}}
    else:
        body = {"error": {"message": message, "type": "authentication_error", "param": None, "code": "invalid_api_key"}}
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            (b"www-authenticate", b"Bearer")]})
    await send({"type": "http.response.body", "body": data})
