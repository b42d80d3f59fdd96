"""Run a plain function on the thread pool and get its result back on the GUI thread."""

from __future__ import annotations

import logging
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from assistant.errors import AssistantError

log = logging.getLogger(__name__)


class _Signals(QObject):
    succeeded = Signal(object)
    failed = Signal(object)  # AssistantError, or another exception


class Job(QRunnable):
    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.signals = _Signals()
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except AssistantError as exc:
            self.signals.failed.emit(exc)
            return
        except Exception as exc:  # a bug must still end the "working" state in the GUI
            log.exception("background job failed")
            self.signals.failed.emit(exc)
            return
        self.signals.succeeded.emit(result)


def run_job(fn: Callable[[], Any], on_done: Callable[[Any], None], on_error: Callable[[Any], None] | None = None,
            on_end: Callable[[Job], None] | None = None, owner: QObject | None = None) -> Job:
    """Start `fn` on the pool. Every callback is connected before it starts (a fast job
    would otherwise emit before a late connection exists); `on_end` runs after either.
    With an `owner` (the widget the callbacks touch) they are dropped once it is deleted:
    a keyring call may outlive the dialog that asked."""
    if owner is not None:
        on_done, on_error, on_end = (_while_alive(owner, f) for f in (on_done, on_error, on_end))
    job = Job(fn)
    job.setAutoDelete(False)  # the caller keeps it until its signals are delivered
    job.signals.succeeded.connect(on_done)
    if on_error is not None:
        job.signals.failed.connect(on_error)
    if on_end is not None:
        job.signals.succeeded.connect(lambda _r: on_end(job))
        job.signals.failed.connect(lambda _e: on_end(job))
    QThreadPool.globalInstance().start(job)
    return job


def _while_alive(owner: QObject, fn: Any) -> Any:
    if fn is None:
        return None

    def call(arg: Any) -> None:
        if shiboken6.isValid(owner):
            fn(arg)

    return call
