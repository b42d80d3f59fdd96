"""The download queue: one worker thread, one download at a time, pause / resume / cancel.

Plain Python. `on_progress` runs on the worker thread (or on the caller's thread for
state changes made there, such as cancelling a queued item): a GUI marshals it to its
own thread. Errors never escape the worker: an item ends "failed" with the error's
message (and the error object in `DownloadProgress.error`).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.errors import AssistantError
from assistant.library.download import Downloader, DownloadRequest
from assistant.library.download_support import DownloadCancelled, DownloadPaused, DownloadProgress

log = logging.getLogger(__name__)
_ACTIVE = ("checking", "downloading", "verifying")


@dataclass
class _Item:
    id: str
    progress: DownloadProgress
    cancel: threading.Event = field(default_factory=threading.Event)
    pause: threading.Event = field(default_factory=threading.Event)


class DownloadQueue:
    def __init__(
        self,
        models_dir: Path,
        on_progress: Callable[[DownloadProgress], None],
        endpoint: str | None = None,
        *,
        downloader: Downloader | None = None,
        token_source: Callable[[], str | None] | None = None,
    ) -> None:
        self.downloader = downloader or Downloader(models_dir, endpoint, token_source=token_source)
        self._on_progress = on_progress
        self._items: dict[str, _Item] = {}
        self._waiting: deque[str] = deque()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._current: str | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="download-queue", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- the public side
    def enqueue(self, req: DownloadRequest) -> str:
        with self._cond:
            item = self._find(req)
            if item is not None and item.progress.state not in ("done", "failed", "cancelled"):
                return item.id  # already queued or paused: the same download
            item = _Item(f"dl-{next(self._ids)}", DownloadProgress(req, "queued", message="Waiting"))
            self._items[item.id] = item
            self._waiting.append(item.id)
            self._cond.notify_all()
        self._emit(item, item.progress)
        return item.id

    def pause(self, download_id: str) -> None:
        with self._cond:
            item = self._items.get(download_id)
            if item is None:
                return
            if download_id == self._current:
                item.pause.set()  # the worker stops between chunks and reports "paused"
                return
            if item.progress.state != "queued":
                return
            self._waiting.remove(download_id)
            item.progress = replace(item.progress, state="paused", message="Paused")
        self._emit(item, item.progress)

    def resume(self, download_id: str) -> None:
        with self._cond:
            item = self._items.get(download_id)
            if item is None or item.progress.state not in ("paused", "failed"):
                return
            item.pause.clear()
            item.cancel.clear()
            item.progress = replace(item.progress, state="queued", message="Waiting", error=None)
            self._waiting.append(download_id)
            self._cond.notify_all()
        self._emit(item, item.progress)

    def cancel(self, download_id: str) -> None:
        """Stop and remove the partial files."""
        with self._cond:
            item = self._items.get(download_id)
            if item is None or item.progress.state in ("done", "cancelled"):
                return
            if download_id == self._current:
                item.cancel.set()  # the worker removes the partial
                return
            if download_id in self._waiting:
                self._waiting.remove(download_id)
            item.progress = replace(item.progress, state="cancelled", message="Cancelled", bytes_done=0)
        self.downloader.discard(item.progress.request)
        self._emit(item, item.progress)

    def items(self) -> list[DownloadProgress]:
        with self._cond:
            return [i.progress for i in self._items.values()]

    def ids(self) -> list[str]:
        with self._cond:
            return list(self._items)

    def resume_pending(self) -> list[str]:
        """After a restart: list the partials under models/.downloads as paused items."""
        added = []
        for req, done, total in self.downloader.pending():
            with self._cond:
                if self._find(req) is not None:
                    continue
                item = _Item(f"dl-{next(self._ids)}", DownloadProgress(
                    req, "paused", bytes_done=done, bytes_total=total, message="Paused (resume to continue)",
                ))
                self._items[item.id] = item
            added.append(item.id)
            self._emit(item, item.progress)
        return added

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._current is None and not self._waiting, timeout)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Pause the running download (its partial stays) and stop the worker."""
        with self._cond:
            self._stop = True
            if self._current is not None:
                self._items[self._current].pause.set()
            self._cond.notify_all()
        self._thread.join(timeout)

    # ---------------------------------------------------------------- the worker
    def _find(self, req: DownloadRequest) -> _Item | None:
        for item in reversed(list(self._items.values())):  # the newest attempt counts
            r = item.progress.request
            if (r.repo_id, list(r.filenames)) == (req.repo_id, list(req.filenames)):
                return item
        return None

    def _emit(self, item: _Item, progress: DownloadProgress) -> None:
        try:
            self._on_progress(progress)
        except Exception:  # a broken listener must not kill the queue
            log.exception("download progress listener failed")

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or bool(self._waiting))
                if self._stop:
                    return
                item = self._items[self._waiting.popleft()]
                self._current = item.id
            try:
                self._download(item)
            finally:
                with self._cond:
                    self._current = None
                    self._cond.notify_all()

    def _download(self, item: _Item) -> None:
        req = item.progress.request

        def report(p: DownloadProgress) -> None:
            item.progress = p
            self._emit(item, p)

        try:
            self.downloader.download(req, report, item.cancel, item.pause)
        except DownloadPaused:
            report(replace(item.progress, state="paused", message="Paused", speed_bps=0.0, eta_s=None))
        except DownloadCancelled:
            self.downloader.discard(req)
            report(replace(item.progress, state="cancelled", message="Cancelled", bytes_done=0,
                           speed_bps=0.0, eta_s=None))
        except AssistantError as exc:
            report(replace(item.progress, state="failed", message=exc.message, speed_bps=0.0, eta_s=None, error=exc))
        except Exception as exc:  # a bug: keep the worker alive, say what happened
            log.exception("download failed")
            report(replace(item.progress, state="failed", message=f"The download failed: {exc}",
                           speed_bps=0.0, eta_s=None, error=exc))
