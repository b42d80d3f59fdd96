"""The download queue for the GUI: DownloadQueue (plain Python, one worker thread) calls
back on its own thread; here those calls become queued signals on the GUI thread,
batched on a 40 ms timer so a fast download does not repaint per chunk."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from assistant.library.download_queue import DownloadQueue
from assistant.ui.library.models.downloads import DownloadsModel

log = logging.getLogger(__name__)

BATCH_MS = 40
FINAL_STATES = ("done", "failed", "cancelled")


class DownloadHost(QObject):
    progress_changed = Signal(str, object)  # download id, DownloadProgress
    download_finished = Signal(str, object)  # download id, Path of the model
    download_failed = Signal(str, str)  # download id, message
    _poked = Signal()  # from the queue's thread: "something new to show"

    def __init__(self, models_dir: Path, endpoint: str | None = None, parent: QObject | None = None, *,
                 token_source: Callable[[], str | None] | None = None) -> None:
        super().__init__(parent)

        self.model = DownloadsModel(self)
        self._lock = threading.Lock()
        self._latest: dict[int, Any] = {}  # id(request) -> newest DownloadProgress
        self._ids: dict[int, str] = {}  # id(request) -> download id
        self._requests: dict[str, Any] = {}  # download id -> request (keeps id(request) stable)
        self._timer = QTimer(self, singleShot=True, interval=BATCH_MS)
        self._timer.timeout.connect(self._on_flush)
        self._poked.connect(self._on_poked)  # queued: emitted from another thread
        self.queue = DownloadQueue(models_dir, self._on_queue_progress, endpoint=endpoint, token_source=token_source)
        # partials left by an earlier run come back as paused rows (disk only: no network)
        try:
            self.queue.resume_pending()
        except Exception:  # an odd partial must not stop the library from opening
            log.exception("could not list unfinished downloads")
        for dl_id, progress in zip(self.queue.ids(), self.queue.items()):
            self._ids[id(progress.request)] = dl_id
            self._requests[dl_id] = progress.request

    # -- the queue's thread ------------------------------------------------------------
    def _on_queue_progress(self, progress: Any) -> None:
        with self._lock:
            first = not self._latest
            self._latest[id(progress.request)] = progress
        if first:
            self._poked.emit()

    # -- GUI thread --------------------------------------------------------------------------
    @Slot()
    def _on_poked(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _on_flush(self) -> None:
        with self._lock:
            batch, self._latest = self._latest, {}
        for key, progress in batch.items():
            dl_id = self._ids.get(key)
            if dl_id is None:  # progress before enqueue returned: keep for the next tick
                with self._lock:
                    self._latest.setdefault(key, progress)
                self._timer.start()
                continue
            self.model.upsert(dl_id, progress)
            self.progress_changed.emit(dl_id, progress)
            if progress.state == "done" and progress.result_path is not None:
                self.download_finished.emit(dl_id, Path(progress.result_path))
            elif progress.state == "failed":
                self.download_failed.emit(dl_id, progress.message or "The download failed.")

    def enqueue(self, request: Any) -> str:
        dl_id = self.queue.enqueue(request)
        self._ids[id(request)] = dl_id
        self._requests[dl_id] = request
        if not self._timer.isActive():
            self._timer.start()
        return dl_id

    def pause(self, dl_id: str) -> None:
        self.queue.pause(dl_id)

    def resume(self, dl_id: str) -> None:
        self.queue.resume(dl_id)

    def cancel(self, dl_id: str) -> None:
        self.queue.cancel(dl_id)

    def shutdown(self) -> None:
        self._timer.stop()
        try:
            self.queue.shutdown()
        except Exception:  # shutting down must not stop the app from closing
            log.exception("download queue shutdown failed")
