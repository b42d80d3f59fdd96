"""Installed models for the model picker, with how each would run here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from assistant.core.names import short_model_name
from assistant.core.types import ModelRef

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class ModelEntry:
    ref: ModelRef
    runs_on: str  # "CPU", "CUDA", "Metal", "MLX", or why it cannot run
    can_run: bool


class InstalledModelsModel(QAbstractListModel):
    RefRole = Qt.ItemDataRole.UserRole + 1
    RunsOnRole = Qt.ItemDataRole.UserRole + 2
    CanRunRole = Qt.ItemDataRole.UserRole + 3
    PathRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ModelEntry] = []

    def roleNames(self) -> dict[int, bytes]:
        return {self.RefRole: b"ref", self.RunsOnRole: b"runsOn", self.CanRunRole: b"canRun", self.PathRole: b"path"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
        return base | Qt.ItemFlag.ItemIsEnabled if self._rows[index.row()].can_run else base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        remote = e.ref.format == "remote"  # on one of the user's own servers: runs_on is its name
        if role == Qt.ItemDataRole.DisplayRole:
            if remote:  # "gpu-box: qwen2.5-72b" / "gpu-box (not reachable)"
                return f"{e.runs_on}: {short_model_name(e.ref.display_name)}" if e.can_run else f"{e.ref.display_name}  ({e.runs_on})"
            return f"{short_model_name(e.ref.display_name)}  ({e.runs_on})"
        if role == Qt.ItemDataRole.ToolTipRole:
            if remote:
                return f"{e.ref.display_name}\non your server {e.runs_on}" if e.can_run else f"{e.ref.display_name}: {e.runs_on}"
            return f"{e.ref.display_name}\n{e.ref.path}"  # the full name and where the file is
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if remote:
                return f"{e.ref.display_name}, on your server {e.runs_on}" if e.can_run else f"{e.ref.display_name}, {e.runs_on}"
            return f"{e.ref.display_name}, runs on {e.runs_on}"
        return {
            self.RefRole: e.ref,
            self.RunsOnRole: e.runs_on,
            self.CanRunRole: e.can_run,
            self.PathRole: str(e.ref.path),
        }.get(role)

    def set_entries(self, rows: list[ModelEntry]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def entry_at(self, row: int) -> ModelEntry | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of_path(self, path: str) -> int:
        return next((i for i, e in enumerate(self._rows) if str(e.ref.path) == path), -1)
