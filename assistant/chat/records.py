"""The rows of the chat history as plain records, and the search-query builder."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    system_prompt: str | None
    model: str | None
    never_cloud: bool
    routing_mode: str | None = None  # local / ask / auto; None: the settings' default


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    conversation_id: int
    role: str
    content: str
    status: str
    engine: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_s: float | None
    decode_tokens_per_s: float | None
    duration_s: float | None
    error: str | None
    created_at: float
    origin: str | None = None  # local / cloud (None: written before the cloud existed)
    provider: str | None = None  # a cloud answer's provider id
    cost_usd: float | None = None  # a cloud answer's price, from the price table
    thinking: str = ""  # a reasoning model's thinking (migration 4)
    thinking_s: float | None = None  # how long it thought
    finish_reason: str | None = None  # stop / length / cancelled (migration 6; None: earlier)

    @property
    def cut_off_thinking(self) -> bool:
        """The answer budget ran out while the model was still thinking: no answer yet."""
        return self.role == "assistant" and self.status == "complete" and bool(self.thinking) and not self.content.strip()

    @property
    def cut_off(self) -> bool:
        """The answer ended at the "Longest answer" limit (or thinking used it all up)."""
        return self.role == "assistant" and self.status == "complete" and (self.finish_reason == "length" or self.cut_off_thinking)


@dataclass(frozen=True, slots=True)
class SearchHit:
    conversation_id: int
    message_id: int
    snippet: str
    conversation_title: str


CONV_COLS = "id, title, created_at, updated_at, system_prompt, model, never_cloud, routing_mode"
MSG_COLS = (
    "id, conversation_id, role, content, status, engine, model, prompt_tokens,"
    " completion_tokens, ttft_s, decode_tokens_per_s, duration_s, error, created_at,"
    " origin, provider, cost_usd, thinking, thinking_s, finish_reason"
)


def conversation_from_row(row: sqlite3.Row | tuple[Any, ...]) -> Conversation:
    cid, title, created, updated, system_prompt, model, never, mode = tuple(row)[:8]
    return Conversation(cid, title, created, updated, system_prompt, model, bool(never), mode)


def message_from_row(row: sqlite3.Row | tuple[Any, ...]) -> StoredMessage:
    return StoredMessage(*row)


def fts_query(text: str) -> str:
    """Turn what a user typed into a safe FTS5 query.

    Every whitespace-separated word becomes a quoted string (so `"`, `(`, `AND`,
    `*`, `-` are just text); words are ANDed; the last word is a prefix unless
    the user ended with a space. Returns "" when nothing searchable is left.
    """
    words = [w for w in text.split() if any(ch.isalnum() for ch in w)]
    if not words:
        return ""
    parts = ['"' + w.replace('"', '""') + '"' for w in words]
    if not text[-1].isspace():
        parts[-1] += "*"
    return " ".join(parts)
