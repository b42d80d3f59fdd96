"""The user's own servers as a Qt item model: name, address, key or not, and health."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.engines.private import PrivateServer

Index = QModelIndex | QPersistentModelIndex


class PrivateServersModel(QAbstractListModel):
    NameRole = Qt.ItemDataRole.UserRole + 1
    UrlRole = Qt.ItemDataRole.UserRole + 2
    HasKeyRole = Qt.ItemDataRole.UserRole + 3
    HealthRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PrivateServer] = []
        self._health: dict[str, str] = {}

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802 (Qt override)
        return {self.NameRole: b"name", self.UrlRole: b"url", self.HasKeyRole: b"hasKey", self.HealthRole: b"health"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        s = self._rows[index.row()]
        health = self._health.get(s.name, "not checked yet")
        if role == Qt.ItemDataRole.DisplayRole:
            mark = "✓ " if health.startswith("answers") else "" if health.endswith(("…", "yet")) else "✗ "
            return f"{s.name} — {s.base_url}" + (" (key)" if s.has_key else "") + f"\n    {mark}{health}"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{s.name} at {s.base_url}, {'with' if s.has_key else 'without'} a key: {health}"
        return {self.NameRole: s.name, self.UrlRole: s.base_url, self.HasKeyRole: s.has_key,
                self.HealthRole: health}.get(role)

    def servers(self) -> list[PrivateServer]:
        return list(self._rows)

    def set_servers(self, servers: list[PrivateServer]) -> None:
        self.beginResetModel()
        self._rows = list(servers)
        self.endResetModel()

    def add(self, server: PrivateServer) -> None:
        """Add, or replace the server of the same name."""
        for i, s in enumerate(self._rows):
            if s.name.lower() == server.name.lower():
                self._rows[i] = server
                self._health.pop(s.name, None)
                self.dataChanged.emit(self.index(i), self.index(i))
                return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(server)
        self.endInsertRows()

    def remove(self, row: int) -> PrivateServer | None:
        if not 0 <= row < len(self._rows):
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        server = self._rows.pop(row)
        self.endRemoveRows()
        return server

    def set_health(self, name: str, text: str) -> None:
        self._health[name] = text
        for i, s in enumerate(self._rows):
            if s.name == name:
                self.dataChanged.emit(self.index(i), self.index(i))

    def set_key(self, name: str, has_key: bool) -> None:
        for i, s in enumerate(self._rows):
            if s.name == name:
                self._rows[i] = replace(s, has_key=has_key)
                self.dataChanged.emit(self.index(i), self.index(i))
