"""Hugging Face search results, and the quantizations of one repo with their fit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from assistant.core.units import format_bytes
from assistant.library.fit import FitEstimate
from assistant.ui.common.table_model import RowTableModel
from assistant.ui.library.models.catalog import FIT_COLORS


class HubResultsModel(RowTableModel[Any]):  # rows: library.hub.HubRepo
    columns = ("Repository", "Downloads", "Likes", "Licence")
    RepoIdRole = Qt.ItemDataRole.UserRole + 20
    LicenseRole = Qt.ItemDataRole.UserRole + 21
    extra_roles = {RepoIdRole: b"repoId", LicenseRole: b"license"}

    def cell(self, row: Any, column: int) -> str:
        if column == 0:
            return row.repo_id
        if column == 1:
            return f"{row.downloads:,}"
        if column == 2:
            return f"{row.likes:,}\u2002"  # right-aligned: a gap before the licence beside it
        return row.license_id or "not stated"

    def role_value(self, row: Any, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return {self.RepoIdRole: row.repo_id, self.LicenseRole: row.license_id}.get(role)


@dataclass(frozen=True)
class QuantRow:
    quant: Any  # library.hub.HubQuant
    fit: FitEstimate | None


class HubFilesModel(RowTableModel[QuantRow]):
    columns = ("Quantization", "Size", "On this computer", "Files")  # the speed before the long file names
    QuantRole = Qt.ItemDataRole.UserRole + 22
    FitRole = Qt.ItemDataRole.UserRole + 23
    extra_roles = {QuantRole: b"quant", FitRole: b"fit"}

    def cell(self, row: QuantRow, column: int) -> str:
        q = row.quant
        if column == 0:
            return q.quant or "unknown"
        if column == 3:
            first = q.files[0].filename if q.files else ""
            first += f" (+{len(q.files) - 1} parts)" if len(q.files) > 1 else ""
            return first + (f" + {q.projector.filename.rsplit('/', 1)[-1]}" if q.projector else "")
        if column == 1:  # with a vision projector: both, since both download and load
            proj = getattr(q, "projector", None)
            return f"{format_bytes(q.size)} + {format_bytes(proj.size)} 👁" if proj else format_bytes(q.size)
        return row.fit.label_short if row.fit else "unknown"

    def role_value(self, row: QuantRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and column == 2 and row.fit:
            return row.fit.detail
        if role == Qt.ItemDataRole.ToolTipRole and column in (1, 3) and getattr(row.quant, "projector", None):
            p = row.quant.projector
            return f"Reads pictures: its vision projector {p.filename} ({format_bytes(p.size)}) downloads with it."
        if role == Qt.ItemDataRole.ForegroundRole and column == 2 and row.fit:
            return QColor(FIT_COLORS[row.fit.level])
        return {self.QuantRole: row.quant, self.FitRole: row.fit}.get(role)
