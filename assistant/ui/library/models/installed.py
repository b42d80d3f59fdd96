"""Installed models with size on disk, format, quantization, licence and last use."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from assistant.core.units import format_bytes
from assistant.library.installed import InstalledModel
from assistant.library.usage import describe_last_used
from assistant.ui.common.table_model import RowTableModel


class LibraryInstalledModel(RowTableModel[InstalledModel]):
    columns = ("Model", "Size on disk", "Format", "Quantization", "Licence", "Last used")
    PathRole = Qt.ItemDataRole.UserRole + 40
    SizeRole = Qt.ItemDataRole.UserRole + 41
    extra_roles = {PathRole: b"path", SizeRole: b"size"}

    def cell(self, row: InstalledModel, column: int) -> str:
        return (
            row.name,
            format_bytes(row.size_bytes),
            row.format,
            row.quant or "unknown",
            row.license or "not stated",
            describe_last_used(row.last_used),
        )[column]

    def role_value(self, row: InstalledModel, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            src = f"\nFrom {row.repo_id}" if row.repo_id else ""
            return f"{row.path}{src}"
        return {self.PathRole: str(row.path), self.SizeRole: row.size_bytes}.get(role)
