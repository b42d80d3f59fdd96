"""The library's Downloads tab: the download host's queue as a table with a progress bar
per row, and Pause, Resume, Cancel for the selected download."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QVBoxLayout, QWidget

from assistant.ui.common.buttons import dialog_button
from assistant.ui.library.context import LibraryContext
from assistant.ui.library.models.downloads import DownloadsModel
from assistant.ui.library.widgets import ProgressDelegate, _selected_row, _table, watch_columns

# what each button can do to a download in each state (none of them with nothing selected)
CAN_PAUSE = {"queued", "checking", "downloading"}
CAN_RESUME = {"paused", "failed"}
CAN_CANCEL = {"queued", "checking", "downloading", "verifying", "paused", "failed"}


class DownloadsTab(QWidget):
    download_finished = Signal(str, object)  # download id, Path of the model

    def __init__(self, context: LibraryContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._host: Any = None  # the DownloadHost, once a download is queued
        self.downloads = DownloadsModel(self)  # replaced by the host's model on first use
        self.downloads_view = _table(self.downloads, "Downloads")
        self.downloads_view.setItemDelegateForColumn(1, ProgressDelegate(self.downloads_view))
        for col, width in ((1, 230), (2, 170), (3, 220)):
            self.downloads_view.horizontalHeader().resizeSection(col, width)
        self.pause_button = dialog_button("Pause", "Pause the download")
        self.resume_button = dialog_button("Resume", "Resume the download")
        self.cancel_button = dialog_button("Cancel", "Cancel the download")
        self.pause_button.clicked.connect(lambda: self._on_download_action("pause"))
        self.resume_button.clicked.connect(lambda: self._on_download_action("resume"))
        self.cancel_button.clicked.connect(lambda: self._on_download_action("cancel"))
        self.downloads_empty = QLabel("Nothing is downloading. Pick a model under Recommended or Search.")
        self.downloads_empty.setWordWrap(True)  # also the selected download's full message
        self.downloads_empty.setAccessibleName("Download status")
        row = QHBoxLayout()
        row.addWidget(self.downloads_empty, 1)
        for b in (self.pause_button, self.resume_button, self.cancel_button):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.downloads_view, 1)
        lay.addLayout(row)
        context.download_queued.connect(self._on_download_queued)
        self._watch()
        self._update_buttons()

    def _watch(self) -> None:
        self._set_stretch()
        self.downloads_view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.downloads.dataChanged.connect(lambda *_: self._update_buttons())
        self.downloads.rowsInserted.connect(lambda *_: self._update_buttons())
        self.downloads.modelReset.connect(self._update_buttons)

    def _set_stretch(self) -> None:
        h = self.downloads_view.horizontalHeader()
        h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)  # the status ("Failed: why") has the room that is left

    def _update_buttons(self) -> None:
        row = _selected_row(self.downloads_view)
        if row is None and self.downloads.rowCount() == 1:  # one download: it is the one meant
            self.downloads_view.selectRow(0)
            row = _selected_row(self.downloads_view)
        state = row.progress.state if row is not None else ""
        self.pause_button.setEnabled(state in CAN_PAUSE)
        self.resume_button.setEnabled(state in CAN_RESUME)
        self.cancel_button.setEnabled(state in CAN_CANCEL)
        if row is not None and row.progress.message and state in ("failed", "paused"):
            self.downloads_empty.setText(f"{self.downloads.cell(row, 3)}")

    def _on_download_queued(self, host: Any, _dl_id: str) -> None:
        if self._host is host:
            return
        self._host = host
        self.downloads = host.model
        self.downloads_view.setModel(host.model)
        watch_columns(self.downloads_view)
        self._watch()
        host.download_finished.connect(self.download_finished)
        host.progress_changed.connect(lambda *_: self._on_progress())
        self._update_buttons()

    def _on_progress(self) -> None:
        row = _selected_row(self.downloads_view)
        if row is None or row.progress.state not in ("failed", "paused"):
            self.downloads_empty.setText("")
        self._update_buttons()

    def _on_download_action(self, action: str) -> None:
        row = _selected_row(self.downloads_view)
        if row is None or self._host is None:
            return
        getattr(self._host, action)(row.download_id)
