"""The curated catalog with how each model fits this computer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from assistant.core.units import format_bytes
from assistant.library.catalog import CatalogEntry, CatalogFile
from assistant.library.fit import FitEstimate, FitLevel
from assistant.ui.common.table_model import RowTableModel

FIT_COLORS = {  # readable on light and dark bases
    FitLevel.GPU_FULL: "#2e7d32",
    FitLevel.GPU_PARTIAL: "#1565c0",
    FitLevel.CPU_ONLY: "#a15c00",
    FitLevel.NO_FIT: "#c62828",
}


@dataclass(frozen=True)
class CatalogRow:
    entry: CatalogEntry
    fits: tuple[tuple[CatalogFile, FitEstimate], ...]  # one per quantization
    recommended: bool = False

    @property
    def good_first(self) -> bool:
        """A good first model that fits here and answers at a comfortable pace (when known)."""
        d = self.default_fit
        if not self.entry.good_first or d is None or not d[1].fits:
            return False
        return d[1].speed is None or d[1].speed.comfortable

    @property
    def default_fit(self) -> tuple[CatalogFile, FitEstimate] | None:
        f = self.entry.default_file()
        return next((p for p in self.fits if p[0] == f), self.fits[0] if self.fits else None)


def _params(e: CatalogEntry) -> str:
    text = f"{e.params_b:g}B"
    return f"{text} ({e.active_params_b:g}B active)" if e.is_moe else text


VISION_MARK = "👁"  # a model that reads pictures


class CatalogModel(RowTableModel[CatalogRow]):
    # how it runs here second: visible without scrolling on a small screen
    columns = ("Model", "On this computer", "Size", "Licence", "Good at")
    FIT_COLUMN, SIZE_COLUMN, LICENCE_COLUMN, STRENGTHS_COLUMN = 1, 2, 3, 4
    EntryRole = Qt.ItemDataRole.UserRole + 10
    FitRole = Qt.ItemDataRole.UserRole + 11
    RecommendedRole = Qt.ItemDataRole.UserRole + 12
    GoodFirstRole = Qt.ItemDataRole.UserRole + 13
    extra_roles = {EntryRole: b"entry", FitRole: b"fit", RecommendedRole: b"recommended", GoodFirstRole: b"goodFirst"}

    def cell(self, row: CatalogRow, column: int) -> str:
        e = row.entry
        d = row.default_fit
        if column == 0:
            marks = []
            if row.recommended:
                marks.append("★ Recommended")
            elif row.good_first:  # the recommended pick is always a good first model: say it once
                marks.append("Good first model")
            eye = f" {VISION_MARK}" if e.reads_pictures else ""  # reads pictures (its projector downloads with it)
            return e.name + eye + (f"  ·  {' · '.join(marks)}" if marks else "")
        if column == self.SIZE_COLUMN:
            return f"{_params(e)}, {format_bytes(d[0].size_bytes)}" if d else _params(e)
        if column == self.LICENCE_COLUMN:
            return ("⚠ " if e.restrictive else "") + e.license_name  # the flag first: the name may be elided
        if column == self.STRENGTHS_COLUMN:  # the first three; all of them in the tooltip
            return ", ".join(e.strengths[:3]) + (", …" if len(e.strengths) > 3 else "")
        return d[1].label_short if d else ""  # of the default version; the others in the Version list

    def role_value(self, row: CatalogRow, column: int, role: int) -> Any:
        d = row.default_fit
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == self.FIT_COLUMN and d:
                return d[1].detail
            if column == self.LICENCE_COLUMN:
                return row.entry.license_note + ("\n" + "\n".join(row.entry.restrictions) if row.entry.restrictions else "")
            if column == 0:
                seeing = f"{VISION_MARK} Reads pictures: attach an image in the chat.\n" if row.entry.reads_pictures else ""
                return seeing + row.entry.summary
            if column == self.STRENGTHS_COLUMN:
                return ", ".join(row.entry.strengths)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == self.FIT_COLUMN and d:
            return QColor(FIT_COLORS[d[1].level])
        if role == Qt.ItemDataRole.FontRole and column == 0 and row.recommended:
            f = QFont()
            f.setBold(True)
            return f
        return {
            self.EntryRole: row.entry,
            self.FitRole: d[1] if d else None,
            self.RecommendedRole: row.recommended,
            self.GoodFirstRole: row.good_first,
        }.get(role)
