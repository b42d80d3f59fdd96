"""The OpenAI-compatible API: /v1/models, /v1/chat/completions and /v1/completions.

Streaming is server-sent events as OpenAI sends them (`data: {...}` chunks, then
`data: [DONE]`); `stream_options.include_usage` adds the usage chunk with no choices.
Thinking streams as `reasoning_content`, as llama.cpp's server and vLLM send it.
/v1/completions puts the prompt through the model's chat template as one user turn:
the engines answer conversations, not raw text.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.core.types import Chunk, Message
from assistant.errors import AssistantError
from assistant.server.common import BadRequest, client_left, gen_params, read_json, start, status_for, text_of, whole_answer
from assistant.server.models import Job, ModelHost, PromptCount

_FINISH = {"stop": "stop", "length": "length", "cancelled": "stop"}
_ROLES = ("system", "developer", "user", "assistant", "tool")


def error(exc: AssistantError, status: int | None = None) -> JSONResponse:
    status = status or status_for(exc)
    kind = {401: "authentication_error", 404: "not_found_error", 400: "invalid_request_error"}.get(status, "server_error")
    code = {404: "model_not_found", 401: "invalid_api_key"}.get(status)
    message = exc.message + (f" {exc.hint}" if exc.hint else "")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status)


async def list_models(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    data = [{"id": ref.display_name, "object": "model", "created": 0, "owned_by": "assistant"} for ref in host.models()]
    return JSONResponse({"object": "list", "data": data})


def _messages(body: dict[str, Any]) -> list[Message]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise BadRequest("“messages” must be a non-empty list.")
    out: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}] needs a role: system, user or assistant.")
        role = str({"developer": "system", "tool": "user"}.get(m["role"], m["role"]))
        out.append(Message(role, text_of(m.get("content"), f"messages[{i}]")))
    return out


async def chat_completions(request: Request) -> Response:
    return await _answer(request, chat=True)


async def completions(request: Request) -> Response:
    return await _answer(request, chat=False)


async def _answer(request: Request, *, chat: bool) -> Response:
    host: ModelHost = request.app.state.host
    try:
        body = await read_json(request)
        model = host.find(str(body.get("model") or ""))
        if chat:
            messages = _messages(body)
        else:
            prompt = body.get("prompt")
            if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
                prompt = prompt[0]
            if not isinstance(prompt, str):
                raise BadRequest("“prompt” must be a string.")
            messages = [Message("user", prompt)]
        params = gen_params(host, model, body, max_tokens_keys=("max_completion_tokens", "max_tokens"), stop_key="stop")
        job = Job(model, messages, params)
        items = await start(host, job, request)
    except AssistantError as exc:
        return error(exc)
    if items is None:
        return client_left()
    ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
    name = model.display_name
    if body.get("stream"):
        opts = body.get("stream_options")
        usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        return EventSourceResponse(_stream(items, ident, name, chat=chat, include_usage=usage), ping=15)
    got = await whole_answer(items, request, error)
    if isinstance(got, Response):
        return got
    chunks = [c for c in got if isinstance(c, Chunk)]
    text = "".join(c.text for c in chunks)
    thinking = "".join(c.thinking for c in chunks)
    last = next((c for c in reversed(chunks) if c.done), None)
    finish = _FINISH.get((last.finish_reason if last else None) or "stop", "stop")
    if chat:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if thinking:
            message["reasoning_content"] = thinking
        choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    else:
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
    return JSONResponse({
        "id": ident, "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
        "model": name, "choices": [choice], "usage": _usage(last),
    })


def _usage(last: Chunk | None) -> dict[str, Any]:
    u = last.usage if last is not None else None
    p, c = (u.prompt_tokens, u.completion_tokens) if u else (0, 0)
    out: dict[str, Any] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    if u and u.cached_tokens:
        out["prompt_tokens_details"] = {"cached_tokens": u.cached_tokens}
    return out


async def _stream(items: AsyncIterator[Chunk | PromptCount], ident: str, name: str, *, chat: bool,
                  include_usage: bool) -> AsyncIterator[dict[str, str]]:
    created = int(time.time())
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choices: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
        return {"data": json.dumps({"id": ident, "object": kind, "created": created, "model": name,
                                    "choices": choices, **extra}, ensure_ascii=False)}

    if chat:
        yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    last: Chunk | None = None
    try:
        async for item in items:
            if not isinstance(item, Chunk):
                continue
            if item.text or item.thinking:
                if chat:
                    delta: dict[str, Any] = {}
                    if item.text:
                        delta["content"] = item.text
                    if item.thinking:
                        delta["reasoning_content"] = item.thinking
                    yield event([{"index": 0, "delta": delta, "finish_reason": None}])
                elif item.text:
                    yield event([{"index": 0, "text": item.text, "finish_reason": None, "logprobs": None}])
            if item.done:
                last = item
    except AssistantError as exc:  # mid-answer: OpenAI's SDK raises APIError on an "error" event
        yield {"data": json.dumps({"error": {"message": str(exc), "type": "server_error"}}, ensure_ascii=False)}
        return
    finish = _FINISH.get((last.finish_reason if last else None) or "stop", "stop")
    if chat:
        yield event([{"index": 0, "delta": {}, "finish_reason": finish}])
    else:
        yield event([{"index": 0, "text": "", "finish_reason": finish, "logprobs": None}])
    if include_usage:
        yield event([], usage=_usage(last))
    yield {"data": "[DONE]"}
