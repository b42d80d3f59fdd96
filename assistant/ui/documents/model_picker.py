"""The Documents dialog's "Embedding model" choice: each catalog embedding model with its
language, size and whether it is installed, the GGUF file in use when it is none of them,
and "A GGUF file…". The combo always shows the model in use; choosing another one is the
dialog's to carry out (download, say what re-embedding costs, re-embed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QByteArray, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from assistant.core.units import format_bytes
from assistant.documents.model_choice import EmbeddingChoice

Index = QModelIndex | QPersistentModelIndex
BROWSE = "A GGUF file…"


@dataclass(frozen=True)
class ModelRow:
    kind: str  # "catalog", "file" (a GGUF chosen by path), "browse"
    choice: EmbeddingChoice | None = None
    path: Path | None = None  # the file, when installed (catalog) or chosen (file)

    def text(self) -> str:
        if self.kind == "catalog" and self.choice is not None:
            return self.choice.label()
        if self.kind == "file" and self.path is not None:
            return f"{self.path.name} — your file"
        return BROWSE


class EmbeddingModelsModel(QAbstractListModel):
    RowRole = Qt.ItemDataRole.UserRole + 1
    LanguageRole = Qt.ItemDataRole.UserRole + 2
    SizeRole = Qt.ItemDataRole.UserRole + 3
    InstalledRole = Qt.ItemDataRole.UserRole + 4
    PathRole = Qt.ItemDataRole.UserRole + 5
    KindRole = Qt.ItemDataRole.UserRole + 6

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ModelRow] = [ModelRow("browse")]

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802 (Qt override)
        names = {Qt.ItemDataRole.DisplayRole: b"display", self.RowRole: b"row", self.LanguageRole: b"language",
                 self.SizeRole: b"size", self.InstalledRole: b"installed", self.PathRole: b"path",
                 self.KindRole: b"kind"}
        return {int(k): QByteArray(v) for k, v in names.items()}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        c = r.choice
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return r.text()
        if role == Qt.ItemDataRole.ToolTipRole:
            if c is not None:
                e = c.entry
                return (f"{e.summary}\n{e.license_name}; {format_bytes(c.size_bytes)}"
                        + (f"\n{c.installed}" if c.installed else "\nNot installed: choosing it offers the download."))
            return str(r.path) if r.path else "Choose a GGUF embedding model on this computer"
        if role == self.RowRole:
            return r
        if role == self.LanguageRole:
            return c.language if c else None
        if role == self.SizeRole:
            return c.size_bytes if c else None
        if role == self.InstalledRole:
            return r.path is not None
        if role == self.PathRole:
            return str(r.path) if r.path else None
        if role == self.KindRole:
            return r.kind
        return None

    def set_rows(self, choices: list[EmbeddingChoice], current: Path | None) -> None:
        rows = [ModelRow("catalog", c, c.installed) for c in choices]
        if current is not None and not any(r.path == current for r in rows):
            rows.append(ModelRow("file", None, current))
        rows.append(ModelRow("browse"))
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row_at(self, i: int) -> ModelRow | None:
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def index_of(self, path: Path | None) -> int:
        return next((i for i, r in enumerate(self._rows) if path is not None and r.path == path), -1)


class ModelPicker(QWidget):
    """"Embedding model: [BGE small English v1.5 — English, 36.7 MB, installed ▾]" (Alt+M)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.models = EmbeddingModelsModel(self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("Embedding &model:", self)
        self.combo = QComboBox(self)
        self.combo.setModel(self.models)
        self.combo.setAccessibleName("Embedding model")
        # long names are elided, not pushing the dialog past a small screen's edge
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(24)
        self.label.setBuddy(self.combo)
        lay.addWidget(self.label)
        lay.addWidget(self.combo, 1)

    def show_models(self, choices: list[EmbeddingChoice], current: Path | None) -> None:
        """Fill the list and show the model in use (nothing selected when none is)."""
        self.combo.blockSignals(True)
        self.models.set_rows(choices, current)
        self.combo.setCurrentIndex(self.models.index_of(current))
        self.combo.blockSignals(False)

    def texts(self) -> list[str]:
        return [self.combo.itemText(i) for i in range(self.combo.count())]
