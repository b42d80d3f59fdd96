"""Passing a stop on to the engine's process the moment it is asked for.

The caller's stop is a threading.Event. Looking at it every 10 ms meant a hundred
wake-ups a second of the app's process while tokens stream, and on a machine whose
cores all compute, each wake-up takes a core from llama.cpp's threads
(bench/engine_throughput.py). A thread blocked in the event's wait() is woken by set()
itself: the stop goes at once, and the stream waits on the pipe alone.
"""

from __future__ import annotations

import threading
from typing import Callable

WATCH_S = 1.0  # how soon a relay notices that its answer ended without a stop (it then exits)


class StopRelay:
    """Calls send(rid) once, as soon as `cancel` is set, unless end() came first."""

    def __init__(self, cancel: threading.Event, send: Callable[[int], None], rid: int) -> None:
        self.rid = rid  # a retried answer has a new id
        self._cancel, self._send = cancel, send
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stop relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._ended.is_set():
            if self._cancel.wait(WATCH_S):
                if not self._ended.is_set():
                    self._send(self.rid)
                return

    def end(self) -> None:
        self._ended.set()
