"""How an engine's child process ended, in plain words: its exit status, and the last
telling line of its stderr (GGML_ABORT's message, faulthandler's dump), copied into the
app's log."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any, Callable

import psutil

log = logging.getLogger("assistant.engines.host")


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = ""
        what = {"SIGSEGV": "a memory fault", "SIGABRT": "an abort", "SIGKILL": "killed", "SIGBUS": "a bus error",
                "SIGILL": "an illegal instruction", "SIGFPE": "an arithmetic fault"}.get(name, name)
        return f"signal {-exitcode}" + (f", {what}" if what else "")
    return f"exit code {exitcode}"


class Crash(Exception):
    """Internal: the child died; carries the exit code and its last words."""

    def __init__(self, exitcode: int | None, last_words: str) -> None:
        super().__init__(exitcode)
        self.exitcode = exitcode
        self.last_words = last_words


def remove_stale_stderr_files(log_dir: Path) -> None:
    """stderr files left by an app that was itself killed (its pid is in the name)."""
    for f in log_dir.glob("engine-*-*.stderr"):
        try:
            owner = int(f.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if owner != os.getpid() and not psutil.pid_exists(owner):
            f.unlink(missing_ok=True)


def collect_stderr(path: Path | None) -> str:
    """Copy the child's stderr file into the log; return its most telling last line."""
    if path is None:
        return ""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16384))
            text = fh.read().decode("utf-8", "replace")
        path.unlink()
    except OSError:
        return ""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if lines:
        log.info("engine process stderr:\n%s", "\n".join(lines[-60:]))
    telling = [ln.strip() for ln in lines
               if not ln.startswith((" ", "\t", "Fatal Python error", "Current thread", "Thread 0x", "Extension modules",
                                     "Stack (most recent", "<no Python frame>", "Current thread's C stack"))
               and ("error" in ln.lower() or "assert" in ln.lower() or "ggml" in ln.lower() or "abort" in ln.lower())]
    return telling[-1][:300] if telling else ""


class ExitWatch:
    """Says when an engine's process ends on its own while idle (the OOM killer, a crash
    between answers): the receiver thread (host_requests.py) sees the pipe close and, when
    no request was waiting to hear it, tells `on_exit` at once, so the app can say it then,
    and the next request loads the model again. A deliberate end (unload, a stop that timed
    out) and a death during an answer (the answer reports it) are not reported here."""

    def __init__(self) -> None:
        self.on_exit: Callable[[str], None] | None = None  # called from the receiver's thread
        self._expected: set[int] = set()

    def expect(self, proc: Any) -> None:
        """`proc` is being ended on purpose: not worth a word."""
        if proc is not None:
            self._expected.add(proc.pid)

    def died_idle(self, proc: Any, crash: Crash) -> None:
        if proc.pid in self._expected:
            self._expected.discard(proc.pid)
            return
        callback = self.on_exit
        if callback is not None:
            log.error("engine process %s ended while idle: %s", proc.pid, describe_exit(crash.exitcode))
            callback(describe_exit(crash.exitcode))
