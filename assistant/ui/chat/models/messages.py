"""The messages of the open conversation as a Qt list model.

The streaming answer is a row like any other: its content grows through
`set_streaming_text`, called on the GUI's render timer (not per token).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.chat.cost import format_usd
from assistant.chat.export import answer_details
from assistant.chat.records import StoredMessage
from assistant.core.names import short_model_name
from assistant.engines.cloud import PROVIDERS

Index = QModelIndex | QPersistentModelIndex


def details_name(m: StoredMessage) -> str:
    """The part of `origin_details` that names the model: the part a narrow footer may cut."""
    if m.origin == "cloud" or m.engine == "cloud":
        return f"{PROVIDERS.get(m.provider or '', m.provider or 'cloud')} {short_model_name(m.model)}".strip()
    return short_model_name(m.model)


def origin_details(m: StoredMessage) -> str:
    """Where an answer came from, then its details: "Local · gemma-3 · llama.cpp · 41.2 tokens/s"
    or "Cloud · OpenAI gpt-4o · $0.0012 · 3.1 s"."""
    if m.origin == "cloud" or m.engine == "cloud":
        bits = ["Cloud", details_name(m)]
        if m.cost_usd is not None:
            bits.append(format_usd(m.cost_usd))
        if m.completion_tokens:
            bits.append(f"{(m.prompt_tokens or 0) + m.completion_tokens:,} tokens")
        if m.status == "stopped":
            bits.append("stopped")
        elif m.status == "failed":
            bits.append("failed, partial answer kept" if m.content else "failed")
        elif m.cut_off:
            bits.append("cut off")
        return " · ".join(bits)
    rest = answer_details(replace(m, model=short_model_name(m.model) or None), with_error=False)
    rest = rest.replace("cut off at the length limit", "cut off")  # the note above says the rest
    return "Local · " + rest if rest else "Local"


class MessageListModel(QAbstractListModel):
    IdRole = Qt.ItemDataRole.UserRole + 1
    RoleRole = Qt.ItemDataRole.UserRole + 2  # user / assistant
    ContentRole = Qt.ItemDataRole.UserRole + 3
    StatusRole = Qt.ItemDataRole.UserRole + 4  # complete / stopped / failed / streaming
    DetailsRole = Qt.ItemDataRole.UserRole + 5  # "model · engine · 41.2 tokens/s · stopped"
    ErrorRole = Qt.ItemDataRole.UserRole + 6
    OriginRole = Qt.ItemDataRole.UserRole + 7  # local / cloud ("" for the user's messages)
    ThinkingRole = Qt.ItemDataRole.UserRole + 8  # a reasoning model's thinking ("" for none)
    ThinkingSecondsRole = Qt.ItemDataRole.UserRole + 9  # how long it thought (None: unknown)
    # what changes on each render tick of a streaming answer
    STREAMING_ROLES = [ContentRole, Qt.ItemDataRole.DisplayRole, ThinkingRole, ThinkingSecondsRole]
    VersionsRole = Qt.ItemDataRole.UserRole + 10  # (shown, count) of a message with earlier versions, else None
    CutOffRole = Qt.ItemDataRole.UserRole + 11  # an answer that ended at the length limit
    DetailsNameRole = Qt.ItemDataRole.UserRole + 12  # the model's name in the details: cut there, not in a figure

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[StoredMessage] = []
        self._versions: dict[int, tuple[int, int]] = {}  # message id -> (shown, count)

    def roleNames(self) -> dict[int, bytes]:
        return {
            self.IdRole: b"messageId",
            self.RoleRole: b"role",
            self.ContentRole: b"content",
            self.StatusRole: b"status",
            self.DetailsRole: b"details",
            self.ErrorRole: b"error",
            self.OriginRole: b"origin",
            self.ThinkingRole: b"thinking",
            self.ThinkingSecondsRole: b"thinkingSeconds",
            self.VersionsRole: b"versions",
            self.CutOffRole: b"cutOff",
            self.DetailsNameRole: b"detailsName",
        }

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        m = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, self.ContentRole):
            return m.content
        if role == self.IdRole:
            return m.id
        if role == self.RoleRole:
            return m.role
        if role == self.StatusRole:
            return m.status
        if role == self.DetailsRole:
            return origin_details(m) if m.role == "assistant" and m.status != "streaming" else ""
        if role == self.OriginRole:
            return (m.origin or ("cloud" if m.engine == "cloud" else "local")) if m.role == "assistant" else ""
        if role == self.ErrorRole:
            return m.error or ""
        if role == self.ThinkingRole:
            return m.thinking
        if role == self.ThinkingSecondsRole:
            return m.thinking_s
        if role == self.VersionsRole:
            return self._versions.get(m.id)
        if role == self.CutOffRole:
            return m.cut_off
        if role == self.DetailsNameRole:
            return details_name(m) if m.role == "assistant" else ""
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = "You" if m.role == "user" else "Assistant"
            return f"{who}: {m.content}"
        return None

    def set_versions(self, versions: dict[int, tuple[int, int]]) -> None:
        """Which messages have versions: message id -> (shown, count)."""
        changed = {i for i in set(versions) | set(self._versions) if versions.get(i) != self._versions.get(i)}
        self._versions = dict(versions)
        for i, m in enumerate(self._rows):
            if m.id in changed:
                self.dataChanged.emit(self.index(i), self.index(i), [self.VersionsRole])

    def message_at(self, row: int) -> StoredMessage | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def messages(self) -> list[StoredMessage]:
        return list(self._rows)

    def set_messages(self, rows: list[StoredMessage]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def sync(self, rows: list[StoredMessage]) -> None:
        """Make the model equal to `rows`, touching only rows that differ."""
        common = min(len(rows), len(self._rows))
        for i in range(common):
            if self._rows[i] != rows[i]:
                self._rows[i] = rows[i]
                idx = self.index(i)
                self.dataChanged.emit(idx, idx)
        if len(self._rows) > len(rows):
            self.beginRemoveRows(QModelIndex(), len(rows), len(self._rows) - 1)
            del self._rows[len(rows):]
            self.endRemoveRows()
        elif len(rows) > len(self._rows):
            self.beginInsertRows(QModelIndex(), len(self._rows), len(rows) - 1)
            self._rows.extend(rows[len(self._rows):])
            self.endInsertRows()

    def append(self, message: StoredMessage) -> int:
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(message)
        self.endInsertRows()
        return row

    def truncate(self, row: int) -> None:
        """Remove `row` and everything after it."""
        if row >= len(self._rows):
            return
        self.beginRemoveRows(QModelIndex(), row, len(self._rows) - 1)
        del self._rows[row:]
        self.endRemoveRows()

    def set_streaming_text(self, row: int, text: str, thinking: str = "", thinking_s: float | None = None) -> None:
        m = self._rows[row]
        if m.content != text or m.thinking != thinking:
            self._rows[row] = replace(m, content=text, thinking=thinking, thinking_s=thinking_s)
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, self.STREAMING_ROLES)
