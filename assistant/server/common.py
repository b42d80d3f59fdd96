"""What the two APIs share: request bodies to GenParams, errors as HTTP statuses, and
waiting on a job while watching for the client to go away."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from assistant import model_settings
from assistant.core.types import Chunk, GenParams, ModelRef
from assistant.errors import AssistantError, ModelNotFoundError, PromptTooLongError
from assistant.server.models import Job, ModelHost, PromptCount

DISCONNECT_POLL_S = 0.5
MAX_STOPS = 16


class BadRequest(AssistantError):
    """The request body is not what the API documents (400)."""


def status_for(exc: AssistantError) -> int:
    if isinstance(exc, ModelNotFoundError):
        return 404
    if isinstance(exc, (BadRequest, PromptTooLongError)):
        return 400
    return 500


async def read_json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BadRequest("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _number(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not float(value).is_integer()):
        raise BadRequest(f"“{name}” must be a number.")
    return kind(value)


def gen_params(host: ModelHost, model: ModelRef, body: dict[str, Any], *, max_tokens_keys: tuple[str, ...],
               stop_key: str) -> GenParams:
    """The model's own sampling values (as in the app), with the request's on top."""
    params = model_settings.gen_params(host.settings, model.path)
    overrides: dict[str, Any] = {}
    for key in max_tokens_keys:
        n = _number(body, key, int)
        if n is not None:
            if n < 1:
                raise BadRequest(f"“{key}” must be at least 1.")
            overrides["max_tokens"] = n
            break
    for key, kind in (("temperature", float), ("top_p", float), ("top_k", int), ("min_p", float),
                      ("repeat_penalty", float), ("seed", int)):
        v = _number(body, key, kind)
        if v is not None:
            overrides[key] = v
    stop = body.get(stop_key)
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise BadRequest(f"“{stop_key}” must be a string or a list of strings.")
        overrides["stop"] = [s for s in stop if s][:MAX_STOPS]
    return dataclasses.replace(params, **overrides)


async def start(host: ModelHost, job: Job, request: Request) -> AsyncGenerator[Chunk | PromptCount, None] | None:
    """Queue the job and wait for its first item (a model load and the queue come first),
    watching the client meanwhile. Returns the job's items from the first one on, or None
    when the client left; raises the job's error when it failed before answering."""
    job.bind()
    host.submit(job)
    items = job.items()
    first = await _next_or_disconnect(items, request)
    if first is _OVER:  # ended without a chunk (the server is stopping)
        return None
    if first is None:
        await items.aclose()  # sets cancel: a queued job is skipped, a running one stops
        return None

    async def chain() -> AsyncGenerator[Chunk | PromptCount, None]:
        try:
            yield first
            async for item in items:
                yield item
        finally:
            await items.aclose()

    return chain()


def client_left() -> Response:
    return Response(status_code=499)  # nginx's code for a client that left; nobody reads it


async def whole_answer(items: AsyncGenerator[Chunk | PromptCount, None], request: Request,
                       error: Callable[[AssistantError], Response]) -> list[Chunk | PromptCount] | Response:
    """A non-streamed answer's items, or the response to send instead: the API's own
    error body when the job failed, 499 when the client left."""
    try:
        got = await collect(items, request)
    except AssistantError as exc:
        return error(exc)
    return client_left() if got is None else got


async def collect(items: AsyncGenerator[Chunk | PromptCount, None], request: Request) -> list[Chunk | PromptCount] | None:
    """Every item of a job for a non-streamed answer; None when the client left (cancelled)."""
    out: list[Chunk | PromptCount] = []
    try:
        while True:
            item = await _next_or_disconnect(items, request)
            if item is _OVER:
                return out
            if item is None:
                return None
            out.append(item)
    finally:
        await items.aclose()


_OVER = object()


async def _next(items: AsyncIterator[Any]) -> Any:
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return _OVER


async def _next_or_disconnect(items: AsyncIterator[Any], request: Request) -> Any:
    """The next item, _OVER at the end, or None when the client went away first."""
    task = asyncio.ensure_future(_next(items))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                return None
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass


def text_of(content: Any, where: str) -> str:
    """A message's content: a string, or a list of text parts (OpenAI and Anthropic both)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("image", "image_url", "input_audio", "document"):
                raise BadRequest(f"{where}: only text is understood here; {part.get('type')} parts are not.")
            elif not isinstance(part, dict) or part.get("type") == "text":  # a number, or a text part without text
                raise BadRequest(f"{where}: each part of the content must be text or a text part.")
        return "".join(parts)
    raise BadRequest(f"{where}: the content must be text.")
