"""Files are parsed in a child process, so a hostile file costs only that file.

One long-lived child (spawn) reads files one by one: starting a Python per file would cost
more than most files take to read. The child runs at low priority with a cap on its
address space (a zip bomb or a PDF that makes PDFium allocate without end hits the cap and
fails there); a file that takes longer than its time limit, or a child that dies (PDFium
crashes on a malformed file), ends that process: the file is reported as unreadable in plain
words, and the next file gets a new process.

Test hook read only by the child: ASSISTANT_TEST_PARSE_CRASH=TEXT ends the child with
SIGSEGV when a file whose name contains TEXT is read (a parser crash, as a bad PDF makes).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from pathlib import Path
from typing import Any

from assistant.documents.errors import DocumentError
from assistant.documents.types import ParsedFile
from assistant.engines.host_child import pack_error, unpack_error
from assistant.engines.host_exit import describe_exit

log = logging.getLogger(__name__)

CRASH_ENV = "ASSISTANT_TEST_PARSE_CRASH"
MEMORY_CAP_BYTES = 4 * 1024**3  # the child's address space: far above a real document's need
BASE_TIMEOUT_S = 60.0  # plus 1 s per MB: a 300 MB PDF may take minutes on a slow machine
START_TIMEOUT_S = 60.0


def time_limit(size: int) -> float:
    return BASE_TIMEOUT_S + size / 1024**2


def _child(conn: multiprocessing.connection.Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(10)  # indexing yields the CPU to the window and the chat model
    except (AttributeError, OSError):
        pass
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP_BYTES, MEMORY_CAP_BYTES))
    except (ImportError, ValueError, OSError):  # Windows; or a lower hard limit already set
        pass
    from assistant.documents.parse import parse_file

    crash = os.environ.get(CRASH_ENV)
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if msg[0] == "exit":
            os._exit(0)
        path = Path(msg[1])
        if crash and crash in path.name:
            os.kill(os.getpid(), signal.SIGSEGV)
        try:
            conn.send(("ok", parse_file(path)))
        except MemoryError:
            conn.send(("error", pack_error(DocumentError(
                f"{path.name} needed more memory than a document may take, so it was not read.",
                "It may be damaged or built to exhaust memory; if it is a real document, split it."))))
        except OSError as exc:
            conn.send(("error", pack_error(_os_error(path, exc))))
        except BaseException as exc:
            if not isinstance(exc, DocumentError):
                log.debug("parser failed on a file", exc_info=True)
                exc = DocumentError(f"{path.name} could not be read ({type(exc).__name__}).",
                                    "The file may be damaged. Open and save it again, then re-index.")
            conn.send(("error", pack_error(exc)))


def _os_error(path: Path, exc: OSError) -> DocumentError:
    import errno

    if exc.errno in (errno.EACCES, errno.EPERM):
        return DocumentError(f"{path.name} cannot be opened: permission denied.",
                             "Give your user read access to it, or remove it from the collection.")
    if exc.errno == errno.ENOENT:
        return DocumentError(f"{path.name} is gone (it was moved or deleted while being read).",
                             "It will be indexed again if it comes back.")
    return DocumentError(f"{path.name} could not be read ({exc.strerror or exc}).", "Check the disk and the file.")


class ParserHost:
    """The app's side: `parse(path)` returns a ParsedFile or raises DocumentError."""

    def __init__(self) -> None:
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_child, args=(child,), name="document parser", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent
        if not parent.poll(START_TIMEOUT_S):
            self.close()
            raise DocumentError("The document reader did not start.", "See the log for details.")
        try:
            parent.recv()
        except (EOFError, OSError):
            code = proc.exitcode
            self.close()
            raise DocumentError(f"The document reader could not start ({describe_exit(code)}).", "See the log.") from None

    def parse(self, path: Path, *, timeout_s: float | None = None) -> ParsedFile:
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise _os_error(path, exc) from None
        if self._proc is None or not self._proc.is_alive():
            self._start()
        conn, proc = self._conn, self._proc
        assert conn is not None and proc is not None
        limit = timeout_s if timeout_s is not None else time_limit(size)
        conn.send(("parse", str(path)))
        t0 = time.monotonic()
        ready = multiprocessing.connection.wait([conn, proc.sentinel], limit)
        if not ready:
            self._kill()
            raise DocumentError(f"Reading {path.name} took longer than {limit:.0f} s, so it was stopped.",
                                "The file may be damaged or built to stall readers; the other files were indexed.")
        try:
            msg = conn.recv() if conn.poll(0) else None
        except (EOFError, OSError):
            msg = None
        if msg is None:
            proc.join(5)
            code = proc.exitcode
            self._kill()
            log.warning("document parser died on a file after %.1f s: %s", time.monotonic() - t0, describe_exit(code))
            raise DocumentError(f"Reading {path.name} made the document reader stop ({describe_exit(code)}).",
                                "The file may be damaged; it was skipped and the other files were indexed.")
        if msg[0] == "error":
            raise unpack_error(msg[1])
        result: ParsedFile = msg[1]
        return result

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def close(self) -> None:
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            try:
                self._conn.send(("exit",))
                self._proc.join(2)
            except (OSError, ValueError):
                pass
        self._kill()

    def __enter__(self) -> "ParserHost":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
