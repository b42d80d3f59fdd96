"""Indexing and searching off the GUI thread: one QThread per job, progress as queued signals."""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from assistant.errors import AssistantError


class DocumentsJob(QThread):
    progressed = Signal(int, int, str)  # files done, files total, current file
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[threading.Event, Callable[[Any], None]], Any], parent: Any = None) -> None:
        super().__init__(parent)
        self._work = work
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            result = self._work(self.cancel, lambda p: self.progressed.emit(p.files_done, p.files_total, p.current))
        except AssistantError as exc:
            self.failed.emit(str(exc))
            return
        self.succeeded.emit(result)
