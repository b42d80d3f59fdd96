"""The embedding model's own process, and the proxy the app holds.

As with chat models (engines/host.py), llama.cpp's native code runs in a child process:
a crash there ends the child, and the caller gets an `EngineCrashedError` in plain words;
the next call starts a new process. The child runs at a lower priority (indexing must not
take the CPU from the window or the chat model) and installs the app's Offline-mode guard.

Messages (pickled tuples over one Pipe): ("load", path, n_threads), ("embed", id, texts),
("count", id, texts), ("exit",) to the child; ("ready",), ("loaded", facts),
("result", id, value), ("error", id, packed error) back.

`embed` sends texts in batches of BATCH_TEXTS so that a cancel is honoured between
batches and the pipe never carries one huge message. Test hook read only by the child:
ASSISTANT_TEST_EMBED_CRASH=N ends the child with SIGSEGV at its Nth embed request.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assistant import network
from assistant.engines.host_child import pack_error, unpack_error
from assistant.engines.host_exit import collect_stderr, describe_exit
from assistant.errors import EngineCrashedError, EngineError
from assistant.paths import get_paths

log = logging.getLogger(__name__)

CRASH_ENV = "ASSISTANT_TEST_EMBED_CRASH"
BATCH_TEXTS = 64
START_TIMEOUT_S = 120.0
LOAD_TIMEOUT_S = 300.0
CALL_TIMEOUT_S = 600.0  # one batch of texts; a stuck child is ended after this
NICENESS = 5


@dataclass(frozen=True)
class _Config:
    offline: bool
    stderr_file: str | None
    niceness: int


def _child(conn: multiprocessing.connection.Connection, config: _Config) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.stderr_file:
        fd = os.open(config.stderr_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
    import faulthandler

    faulthandler.enable()
    if config.niceness:
        try:
            os.nice(config.niceness)
        except (AttributeError, OSError):
            pass
    network.install()
    network.set_offline(config.offline)
    from assistant.engines.embedding import LlamaEmbedder

    engine = LlamaEmbedder()
    crash_at = int(os.environ.get(CRASH_ENV) or 0)
    embeds = 0
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        kind = msg[0]
        rid = msg[1] if len(msg) > 1 and isinstance(msg[1], int) else 0
        try:
            if kind == "exit":
                os._exit(0)
            elif kind == "offline":
                network.set_offline(bool(msg[1]))
            elif kind == "load":
                engine.load(Path(msg[1]), n_threads=int(msg[2]))
                conn.send(("loaded", {"dim": engine.dim, "max_tokens": engine.max_tokens, "name": engine.model_name}))
            elif kind == "embed":
                embeds += 1
                if crash_at and embeds >= crash_at:
                    os.kill(os.getpid(), signal.SIGSEGV)
                conn.send(("result", rid, engine.embed(msg[2], msg[3] if len(msg) > 3 else None)))
            elif kind == "count":
                conn.send(("result", rid, engine.count_tokens(msg[2])))
        except BaseException as exc:
            conn.send(("error", rid, pack_error(exc)))


class EmbeddingProxy:
    """An embedding model in a child process of its own. Thread-safe: one call at a time."""

    name = "llama.cpp"

    def __init__(self, *, niceness: int = NICENESS) -> None:
        self.niceness = niceness
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._stderr: Path | None = None
        self._path: Path | None = None
        self._threads = 0
        self._lock = threading.RLock()
        self._ids = 0
        self._offline_sent = False
        self.dim = 0
        self.max_tokens = 0
        self.model_name = ""

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- life ----------------------------------------------------------------------
    def load(self, path: Path, *, n_threads: int = 0) -> None:
        with self._lock:
            self.unload()
            self._path, self._threads = Path(path), n_threads
            self._start_and_load()

    def _start_and_load(self) -> None:
        assert self._path is not None
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        paths = get_paths()
        stderr: Path | None = paths.log_dir / f"embedding-{os.getpid()}-{time.monotonic_ns()}.stderr"
        try:
            paths.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError:
            stderr = None
        self._offline_sent = network.is_offline()
        config = _Config(self._offline_sent, str(stderr) if stderr else None, self.niceness)
        proc = ctx.Process(target=_child, args=(child, config), name="embedding engine", daemon=True)
        proc.start()
        child.close()
        self._proc, self._conn, self._stderr = proc, parent, stderr
        self._wait_for("ready", START_TIMEOUT_S, "starting")
        self._send(("load", str(self._path), self._threads))
        facts = self._wait_for("loaded", LOAD_TIMEOUT_S, "loading")[1]
        self.dim, self.max_tokens, self.model_name = int(facts["dim"]), int(facts["max_tokens"]), str(facts["name"])
        log.info("embedding engine %s loaded %s (dim %d)", proc.pid, self._path.name, self.dim)

    def _send(self, msg: tuple[Any, ...]) -> None:
        assert self._conn is not None
        try:
            offline = network.is_offline()
            if offline != self._offline_sent:
                self._conn.send(("offline", offline))
                self._offline_sent = offline
            self._conn.send(msg)
        except (OSError, ValueError):
            raise self._crashed("embedding") from None

    def _wait_for(self, kind: str, timeout: float, phase: str, rid: int | None = None) -> tuple[Any, ...]:
        conn, proc = self._conn, self._proc
        assert conn is not None and proc is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise EngineError(f"The embedding model made no progress {phase} for {timeout:.0f} s, so it was stopped.",
                                  "Try again; if it keeps happening, choose another embedding model.")
            if not multiprocessing.connection.wait([conn, proc.sentinel], left):
                continue
            try:
                if not conn.poll(0):
                    raise EOFError
                msg = conn.recv()
            except (EOFError, OSError):
                raise self._crashed(phase) from None
            if msg[0] == "error" and (rid is None or msg[1] == rid):
                err = unpack_error(msg[2])
                if phase in ("starting", "loading"):
                    self._kill()
                raise err
            if msg[0] == kind and (rid is None or msg[1] == rid):
                return msg

    def _crashed(self, phase: str) -> EngineCrashedError:
        proc = self._proc
        if proc is not None:
            proc.join(5)
        code = proc.exitcode if proc is not None else None
        self._kill()
        words = collect_stderr(self._stderr)
        log.error("embedding engine ended while %s: %s %s", phase, describe_exit(code), words)
        name = self._path.name if self._path else "the embedding model"
        return EngineCrashedError(
            f"The embedding engine stopped unexpectedly while {phase} ({describe_exit(code)} in llama.cpp).",
            (f"llama.cpp said: {words}. " if words else "") + f"Model: {name}. Your documents and chats are safe; "
            "try again (a new engine process is started), or choose another embedding model.",
            phase=phase, exitcode=code)

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def unload(self) -> None:
        with self._lock:
            if self._conn is not None and self._proc is not None and self._proc.is_alive():
                try:
                    self._conn.send(("exit",))
                    self._proc.join(3)
                except (OSError, ValueError):
                    pass
            self._kill()
            if self._stderr is not None:
                collect_stderr(self._stderr)

    close = unload

    def _ensure(self) -> None:
        if self._path is None:
            raise EngineError("No embedding model is loaded.", "Load one first.")
        if self._proc is None or not self._proc.is_alive():
            self._kill()
            self._start_and_load()

    # -- calls -----------------------------------------------------------------------
    def _call(self, kind: str, texts: list[str], *extra: Any) -> Any:
        self._ensure()
        self._ids += 1
        rid = self._ids
        self._send((kind, rid, texts, *extra))
        return self._wait_for("result", CALL_TIMEOUT_S, "embedding" if kind == "embed" else "counting", rid)[2]

    def embed(self, texts: list[str], *, cancel: threading.Event | None = None,
              progress: Callable[[int], None] | None = None, max_tokens: int | None = None) -> np.ndarray:
        """Unit-length vectors, one row per text (of its first `max_tokens` tokens, if given).
        With `cancel` set between batches, raises nothing and returns the rows done so far
        (the caller checks the event)."""
        with self._lock:
            parts: list[np.ndarray] = []
            done = 0
            for i in range(0, len(texts), BATCH_TEXTS):
                if cancel is not None and cancel.is_set():
                    break
                parts.append(self._call("embed", texts[i:i + BATCH_TEXTS], max_tokens))
                done += len(parts[-1])
                if progress is not None:
                    progress(done)
            if not parts:
                return np.zeros((0, self.dim), dtype=np.float32)
            return np.concatenate(parts).astype(np.float32, copy=False)

    def count_tokens(self, texts: list[str]) -> list[int]:
        with self._lock:
            return list(self._call("count", texts))
