"""What the model library's tabs share, in one object the window hands to each tab:
paths, settings and the Hub's address; background jobs on the thread pool (and so
whether the library is busy); the licence confirmation; queueing a download."""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from assistant import network
from assistant.paths import Paths
from assistant.settings import Settings
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.library.widgets import confirm_license


class LibraryContext(QObject):
    download_queued = Signal(object, str)  # DownloadHost, download id

    def __init__(self, paths: Paths, settings: Settings, downloads: Callable[[], Any],
                 endpoint: str | None, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.paths, self.settings = paths, settings
        self.endpoint = endpoint  # the Hub's address; None: huggingface_hub's default (tests: a local one)
        self._downloads_host = downloads  # () -> DownloadHost, created on first use
        self._dialog_parent = dialog_parent  # parent of the message boxes shown from here
        self._jobs: list[Job] = []
        self.license_box: QMessageBox | None = None  # while the licence is shown (tests click it)

    # -- background work ---------------------------------------------------------------
    def run(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[Any], None] | None = None) -> None:
        """Run `fn` on the thread pool; `done` or `failed` (default: a warning) gets its outcome."""
        def finish(job: Job) -> None:
            if job in self._jobs:
                self._jobs.remove(job)

        self._jobs.append(run_job(fn, done, failed or self._on_job_failed, on_end=finish))

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def _on_job_failed(self, exc: Exception) -> None:
        QMessageBox.warning(self._dialog_parent, "Something went wrong", str(exc))

    # -- downloads ---------------------------------------------------------------------
    def license_ok(self, name: str, lic: str, url: str, note: str, restrictions: tuple[str, ...]) -> bool:
        """Show the licence before a download; True when the user accepts it."""
        self.license_box = confirm_license(self._dialog_parent, name, lic, url, note, restrictions)
        self.license_box.exec()
        clicked = self.license_box.clickedButton()
        ok = clicked is not None and self.license_box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole
        self.license_box = None
        return ok

    def enqueue(self, request: Any) -> str | None:
        """Queue a DownloadRequest on the download host; its id, or None in Offline mode."""
        if network.is_offline():
            QMessageBox.information(self._dialog_parent, "Offline", "Offline mode is on: downloads are off.")
            return None
        host = self._downloads_host()
        dl_id = host.enqueue(request)
        self.download_queued.emit(host, dl_id)
        return dl_id
