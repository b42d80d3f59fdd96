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
from assistant.core.types import GenParams, ModelRef
from assistant.errors import AssistantError, GrammarError, ImageError, ModelNotFoundError, PromptTooLongError
from assistant.server.images import RequestImages, anthropic_block, openai_part
from assistant.server.models import _END_LEFT, ClientLeft, Job, ModelHost, ServerBusy
from assistant.server.protocol import BadRequest


def status_for(exc: AssistantError) -> int:
    if isinstance(exc, ModelNotFoundError):
        return 404
    if isinstance(exc, (BadRequest, PromptTooLongError, GrammarError, ImageError)):
        return 400
    if isinstance(exc, ServerBusy):
        return 429
    return 500


def error_headers(exc: AssistantError) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, ServerBusy) else {}


async def read_json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BadRequest("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def base_params(host: ModelHost, model: ModelRef, req: Any, *, max_tokens: int | None, stop: list[str],
                thinking: str | None = None) -> GenParams:
    """The model's own sampling values (as in the app), with the request's on top."""
    params = model_settings.gen_params(host.settings, model.path)
    overrides: dict[str, Any] = {"stop": stop}
    if max_tokens is not None:
        overrides["max_tokens"] = max_tokens
    for key in ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed", "presence_penalty", "frequency_penalty"):
        value = getattr(req, key, None)
        if value is not None:
            overrides[key] = value
    if thinking is not None:
        overrides["thinking"] = thinking
    return dataclasses.replace(params, **overrides)


async def start(host: ModelHost, job: Job, request: Request) -> AsyncGenerator[Any, None] | None:
    """Queue the job and wait for its first item (a model load and the queue come first),
    watching the client meanwhile. Returns the job's items from the first one on, or None
    when the client left; raises the job's error when it failed before answering, and
    ServerBusy when slots and queue are full."""
    job.bind()
    host.submit(job)
    watch = watch_disconnect(request, job)
    items = job.items()
    try:
        first = await _next(items)
    except ClientLeft:
        first = _OVER
    except BaseException:
        watch.cancel()
        raise
    if first is _OVER:  # the client left, or the server is stopping
        watch.cancel()
        await items.aclose()
        return None

    async def chain() -> AsyncGenerator[Any, None]:
        try:
            yield first
            async for item in items:
                yield item
        finally:
            watch.cancel()
            await items.aclose()

    return chain()


def watch_disconnect(request: Request, job: Job) -> asyncio.Task[None]:
    """A task that sets the job's cancel the moment the client goes away: the engine ends
    the answer within one step, streamed or not (no poll: uvicorn's receive() returns
    http.disconnect as soon as the connection closes)."""

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                job.cancel.set()
                job.emit(_END_LEFT)
                return

    return asyncio.ensure_future(watch())


def client_left() -> Response:
    return Response(status_code=499)  # nginx's code for a client that left; nobody reads it


async def whole_answer(items: AsyncGenerator[Any, None], request: Request,
                       error: Callable[[AssistantError], Response]) -> list[Any] | Response:
    """A non-streamed answer's items, or the response to send instead: the API's own
    error body when the job failed, 499 when the client left."""
    out: list[Any] = []
    try:
        async for item in items:
            out.append(item)
    except AssistantError as exc:
        return error(exc)
    except ClientLeft:
        return client_left()
    finally:
        await items.aclose()
    return out


_OVER = object()


async def _next(items: AsyncIterator[Any]) -> Any:
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return _OVER


def text_and_images(content: Any, where: str, sink: RequestImages) -> tuple[str, list[str]]:
    """A user message's content: its text, and its images (OpenAI image_url parts,
    Anthropic image blocks) kept in `sink`, as paths, in order."""
    if not isinstance(content, list):
        return text_of(content, where), []
    texts: list[Any] = []
    images: list[str] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image_url" and isinstance(part, dict):
            images.append(openai_part(part, f"{where}.content[{j}]", sink))
        elif kind == "image" and isinstance(part, dict):
            images.append(anthropic_block(part, f"{where}.content[{j}]", sink))
        else:
            texts.append(part)
    return text_of(texts, where), images


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
            elif isinstance(part, dict) and part.get("type") in ("image", "image_url"):
                raise BadRequest(f"{where}: images are understood in user messages only, not here.",
                                 "Move the image to a user message.")
            elif isinstance(part, dict) and part.get("type") in ("input_audio", "document", "file"):
                raise BadRequest(f"{where}: only text and images are understood; {part.get('type')} parts are not.")
            elif not isinstance(part, dict) or part.get("type") == "text":  # a number, or a text part without text
                raise BadRequest(f"{where}: each part of the content must be text or a text part.")
        return "".join(parts)
    raise BadRequest(f"{where}: the content must be text.")
