"""A chat turn about documents, shared by the command line and the window's worker.

The stored question is the user's own words; the model reads it with the excerpts
(answer.excerpt_transform). The answer's sources are stored with its message in the chat
history (ChatStore.save_sources; they go when it is deleted), so the window shows them
again with the message. No passage good enough: the answer says so,
without calling the model.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from assistant.chat.context import answer_reserve
from assistant.chat.store import ChatStore
from assistant.chat.turn import TurnResult, run_turn
from assistant.core.types import GenParams, Message
from assistant.documents.answer import (
    MARGIN_TOKENS,
    NOT_FOUND,
    DocumentContext,
    choose,
    excerpt_transform,
    is_whole_document_question,
    map_notes,
    plan_map_reduce,
    sources_payload,
)
from assistant.documents.errors import CollectionError
from assistant.documents.service import Documents
from assistant.engines.base import Engine
from assistant.errors import CloudNotAllowedError

WHOLE_CHAR_FACTOR = 6  # chars per token, generous: a cheap check before counting a collection


def check_cloud_allowed(docs: Documents, names: list[str]) -> None:
    blocked = [n for n in names if docs.collection(n).never_cloud]
    if blocked:
        raise CloudNotAllowedError(
            f"The collection{'s' if len(blocked) > 1 else ''} {', '.join(blocked)} may never be sent to the cloud.",
            "The question was not sent. Ask it locally, or change the collection's setting in Documents.")


def prepare(docs: Documents, names: list[str], question: str, *, n_ctx: int, params: GenParams,
            count: Callable[[str], int], top_k: int = 5) -> DocumentContext:
    if not names:
        raise CollectionError("No documents were chosen for this question.", "Attach files or choose a collection.")
    budget = max(64, n_ctx - answer_reserve(n_ctx, params.max_tokens) - MARGIN_TOKENS - count(question))
    ids = [docs.collection(n).id for n in names]
    whole = None
    if docs.index.text_chars(ids) <= budget * WHOLE_CHAR_FACTOR or is_whole_document_question(question):
        whole = [p for cid in ids for f in docs.index.files(cid) if f.status == "indexed"
                 for p in docs.index.file_chunks(f.id)]
    retrieval = docs.search(question, names, top_k=top_k)
    return choose(question, retrieval, whole, budget=budget, count=count)


def engine_counter(engine: Engine) -> Callable[[str], int]:
    return lambda text: engine.count_tokens([Message("user", text)])


def run_document_turn(store: ChatStore, engine: Engine, conversation_id: int, docs: Documents, names: list[str],
                      question: str, *, system_prompt: str | None, params: GenParams, cancel: threading.Event,
                      model_name: str, on_text: Callable[[str], None] | None = None,
                      on_status: Callable[[str], None] | None = None,
                      on_thinking: Callable[[str], None] | None = None,
                      resend: bool = False) -> tuple[TurnResult, DocumentContext]:
    """`resend`: `question` is the chat's last user message, stored already (Regenerate)."""
    ctx = prepare(docs, names, question, n_ctx=engine.context_length, params=params, count=engine_counter(engine))
    if on_status is not None:
        on_status(ctx.budget_note)
    if ctx.mode == "map-reduce":
        _map_reduce(ctx, engine, params, cancel, on_status)
    if ctx.mode == "none":
        if not resend:
            store.add_message(conversation_id, "user", question)
        answer_id = store.begin_answer(conversation_id, "documents", model_name, origin="local")
        store.finish_answer(answer_id, NOT_FOUND, "complete", duration_s=0.0)
        if on_text is not None:
            on_text(NOT_FOUND)
        return TurnResult(answer_id, NOT_FOUND, "complete", None), ctx
    result = run_turn(store, engine, conversation_id, system_prompt=system_prompt, params=params, cancel=cancel,
                      model_name=model_name, user_text=None if resend else question, on_text=on_text, on_thinking=on_thinking,
                      transform=excerpt_transform(ctx))
    if result.message_id:
        store.save_sources(result.message_id, sources_payload(ctx))
    return result, ctx


def _map_reduce(ctx: DocumentContext, engine: Engine, params: GenParams, cancel: threading.Event,
                on_status: Callable[[str], None] | None) -> None:
    count = engine_counter(engine)
    note_params = GenParams(**{**params.__dict__, "max_tokens": min(params.max_tokens, 256)})
    # speeds: a conservative guess for a CPU; the estimate is corrected as parts finish
    plan = plan_map_reduce(ctx.sources, budget=ctx.budget, count=count, note_tokens=note_params.max_tokens,
                           prompt_tps=60.0, decode_tps=8.0)
    if on_status is not None:
        on_status(plan.describe())
    started = time.monotonic()

    def ask(messages: list[Message], p: GenParams, c: threading.Event) -> str:
        return "".join(ch.text for ch in engine.stream_chat(messages, p, c))

    def progress(done: int, total: int) -> None:
        if on_status is not None and done:
            left = (time.monotonic() - started) / done * (total - done)
            on_status(f"Read part {done} of {total}; about {left:.0f} s left.")

    ctx.sources = map_notes(plan, ctx.question, ask, note_params, cancel, progress)
    if not ctx.sources and not cancel.is_set():  # stopped: the answer says stopped, not "not found"
        ctx.mode = "none"
