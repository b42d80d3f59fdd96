"""Conversation list and search results as Qt list models."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.chat.records import Conversation, SearchHit

Index = QModelIndex | QPersistentModelIndex


def _age(ts: float) -> str:
    days = (time.time() - ts) / 86400
    if days < 1:
        return time.strftime("%H:%M", time.localtime(ts))
    if days < 7:
        return time.strftime("%a", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


class ConversationListModel(QAbstractListModel):
    IdRole = Qt.ItemDataRole.UserRole + 1
    TitleRole = Qt.ItemDataRole.UserRole + 2
    UpdatedRole = Qt.ItemDataRole.UserRole + 3

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Conversation] = []

    def roleNames(self) -> dict[int, bytes]:
        return {self.IdRole: b"conversationId", self.TitleRole: b"title", self.UpdatedRole: b"updated"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        c = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, self.TitleRole):
            return c.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.title}\nLast active {_age(c.updated_at)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Conversation: {c.title}"
        if role == self.IdRole:
            return c.id
        if role == self.UpdatedRole:
            return c.updated_at
        return None

    def set_conversations(self, rows: list[Conversation]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def conversation_at(self, row: int) -> Conversation | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, conversation_id: int) -> int:
        return next((i for i, c in enumerate(self._rows) if c.id == conversation_id), -1)


class SearchResultsModel(QAbstractListModel):
    ConversationIdRole = Qt.ItemDataRole.UserRole + 1
    MessageIdRole = Qt.ItemDataRole.UserRole + 2
    SnippetRole = Qt.ItemDataRole.UserRole + 3
    TitleRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchHit] = []

    def roleNames(self) -> dict[int, bytes]:
        return {
            self.ConversationIdRole: b"conversationId",
            self.MessageIdRole: b"messageId",
            self.SnippetRole: b"snippet",
            self.TitleRole: b"title",
        }

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        h = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{h.conversation_title}\n{h.snippet}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Match in {h.conversation_title}: {h.snippet}"
        return {
            self.ConversationIdRole: h.conversation_id,
            self.MessageIdRole: h.message_id,
            self.SnippetRole: h.snippet,
            self.TitleRole: h.conversation_title,
        }.get(role)

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._rows = list(hits)
        self.endResetModel()
