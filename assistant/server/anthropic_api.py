"""The Anthropic Messages API: POST /v1/messages, streamed or not.

The stream is the documented event sequence: message_start (with the input tokens),
content blocks (thinking, then text) with their deltas, message_delta (stop reason,
output tokens), message_stop. Errors use Anthropic's shape: {"type": "error", "error": {...}}.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.core.types import Chunk, Message
from assistant.errors import AssistantError
from assistant.server import tool_calls as tc
from assistant.server.anthropic_protocol import CountTokensRequest, MessagesRequest
from assistant.server.common import base_params, client_left, error_headers, read_json, start, status_for, text_of, whole_answer
from assistant.server.images import RequestImages, require_vision
from assistant.server.models import Job, ModelHost, PromptCount
from assistant.server.protocol import BadRequest, parse, stops
from assistant.server.structured import anthropic_grammar, check_engine

_KINDS = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error",
          429: "rate_limit_error", 503: "overloaded_error"}


def stop_reason(last: Chunk | None) -> tuple[str, str | None]:
    """Anthropic's stop_reason and stop_sequence: a stop string that ended the answer is
    "stop_sequence" and named; the model's own end is "end_turn"."""
    if last is None:
        return "end_turn", None
    if last.finish_reason == "length":
        return "max_tokens", None
    if last.finish_reason == "tool_calls":
        return "tool_use", None
    if last.stop_sequence:
        return "stop_sequence", last.stop_sequence
    return "end_turn", None


def error(exc: AssistantError, status: int | None = None) -> JSONResponse:
    status = status or status_for(exc)
    return error_body(status, exc.message + (f" {exc.hint}" if exc.hint else ""), error_headers(exc))


def error_body(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": "error", "error": {"type": _KINDS.get(status, "api_error"), "message": message}},
                        status_code=status, headers=headers)


def _messages(req: MessagesRequest | CountTokensRequest, sink: RequestImages) -> list[Message]:
    out: list[Message] = []
    if req.system:
        out.append(Message("system", text_of(req.system, "system")))
    for i, m in enumerate(req.messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise BadRequest(f"messages[{i}]: the role must be user or assistant.")
        out += tc.anthropic_message(m, f"messages[{i}]", sink)
    return out


async def count_tokens(request: Request) -> Response:
    """POST /v1/messages/count_tokens: the prompt's tokens as the model's template renders it."""
    host: ModelHost = request.app.state.host
    sink = RequestImages()
    try:
        req = parse(CountTokensRequest, await read_json(request))
        model = host.find(req.model)
        anthropic_grammar(req.output_config)  # a schema this server cannot hold: the same 400 here
        messages = await asyncio.to_thread(_messages, req, sink)
        require_vision(model, messages)
        n = await asyncio.to_thread(_count, host, model, messages)
    except AssistantError as exc:
        return error(exc)
    finally:
        sink.close()
    return JSONResponse({"input_tokens": n})


def _count(host: ModelHost, model: Any, messages: list[Message]) -> int:
    with host.engines.use(model, host.settings) as engine:
        return int(engine.count_tokens(messages))


async def messages(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    sink = RequestImages()  # the request's images, until its job is over
    try:
        req = parse(MessagesRequest, await read_json(request))
        model = host.find(req.model)
        messages = await asyncio.to_thread(_messages, req, sink)
        require_vision(model, messages)
        params = base_params(host, model, req, max_tokens=req.max_tokens, stop=stops(req.stop_sequences),
                             thinking=req.thinking_switch)
        params.grammar = anthropic_grammar(req.output_config)
        check_engine(model, params.grammar, "output_config")
        tools = tc.anthropic_tools(req.tools)
        tc.set_tools(params, model, tools, *tc.anthropic_choice(req.tool_choice, tools))
        job = Job(model, messages, params, count_prompt=True, on_end=sink.close)
        items = await start(host, job, request)
    except AssistantError as exc:
        sink.close()
        return error(exc)
    if items is None:
        return client_left()
    ident = "msg_" + uuid.uuid4().hex[:24]
    name = model.display_name
    if req.stream:
        return EventSourceResponse(_stream(items, ident, name), ping=15)
    got = await whole_answer(items, request, error)
    if isinstance(got, Response):
        return got
    n_in = next((i.tokens for i in got if isinstance(i, PromptCount)), 0)
    chunks = [c for c in got if isinstance(c, Chunk)]
    last = next((c for c in reversed(chunks) if c.done), None)
    content: list[dict[str, Any]] = []
    thinking = "".join(c.thinking for c in chunks)
    if thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": ""})
    text = "".join(c.text for c in chunks)
    calls = [call for c in chunks for call in (c.tool_calls or [])]
    if text or not calls:
        content.append({"type": "text", "text": text})
    content += tc.anthropic_blocks(calls)
    reason, sequence = stop_reason(last)
    return JSONResponse({
        "id": ident, "type": "message", "role": "assistant", "model": name, "content": content,
        "stop_reason": reason, "stop_sequence": sequence,
        "usage": {"input_tokens": n_in, "output_tokens": last.usage.completion_tokens if last and last.usage else 0},
    })


def _event(kind: str, **data: Any) -> dict[str, str]:
    return {"event": kind, "data": json.dumps({"type": kind, **data}, ensure_ascii=False)}


async def _stream(items: AsyncIterator[Chunk | PromptCount], ident: str, name: str) -> AsyncIterator[dict[str, str]]:
    n_in = 0
    started = False
    block = -1  # the open content block's index
    block_kind = ""
    last: Chunk | None = None

    def message_start() -> dict[str, str]:
        return _event("message_start", message={
            "id": ident, "type": "message", "role": "assistant", "model": name, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": n_in, "output_tokens": 0},
        })

    try:
        async for item in items:
            if isinstance(item, PromptCount):
                n_in = item.tokens
                continue
            if not started:
                started = True
                yield message_start()
            for kind, piece in (("thinking", item.thinking), ("text", item.text)):
                if not piece:
                    continue
                if block_kind != kind:
                    if block >= 0:
                        yield _event("content_block_stop", index=block)
                    block += 1
                    block_kind = kind
                    start_block = {"type": "text", "text": ""} if kind == "text" else {"type": "thinking", "thinking": "", "signature": ""}
                    yield _event("content_block_start", index=block, content_block=start_block)
                delta = {"type": "text_delta", "text": piece} if kind == "text" else {"type": "thinking_delta", "thinking": piece}
                yield _event("content_block_delta", index=block, delta=delta)
            for call in tc.anthropic_blocks(item.tool_calls or []):
                if block >= 0:
                    yield _event("content_block_stop", index=block)
                block += 1
                block_kind = "tool_use"
                yield _event("content_block_start", index=block, content_block={**call, "input": {}})
                yield _event("content_block_delta", index=block,
                             delta={"type": "input_json_delta", "partial_json": json.dumps(call["input"], ensure_ascii=False)})
            if item.done:
                last = item
    except AssistantError as exc:
        yield _event("error", error={"type": "api_error", "message": str(exc)})
        return
    if not started:
        yield message_start()
    if block < 0 or block_kind not in ("text", "tool_use"):
        if block >= 0:
            yield _event("content_block_stop", index=block)
        block += 1
        yield _event("content_block_start", index=block, content_block={"type": "text", "text": ""})
    yield _event("content_block_stop", index=block)
    out_tokens = last.usage.completion_tokens if last and last.usage else 0
    reason, sequence = stop_reason(last)
    yield _event("message_delta", delta={"stop_reason": reason, "stop_sequence": sequence},
                 usage={"input_tokens": n_in, "output_tokens": out_tokens})
    yield _event("message_stop")
