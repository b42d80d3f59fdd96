"""One long-lived QThread and the worker object that lives on it.

The engine host (local models) and the cloud host share this: requests go to the
worker by queued signals, results come back the same way, and Stop is the worker's
threading.Event, set directly from the GUI thread so it never waits in a queue.
Request ids come from one counter for every host, so a result can never be taken
for another host's.
"""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QObject, QThread

log = logging.getLogger(__name__)

_request_ids = itertools.count(1)


class ThreadHost(QObject):
    def __init__(self, name: str, worker: QObject, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = worker
        self.worker.moveToThread(self.thread)
        self.thread.start()

    @property
    def cancel(self) -> threading.Event:
        return self.worker.cancel  # type: ignore[attr-defined,no-any-return]

    def next_request(self) -> int:
        """A new request id; clears Stop for the request about to start."""
        self.cancel.clear()
        return next(_request_ids)

    def stop(self) -> None:
        self.cancel.set()

    def _before_quit(self) -> None:
        """Queued on the worker thread before it ends (the engine host unloads here)."""

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop any answer, let the worker tidy up on its own thread, and end the thread."""
        self.cancel.set()
        self._before_quit()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("%s thread did not stop within %d ms", self.thread.objectName(), timeout_ms)
