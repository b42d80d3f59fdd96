"""The download queue: one row per download with its progress, speed and time left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

from assistant.core.units import format_bytes
from assistant.ui.common.table_model import RowTableModel

STATE_TEXT = {
    "queued": "Waiting", "checking": "Checking", "downloading": "Downloading", "verifying": "Verifying",
    "paused": "Paused", "done": "Done", "failed": "Failed", "cancelled": "Cancelled",
}


def eta_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s} s left"
    if s < 3600:
        return f"{s // 60} min left"
    return f"{s // 3600} h {s % 3600 // 60} min left"


@dataclass(frozen=True)
class DownloadRow:
    download_id: str
    progress: Any  # library.download.DownloadProgress

    @property
    def percent(self) -> int:
        p = self.progress
        return int(100 * p.bytes_done / p.bytes_total) if p.bytes_total else 0


class DownloadsModel(RowTableModel[DownloadRow]):
    columns = ("Model", "Progress", "Speed", "Status")
    IdRole = Qt.ItemDataRole.UserRole + 30
    StateRole = Qt.ItemDataRole.UserRole + 31
    PercentRole = Qt.ItemDataRole.UserRole + 32
    ProgressRole = Qt.ItemDataRole.UserRole + 33
    extra_roles = {IdRole: b"downloadId", StateRole: b"state", PercentRole: b"percent", ProgressRole: b"progress"}

    def cell(self, row: DownloadRow, column: int) -> str:
        p = row.progress
        if column == 0:
            name = p.request.filenames[0] if p.request.filenames else p.request.repo_id
            return f"{name} ({p.request.repo_id})"
        if column == 1:
            total = format_bytes(p.bytes_total) if p.bytes_total else "?"
            return f"{row.percent}% · {format_bytes(p.bytes_done)} of {total}"
        if column == 2:
            if p.state != "downloading" or not p.speed_bps:
                return ""
            return f"{format_bytes(p.speed_bps)}/s · {eta_text(p.eta_s)}".rstrip(" ·")
        text = STATE_TEXT.get(p.state, p.state)
        return f"{text}: {p.message}" if p.message and p.state in ("failed", "paused") else text

    def role_value(self, row: DownloadRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.progress.message or None
        return {
            self.IdRole: row.download_id,
            self.StateRole: row.progress.state,
            self.PercentRole: row.percent,
            self.ProgressRole: row.progress,
        }.get(role)

    def upsert(self, download_id: str, progress: Any) -> None:
        i = self.find(lambda r: r.download_id == download_id)
        if i < 0:
            self.append_row(DownloadRow(download_id, progress))
        else:
            self.update_row(i, DownloadRow(download_id, progress))
