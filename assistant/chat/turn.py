"""One chat turn, from the user's text to a stored answer.

Shared by the command line and the GUI worker: store the user message, build the
context that fits, stream the answer, keep the partial text safe while it grows,
and write the final message once with its usage and status.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from assistant.chat.context import answer_reserve, build_context
from assistant.chat.store import ChatStore
from assistant.core.types import Chunk, GenParams, Message, Usage
from assistant.engines.base import Engine
from assistant.errors import AssistantError

PARTIAL_SAVE_S = 2.0  # a crash loses at most this much of a growing answer


@dataclass
class TurnResult:
    message_id: int
    text: str
    status: str  # complete / stopped / failed
    chunk: Chunk | None  # the final chunk (usage, timings), None on failure
    error: AssistantError | None = None


def history_messages(store: ChatStore, conversation_id: int) -> list[Message]:
    return [
        Message(m.role, m.content)
        for m in store.messages(conversation_id)
        if m.role in ("user", "assistant") and (m.content or m.role == "user")
    ]


def run_turn(
    store: ChatStore,
    engine: Engine,
    conversation_id: int,
    *,
    system_prompt: str | None,
    params: GenParams,
    cancel: threading.Event,
    model_name: str,
    user_text: str | None = None,
    on_text: Callable[[str], None] | None = None,
    transform: Callable[[list[Message]], list[Message]] | None = None,
    price: Callable[[Usage | None], float | None] | None = None,
) -> TurnResult:
    """With `user_text` None, answers the conversation's last user message again
    (regenerate). Errors end up in the result and in the stored message.
    `transform` rewrites the outgoing context (cloud redaction); `price` gives a cloud
    answer's cost from its usage. A cloud engine's answers are marked origin "cloud"."""
    if user_text is not None:
        store.add_message(conversation_id, "user", user_text)
    history = history_messages(store, conversation_id)
    cloud = engine.name == "cloud"
    answer_id = store.begin_answer(
        conversation_id, engine.name, model_name,
        origin="cloud" if cloud else "local", provider=getattr(engine, "provider", None) if cloud else None,
    )
    parts: list[str] = []
    final: Chunk | None = None
    t0 = time.perf_counter()
    last_save = t0
    try:
        messages = build_context(
            history,
            system_prompt=system_prompt,
            n_ctx=engine.context_length,
            count_tokens=engine.count_tokens,
            reserve=answer_reserve(engine.context_length, params.max_tokens),
        )
        if transform is not None:
            messages = transform(messages)
        stream: Iterator[Chunk] = engine.stream_chat(messages, params, cancel)
        for chunk in stream:
            if chunk.text:
                parts.append(chunk.text)
                if on_text is not None:
                    on_text(chunk.text)
                now = time.perf_counter()
                if now - last_save >= PARTIAL_SAVE_S:
                    store.save_partial(answer_id, "".join(parts))
                    last_save = now
            if chunk.done:
                final = chunk
    except AssistantError as exc:
        text = "".join(parts)
        # a partial cloud answer was still billed for what it streamed: an estimate of it
        cost = price(Usage(0, len(parts))) if price is not None and parts else None
        store.finish_answer(answer_id, text, "failed", error=str(exc), duration_s=time.perf_counter() - t0, cost_usd=cost)
        return TurnResult(answer_id, text, "failed", None, exc)
    except BaseException:
        # KeyboardInterrupt or a bug: keep what we have, marked, then let it rise
        store.finish_answer(answer_id, "".join(parts), "failed", error="interrupted", duration_s=time.perf_counter() - t0)
        raise
    text = "".join(parts)
    status = "stopped" if final is None or final.finish_reason == "cancelled" else "complete"
    usage, timings = (final.usage, final.timings) if final else (None, None)
    store.finish_answer(
        answer_id,
        text,
        status,
        prompt_tokens=usage.prompt_tokens if usage else None,
        completion_tokens=usage.completion_tokens if usage else None,
        ttft_s=timings.ttft_s if timings else None,
        decode_tokens_per_s=timings.decode_tokens_per_s(usage.completion_tokens) if timings and usage else None,
        duration_s=time.perf_counter() - t0,
        cost_usd=price(usage) if price is not None else None,
    )
    return TurnResult(answer_id, text, status, final)
