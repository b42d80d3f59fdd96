"""One chat turn, from the user's text to a stored answer.

Shared by the command line and the GUI worker: store the user message, build the
context that fits, stream the answer, keep the partial text safe while it grows,
and write the final message once with its usage and status.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from assistant.chat.context import answer_reserve, build_context
from assistant.chat.images import StoredImage
from assistant.chat.records import StoredMessage
from assistant.chat.store import ChatStore
from assistant.core.types import Chunk, GenParams, Message, Usage
from assistant.engines.base import Engine
from assistant.engines.thinking import HARMONY, MISTRAL, THINK, ThinkingSplitter
from assistant.errors import AssistantError
from assistant.tools.loop import ToolRecord

PARTIAL_SAVE_S = 2.0  # a crash loses at most this much of a growing answer


@dataclass
class TurnResult:
    message_id: int
    text: str
    status: str  # complete / stopped / failed
    chunk: Chunk | None  # the final chunk (usage, timings), None on failure
    error: AssistantError | None = None
    thinking: str = ""
    tool_rounds: int = 0  # rounds of tool calls before this answer (chat/tool_turn.py)
    rounds_limited: bool = False  # it asked for more calls than the round limit allowed

    @property
    def cut_off_thinking(self) -> bool:
        """The answer budget ran out while the model was still thinking."""
        return bool(self.thinking) and not self.text.strip() and self.chunk is not None and self.chunk.finish_reason == "length"


_LEGACY_THINKING = ("<think>", "<|channel|>", "[THINK]")


def _answer_only(content: str) -> str:
    """An answer stored before thinking had its own field may still begin with it."""
    if not content.lstrip().startswith(_LEGACY_THINKING):
        return content
    fmt = HARMONY if content.lstrip().startswith("<|channel|>") else (MISTRAL if "[THINK]" in content else THINK)
    split = ThinkingSplitter(fmt)
    return split.feed(content)[1] + split.flush()[1]


def history_messages(store: ChatStore, conversation_id: int) -> list[Message]:
    """What the model is shown of the conversation: user and assistant turns that
    alternate, answers without their thinking (it is not sent back, nor to the cloud),
    an answer's tool calls followed by their results.

    A stopped or failed answer keeps its partial text as context; one with no text (or
    thinking only) is left out together with its question, and so is a question whose
    answer never got a row: templates such as Gemma's and Mistral's refuse two user
    turns in a row."""
    out: list[Message] = []
    tools = store.conversation_tools(conversation_id)
    images = store.conversation_images(conversation_id)
    for m in store.messages(conversation_id):
        if m.role == "user":
            if out and out[-1].role == "user":
                out.pop()
            out.append(Message("user", m.content, images=[str(i.path) for i in images.get(m.id, [])]))
        elif m.role == "assistant":
            answer = _answer_only(m.content)
            records = [ToolRecord.from_dict(d) for d in tools.get(m.id, [])]
            if not answer.strip() and not records:
                if out and out[-1].role == "user":
                    out.pop()
                continue
            if out and out[-1].role == "assistant":
                out.pop()
            # an answer's calls, then what each returned (tools/loop.py)
            out.append(Message("assistant", answer, tool_calls=[r.call for r in records]))
            out += [Message("tool", r.result, tool_call_id=r.call.id, name=r.call.name) for r in records]
    while out and out[0].role == "assistant":
        out.pop(0)
    return out


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
    on_thinking: Callable[[str], None] | None = None,
    continue_answer: bool = False,
    user_images: Sequence[StoredImage] = (),
) -> TurnResult:
    """With `user_text` None, answers the conversation's last user message again
    (regenerate); with `continue_answer`, writes on from the last answer (one cut off
    while thinking), which it replaces. Errors end up in the result and in the stored
    message. `transform` rewrites the outgoing context (cloud redaction); `price` gives a
    cloud answer's cost from its usage. A cloud engine's answers are marked origin "cloud".
    Thinking streams to `on_thinking` and is stored apart from the answer. `user_images`
    (kept by `store.images.add_*` first) go with the user message."""
    if user_text is not None:
        asked = store.add_message(conversation_id, "user", user_text)
        if user_images:
            store.attach_images(asked.id, user_images)
    prev = _answer_to_continue(store, conversation_id) if continue_answer else None
    history = history_messages(store, conversation_id)
    cloud = engine.name == "cloud"
    answer_id = store.begin_answer(
        conversation_id, engine.name, model_name,
        origin="cloud" if cloud else "local", provider=getattr(engine, "provider", None) if cloud else None,
    )
    parts: list[str] = [prev.content] if prev and prev.content else []
    thought = _Thought(prev)
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
        if prev is not None:
            messages.append(Message("assistant", prev.content, prev.thinking))
        if transform is not None:
            messages = transform(messages)
        stream: Iterator[Chunk] = engine.stream_chat(messages, params, cancel)
        for chunk in stream:
            if chunk.thinking:
                thought.add(chunk.thinking)
                if on_thinking is not None:
                    on_thinking(chunk.thinking)
            if chunk.text:
                thought.answer_started()
                parts.append(chunk.text)
                if on_text is not None:
                    on_text(chunk.text)
            if chunk.text or chunk.thinking:
                now = time.perf_counter()
                if now - last_save >= PARTIAL_SAVE_S:
                    store.save_partial(answer_id, "".join(parts), thought.text)
                    last_save = now
            if chunk.done:
                final = chunk
    except AssistantError as exc:
        text = "".join(parts)
        # a partial cloud answer was still billed for what it streamed: an estimate of it
        cost = price(Usage(0, len(parts))) if price is not None and parts else None
        store.finish_answer(answer_id, text, "failed", error=str(exc), duration_s=time.perf_counter() - t0,
                            cost_usd=cost, thinking=thought.text, thinking_s=thought.seconds())
        return TurnResult(answer_id, text, "failed", None, exc)
    except BaseException:
        # KeyboardInterrupt or a bug: keep what we have, marked, then let it rise
        store.finish_answer(answer_id, "".join(parts), "failed", error="interrupted", duration_s=time.perf_counter() - t0,
                            thinking=thought.text, thinking_s=thought.seconds())
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
        thinking=thought.text,
        thinking_s=thought.seconds(),
        finish_reason=final.finish_reason if final else "cancelled",
    )
    return TurnResult(answer_id, text, status, final, thinking=thought.text)


def _answer_to_continue(store: ChatStore, conversation_id: int) -> StoredMessage | None:
    """The last answer, taken out of the history to be written on from (None: none to continue)."""
    rows = store.messages(conversation_id)
    last = rows[-1] if rows else None
    if last is None or last.role != "assistant":
        return None
    store.delete_messages_from(conversation_id, last.id)
    return last


class _Thought:
    """The thinking of one answer and how long it took (until the answer began)."""

    def __init__(self, prev: StoredMessage | None) -> None:
        self.parts = [prev.thinking] if prev and prev.thinking else []
        self.before = (prev.thinking_s or 0.0) if prev else 0.0
        self.start: float | None = None
        self.end: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        if self.start is None:
            self.start = time.perf_counter()
        self.parts.append(text)

    def answer_started(self) -> None:
        if self.start is not None and self.end is None:
            self.end = time.perf_counter()

    def seconds(self) -> float | None:
        if self.start is None:
            return self.before or None
        return self.before + ((self.end or time.perf_counter()) - self.start)
