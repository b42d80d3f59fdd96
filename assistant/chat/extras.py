"""ChatStore's part for what goes with a message or a chat beside its text (mixed in): an
answer's sources (documents), an answer's tool calls and their results (tools/loop.py's
records), and the tools a chat has switched on. Each goes with its message or chat."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any


class MessageExtras:
    if TYPE_CHECKING:
        def _tx(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...
        def _read(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...
        def _update_conversation(self, conversation_id: int, assignment: str, args: tuple[Any, ...],
                                 action: str) -> None: ...

    def save_sources(self, message_id: int, data: list[dict[str, Any]]) -> None:
        """The passages an answer cited (documents/answer.sources_payload); they go with it."""
        with self._tx("save an answer's sources") as c:
            c.execute("INSERT OR REPLACE INTO message_sources(message_id, data) VALUES (?, ?)",
                      (message_id, json.dumps(data)))

    def sources(self, message_id: int) -> list[dict[str, Any]]:
        with self._read("read an answer's sources") as c:
            row = c.execute("SELECT data FROM message_sources WHERE message_id = ?", (message_id,)).fetchone()
        return list(json.loads(row[0])) if row else []

    def set_enabled_tools(self, conversation_id: int, data: dict[str, Any] | None) -> None:
        """The tools this chat has switched on (tools/registry.EnabledTools.to_json()); None: none."""
        value = json.dumps(data) if data else None
        self._update_conversation(conversation_id, "tools = ?", (value,), "change a conversation")

    def enabled_tools(self, conversation_id: int) -> dict[str, Any] | None:
        with self._read("read a conversation") as c:
            row = c.execute("SELECT tools FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return dict(json.loads(row[0])) if row and row[0] else None

    def save_tools(self, message_id: int, data: list[dict[str, Any]]) -> None:
        """The calls an answer made and their results (tools/loop.py: ToolRecord.to_dict)."""
        with self._tx("save an answer's tool calls") as c:
            c.execute("INSERT OR REPLACE INTO message_tools(message_id, data) VALUES (?, ?)",
                      (message_id, json.dumps(data)))

    def tools(self, message_id: int) -> list[dict[str, Any]]:
        with self._read("read an answer's tool calls") as c:
            row = c.execute("SELECT data FROM message_tools WHERE message_id = ?", (message_id,)).fetchone()
        return list(json.loads(row[0])) if row else []

    def conversation_tools(self, conversation_id: int) -> dict[int, list[dict[str, Any]]]:
        """Every answer's tool calls in a conversation, by message id (one query for the history)."""
        with self._read("read a conversation's tool calls") as c:
            rows = c.execute("SELECT t.message_id, t.data FROM message_tools t JOIN messages m ON m.id = t.message_id"
                             " WHERE m.conversation_id = ?", (conversation_id,)).fetchall()
        return {int(r[0]): list(json.loads(r[1])) for r in rows}

