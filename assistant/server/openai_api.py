"""The OpenAI-compatible API: /v1/models, /v1/chat/completions and /v1/completions.

Bodies are parsed by the typed models of server/protocol.py (every field honoured,
knowingly ignored, or refused with a 400 that says what to change). Streaming is
server-sent events as OpenAI sends them (`data: {...}` chunks, then `data: [DONE]`);
`stream_options.include_usage` adds the usage chunk with no choices. Thinking streams as
`reasoning_content`, as llama.cpp's server and vLLM send it. `n` answers run side by
side (each its own slot, seed + i), `logprobs` come from the raw logits as llama-server
reports them. /v1/completions puts the prompt through the model's chat template as one
user turn: the engines answer conversations, not raw text.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.core.types import Chunk, Message, TokenLogprob
from assistant.core.vision import has_vision
from assistant.errors import AssistantError
from assistant.server import tool_calls as tc
from assistant.server.common import (
    base_params,
    client_left,
    error_headers,
    read_json,
    start,
    status_for,
    text_and_images,
    text_of,
    whole_answer,
)
from assistant.server.images import RequestImages, require_vision
from assistant.server.models import Choice, Job, ModelHost
from assistant.server.protocol import BadRequest, ChatCompletionRequest, CompletionRequest, logit_bias, parse, stops
from assistant.server.structured import check_engine, openai_grammar

_FINISH = {"stop": "stop", "length": "length", "cancelled": "stop", "tool_calls": "tool_calls"}
_ROLES = ("system", "developer", "user", "assistant", "tool")
_KIND = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 405: "invalid_request_error",
         429: "rate_limit_error"}


def error(exc: AssistantError, status: int | None = None) -> JSONResponse:
    status = status or status_for(exc)
    code = {404: "model_not_found", 401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
    return error_body(status, exc.message + (f" {exc.hint}" if exc.hint else ""), code, error_headers(exc))


def error_body(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = _KIND.get(status, "server_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": code}},
                        status_code=status, headers=headers)


async def list_models(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    data = []
    for ref in host.models():
        n = host.context_length(ref)
        # context_length as LM Studio and OpenRouter name it; max_model_len as vLLM does
        # what it can take, as Ollama's /api/show names it: clients pick a model for a picture
        capabilities = ["completion", "tools", *(["vision"] if has_vision(ref) else [])]
        data.append({"id": ref.display_name, "object": "model", "created": 0, "owned_by": "assistant",
                     "context_length": n, "max_model_len": n, "capabilities": capabilities})
    return JSONResponse({"object": "list", "data": data})


def _messages(raw: list[dict[str, Any]], sink: RequestImages) -> list[Message]:
    out: list[Message] = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise BadRequest(f"messages[{i}] needs a role: system, user or assistant.")
        where = f"messages[{i}]"
        if m["role"] == "assistant":
            out.append(tc.openai_assistant(m, where))
        elif m["role"] == "tool":
            out.append(tc.openai_tool_result(m, where))
        elif m["role"] == "user":
            text, images = text_and_images(m.get("content"), where, sink)
            out.append(Message("user", text, images=images))
        else:
            out.append(Message("system" if m["role"] == "developer" else m["role"], text_of(m.get("content"), where)))
    return out


async def chat_completions(request: Request) -> Response:
    return await _answer(request, chat=True)


async def completions(request: Request) -> Response:
    return await _answer(request, chat=False)


async def _answer(request: Request, *, chat: bool) -> Response:
    host: ModelHost = request.app.state.host
    sink = RequestImages()  # the request's images, until its job is over
    try:
        body = await read_json(request)
        req: Any = parse(ChatCompletionRequest if chat else CompletionRequest, body)
        model = host.find(req.model)
        # on a thread: an image URL is fetched (and every image read and hashed) there
        messages = await asyncio.to_thread(_messages, req.messages, sink) if chat else [Message("user", req.text)]
        require_vision(model, messages)
        if chat:
            max_tokens = req.max_completion_tokens or req.max_tokens
            top = (req.top_logprobs or 0) if req.logprobs else None
            thinking = {"none": "off", "minimal": "low"}.get(req.reasoning_effort or "", req.reasoning_effort)
        else:
            max_tokens, top, thinking = req.max_tokens, req.logprobs, None
        params = base_params(host, model, req, max_tokens=max_tokens, stop=stops(req.stop), thinking=thinking)
        params.logit_bias = logit_bias(req.logit_bias)
        params.logprobs = top
        params.grammar = openai_grammar(req.response_format)
        check_engine(model, params.grammar, "response_format")
        if chat:
            tools = tc.openai_tools(req.tools)
            tc.set_tools(params, model, tools, tc.openai_choice(req.tool_choice, tools), req.parallel_tool_calls)
        job = Job(model, messages, params, n=req.n, on_end=sink.close)
        items = await start(host, job, request)
    except AssistantError as exc:
        sink.close()
        return error(exc)
    if items is None:
        return client_left()
    ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex[:24]
    name = model.display_name
    if req.stream:
        usage = bool(req.stream_options and req.stream_options.include_usage)
        return EventSourceResponse(_stream(items, ident, name, chat=chat, include_usage=usage, n=req.n), ping=15)
    got = await whole_answer(items, request, error)
    if isinstance(got, Response):
        return got
    per: list[list[Chunk]] = [[] for _ in range(req.n)]
    for item in got:
        if isinstance(item, Choice):
            per[item.index].append(item.item)
        elif isinstance(item, Chunk):
            per[0].append(item)
    choices = [_choice(i, chunks, chat, logprobs=params.logprobs is not None) for i, chunks in enumerate(per)]
    return JSONResponse({
        "id": ident, "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
        "model": name, "choices": choices, "usage": _usage([_last(c) for c in per]),
    })


def _last(chunks: list[Chunk]) -> Chunk | None:
    return next((c for c in reversed(chunks) if c.done), None)


def _choice(index: int, chunks: list[Chunk], chat: bool, *, logprobs: bool) -> dict[str, Any]:
    text = "".join(c.text for c in chunks)
    last = _last(chunks)
    finish = _FINISH.get((last.finish_reason if last else None) or "stop", "stop")
    lps = [lp for c in chunks for lp in (c.logprobs or [])] if logprobs else None
    if chat:
        calls = [call for c in chunks for call in (c.tool_calls or [])]
        message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        thinking = "".join(c.thinking for c in chunks)
        if thinking:
            message["reasoning_content"] = thinking
        if calls:
            message["tool_calls"] = tc.openai_calls(calls)
        return {"index": index, "message": message, "finish_reason": finish, "logprobs": _chat_logprobs(lps)}
    return {"index": index, "text": text, "finish_reason": finish, "logprobs": _text_logprobs(lps)}


def _chat_logprobs(lps: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if lps is None:
        return None
    return {"content": [{"token": lp.token, "logprob": lp.logprob, "bytes": list(lp.token.encode()),
                         "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in lp.top]}
                        for lp in lps], "refusal": None}


def _text_logprobs(lps: list[TokenLogprob] | None) -> dict[str, Any] | None:
    if lps is None:
        return None
    offsets, pos = [], 0
    for lp in lps:
        offsets.append(pos)
        pos += len(lp.token)
    return {"tokens": [lp.token for lp in lps], "token_logprobs": [lp.logprob for lp in lps],
            "top_logprobs": [dict(lp.top) for lp in lps], "text_offset": offsets}


def _usage(lasts: list[Chunk | None]) -> dict[str, Any]:
    us = [c.usage for c in lasts if c is not None and c.usage is not None]
    p = us[0].prompt_tokens if us else 0
    c = sum(u.completion_tokens for u in us)
    out: dict[str, Any] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    cached = us[0].cached_tokens if us else 0
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    return out


async def _stream(items: AsyncIterator[Any], ident: str, name: str, *, chat: bool, include_usage: bool,
                  n: int) -> AsyncIterator[dict[str, str]]:
    created = int(time.time())
    kind = "chat.completion.chunk" if chat else "text_completion"

    def event(choices: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
        return {"data": json.dumps({"id": ident, "object": kind, "created": created, "model": name,
                                    "choices": choices, **extra}, ensure_ascii=False)}

    if chat:
        yield event([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None} for i in range(n)])
    lasts: list[Chunk | None] = [None] * n
    try:
        async for raw in items:
            index, item = (raw.index, raw.item) if isinstance(raw, Choice) else (0, raw)
            if not isinstance(item, Chunk):
                continue
            if item.text or item.thinking or item.logprobs or item.tool_calls:
                if chat:
                    delta: dict[str, Any] = {}
                    if item.text:
                        delta["content"] = item.text
                    if item.thinking:
                        delta["reasoning_content"] = item.thinking
                    if item.tool_calls:
                        delta["tool_calls"] = tc.openai_call_deltas(item.tool_calls)
                    yield event([{"index": index, "delta": delta, "finish_reason": None,
                                  "logprobs": _chat_logprobs(item.logprobs)}])
                else:
                    yield event([{"index": index, "text": item.text, "finish_reason": None,
                                  "logprobs": _text_logprobs(item.logprobs)}])
            if item.done:
                lasts[index] = item
                finish = _FINISH.get(item.finish_reason or "stop", "stop")
                if chat:
                    yield event([{"index": index, "delta": {}, "finish_reason": finish}])
                else:
                    yield event([{"index": index, "text": "", "finish_reason": finish, "logprobs": None}])
    except AssistantError as exc:  # mid-answer: OpenAI's SDK raises APIError on an "error" event
        yield {"data": json.dumps({"error": {"message": str(exc), "type": "server_error"}}, ensure_ascii=False)}
        return
    if include_usage:
        yield event([], usage=_usage(lasts))
    yield {"data": "[DONE]"}
