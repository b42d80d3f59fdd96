"""Conversation list and search results as Qt list models."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.chat.records import Conversation, SearchHit
from assistant.chat.snippets import plain_snippet

Index = QModelIndex | QPersistentModelIndex


def _age(ts: float) -> str:
    days = (time.time() - ts) / 86400
    if days < 1:
        return time.strftime("%H:%M", time.localtime(ts))
    if days < 7:
        return time.strftime("%a", time.localtime(ts))
    return time.strftime("%d %b", time.localtime(ts))


def section_of(ts: float, now: float | None = None) -> str:
    """'Today', 'Yesterday', 'Previous 7 days', 'Previous 30 days', then 'March 2026'."""
    now_t = time.localtime(now if now is not None else time.time())
    midnight = time.mktime((now_t.tm_year, now_t.tm_mon, now_t.tm_mday, 0, 0, 0, 0, 0, -1))
    if ts >= midnight:
        return "Today"
    days = (midnight - ts) / 86400
    if days <= 1:
        return "Yesterday"
    if days <= 7:
        return "Previous 7 days"
    if days <= 30:
        return "Previous 30 days"
    return time.strftime("%B %Y", time.localtime(ts))


class ConversationListModel(QAbstractListModel):
    IdRole = Qt.ItemDataRole.UserRole + 1
    TitleRole = Qt.ItemDataRole.UserRole + 2
    UpdatedRole = Qt.ItemDataRole.UserRole + 3
    SectionRole = Qt.ItemDataRole.UserRole + 4  # "Today", "Yesterday", ... (the list is newest first)
    FirstInSectionRole = Qt.ItemDataRole.UserRole + 5  # the row starts its section: its heading goes above it

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Conversation] = []

    def roleNames(self) -> dict[int, bytes]:
        return {self.IdRole: b"conversationId", self.TitleRole: b"title", self.UpdatedRole: b"updated",
                self.SectionRole: b"section", self.FirstInSectionRole: b"firstInSection"}

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
        if role == self.SectionRole:
            return section_of(c.updated_at)
        if role == self.FirstInSectionRole:
            r = index.row()
            return r == 0 or section_of(self._rows[r - 1].updated_at) != section_of(c.updated_at)
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
    MatchesRole = Qt.ItemDataRole.UserRole + 5  # [(start, end)] of the matched words in SnippetRole

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchHit] = []
        self._plain: list[tuple[str, list[tuple[int, int]]]] = []  # snippets without Markdown, and matches

    def roleNames(self) -> dict[int, bytes]:
        return {
            self.ConversationIdRole: b"conversationId",
            self.MessageIdRole: b"messageId",
            self.SnippetRole: b"snippet",
            self.TitleRole: b"title",
            self.MatchesRole: b"matches",
        }

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        h = self._rows[index.row()]
        plain, matches = self._plain[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{h.conversation_title}\n{plain}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Match in {h.conversation_title}: {plain}"
        return {
            self.ConversationIdRole: h.conversation_id,
            self.MessageIdRole: h.message_id,
            self.SnippetRole: plain,
            self.TitleRole: h.conversation_title,
            self.MatchesRole: matches,
        }.get(role)

    def set_hits(self, hits: list[SearchHit]) -> None:
        """Hits whose snippets mark matches with chat.snippets.MARKS."""
        self.beginResetModel()
        self._rows = list(hits)
        self._plain = [plain_snippet(h.snippet) for h in hits]
        self.endResetModel()
