"""The child process a local engine runs in, and the proxy the app holds.

llama.cpp (and MLX) run native code that can end a process: a segfault in a CPU
kernel, GGML_ABORT on a CUDA error or an unexpected model file. So each loaded local
engine lives in a child process of its own, and the app talks to it through
`EngineProxy`, which has the same interface as the engine (load, count_tokens,
stream_chat, unload, name, backend, context_length). When the child dies the caller
gets an `EngineCrashedError` in plain words; the app and the conversation go on.

Transport: `multiprocessing` (spawn) and one duplex `Pipe` of pickled tuples.

One process per model, shared: the chat and the API server hold the same proxy
(engines/shared.py), and several answers run in it at once (the llama.cpp engine's
answer loop, engines/llamacpp_gen.py). So every request carries an id, and a receiver
thread (engines/host_requests.py) hands each reply to the request it answers.

- Requests (parent -> child), by kind: ("load", model, options, safe);
  ("generate", id, messages, params): a new answer, which joins the answer loop at its
  next step; ("count", id, messages): tokens of the rendered prompt, answered between
  steps; ("cancel", id): ends that answer only, within one step; ("offline", bool);
  ("exit",). Kinds to come plug in the same way, one id each: ("embed", id, texts) for
  an embedding engine, images as parts of a generate's messages (prefilled into its slot).
- Replies (child -> parent): ("ready", pid, probe), ("progress", fraction),
  ("loaded", facts), ("result", id, value), ("started", id), ("t", id, text, thinking
  [, logprobs]) for each piece of text as it is produced (held up to TOKEN_FLUSH_S; the
  pieces of several answers then come as one ("batch", [("t", ...), ...])), ("done", id, final chunk),
  ("error", id, packed error), and at any time ("log", record): the child's log
  records, written to the app's log.

Safe mode: a crash while loading, or during the first answer before any text arrived, is
retried in a new process one step down safe_mode.LADDER, until a step works (remembered per
model and machine) or none is left. A crash after text arrived is reported (chat/turn.py keeps
the partial answer); the next request starts a new process, one step safer if the model had
not yet answered once. A death while idle is told by `exit_watch` (host_exit.ExitWatch), and
the next request loads the model again. The child's side is engines/host_child.py.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from pathlib import Path
from typing import Any

from assistant import network
from assistant.core.types import LoadOptions, ModelRef
from assistant.engines import safe_mode
from assistant.engines.host_child import ChildConfig, child_log_level, child_main, unpack_error, write_child_log
from assistant.engines.host_exit import Crash, ExitWatch, collect_stderr, describe_exit, remove_stale_stderr_files
from assistant.engines.host_requests import Requests
from assistant.engines.safe_mode import SafeSettings
from assistant.errors import EngineCrashedError, EngineError, LoadCancelledError
from assistant.paths import get_paths

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 600.0  # a load that reports no progress for this long is stuck
START_TIMEOUT_S = 120.0  # the child's Python start-up and imports
REPLY_TIMEOUT_S = 120.0  # count_tokens and the start of an answer (tokenizing a prompt)
EXIT_GRACE_S = 5.0  # unload: how long the child has to exit before it is terminated

_counter = itertools.count(1)


class EngineProxy(Requests):
    """An Engine whose model lives in a child process (one process per loaded model).
    Thread-safe: several threads may stream answers from it at once."""

    def __init__(self, engine: str = "llama.cpp", *, load_timeout_s: float = LOAD_TIMEOUT_S,
                 use_safe_mode_store: bool = True) -> None:
        self.name = engine
        self.load_timeout_s = load_timeout_s
        self.use_safe_mode_store = use_safe_mode_store
        self._proc: Any = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._stderr_file: Path | None = None
        self._model: ModelRef | None = None
        self._options: LoadOptions | None = None
        self._n_ctx = 0
        self._backend = "MLX" if engine == "mlx" else "CPU"
        self.n_gpu_layers = 0
        self._level = 0
        self._restart_level: int | None = None  # after a crash: the level the next request starts at
        self._answers = 0  # answers completed by the current process
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()  # a StopRelay sends from its own thread
        self._offline_sent: bool | None = None
        self._cancel_load = threading.Event()
        self._life = threading.RLock()  # load, restart and unload: one at a time
        self.parallel = 1  # answers the engine runs at once (its slots)
        Requests.__init__(self)
        self.test_probe: str | None = None
        self.load_report: dict[str, Any] = {}  # what llama.cpp used at the last load (llamacpp_options.report)
        self.safe_mode_note = ""  # the last safe-mode decision, in words ("" at full speed)
        self.exit_watch = ExitWatch()  # its on_exit hears of a death while idle

    # -- properties --------------------------------------------------------------------
    @property
    def context_length(self) -> int:
        return self._n_ctx

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def safe_level(self) -> int:
        return self._level

    @property
    def safe_settings(self) -> SafeSettings:
        return safe_mode.settings(self._level)

    # -- load ------------------------------------------------------------------------
    def load(self, model: ModelRef, options: LoadOptions) -> None:
        with self._life:
            if self._proc is not None or self._model is not None:
                self.unload()
            self._cancel_load.clear()
            start = safe_mode.level_for(model.path) if self._uses_ladder() and self.use_safe_mode_store else 0
            self._load_from(model, options, start, first_reason="")
            self._model, self._options = model, options

    def cancel_load(self) -> None:
        """From any thread: end a load in progress (its process is killed)."""
        self._cancel_load.set()
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()

    def _uses_ladder(self) -> bool:
        return self.name == "llama.cpp"

    def _load_from(self, model: ModelRef, options: LoadOptions, level: int, first_reason: str) -> None:
        """Load at `level`; on a crash walk down the safe-mode ladder, one new process a step."""
        start, reason = level, first_reason
        while True:
            try:
                self._spawn_and_load(model, options, level)
                break
            except Crash as crash:
                reason = f"{describe_exit(crash.exitcode)} while loading"
                nxt = safe_mode.next_level(level, options.n_gpu_layers) if self._uses_ladder() else None
                if nxt is None:
                    raise self._crash_error("load", crash, model, tried=level > 0) from None
                log.warning("%s crashed loading %s at safe-mode level %d (%s); trying level %d",
                            self.name, model.path, level, reason, nxt)
                level = nxt
        self._level = level
        if level != start or (level > 0 and first_reason):
            self.safe_mode_note = f"Safe mode: {safe_mode.settings(level).describe()} (after {reason})."
            if self.use_safe_mode_store:
                safe_mode.remember(model.path, level, reason)
        elif level > 0:
            self.safe_mode_note = f"Safe mode, remembered for this model: {safe_mode.settings(level).describe()}."
        else:
            self.safe_mode_note = ""

    def _spawn_and_load(self, model: ModelRef, options: LoadOptions, level: int) -> None:
        self._spawn()
        self._send(("load", model, options, safe_mode.settings(level)))
        deadline = time.monotonic() + START_TIMEOUT_S + self.load_timeout_s
        ready = False
        while True:
            if self._cancel_load.is_set():
                self._kill()
                raise LoadCancelledError(f"Loading {model.display_name} was cancelled.")
            now = time.monotonic()
            if now >= deadline:
                self._kill()
                raise EngineError(
                    f"Loading {model.display_name} made no progress for {self.load_timeout_s:.0f} s, so it was stopped.",
                    f"File: {model.path}. The disk may be very slow or the file damaged; try again, or choose another model.",
                )
            try:
                msg = self._recv(min(deadline - now, 0.1))
            except Crash as crash:
                if self._cancel_load.is_set():
                    self._reap()
                    raise LoadCancelledError(f"Loading {model.display_name} was cancelled.") from None
                if not ready:  # Python could not even start there: not a crash of the engine
                    raise EngineError(
                        f"The engine process could not start ({describe_exit(crash.exitcode)}).",
                        (f"It said: {crash.last_words}. " if crash.last_words else "") + "See the log for details.",
                    ) from None
                raise
            if msg is None:
                continue
            kind = msg[0]
            if kind == "ready":
                ready = True
                self.test_probe = msg[2]
                deadline = time.monotonic() + self.load_timeout_s
            elif kind == "progress":
                deadline = time.monotonic() + self.load_timeout_s
            elif kind == "loaded":
                facts = msg[1]
                self._n_ctx = int(facts["context_length"])
                self._backend = str(facts["backend"])
                self.n_gpu_layers = facts.get("n_gpu_layers") or 0
                self.load_report = dict(facts.get("load_report") or {})
                self.parallel = int(facts.get("parallel") or 1)
                self._answers = 0
                self._restart_level = None
                self._start_receiver()
                return
            elif kind == "error":
                err = unpack_error(msg[2])
                self._stop_child()
                raise err

    # -- the child's life ----------------------------------------------------------------
    def _spawn(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        paths = get_paths()
        name = f"engine-{os.getpid()}-{next(_counter)}.stderr"
        stderr_file: Path | None = paths.log_dir / name
        try:
            paths.log_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_stderr_files(paths.log_dir)
            (paths.log_dir / name).touch(0o600)  # a read-only log folder: the child runs without the file
        except OSError:
            stderr_file = None
        self._offline_sent = network.is_offline()
        config = ChildConfig(self.name, self._offline_sent, child_log_level(), str(stderr_file) if stderr_file else None)
        proc = ctx.Process(target=child_main, args=(child_conn, config), name=f"engine {self.name}", daemon=True)
        proc.start()
        child_conn.close()
        self._proc, self._conn, self._stderr_file = proc, parent_conn, stderr_file
        log.info("started %s engine process %s", self.name, proc.pid)

    def _send(self, msg: tuple[Any, ...]) -> None:
        offline = network.is_offline()
        try:
            with self._send_lock:
                if self._conn is None:
                    raise OSError("no engine process")
                if offline != self._offline_sent:
                    self._conn.send(("offline", offline))
                    self._offline_sent = offline
                self._conn.send(msg)
        except (OSError, ValueError):
            raise self._death() from None

    def _send_quietly(self, msg: tuple[Any, ...]) -> None:
        """A stop (from a StopRelay's thread) or "exit": a child that is gone is the caller's to see."""
        with self._send_lock, contextlib.suppress(OSError, ValueError, AttributeError):
            self._conn.send(msg)  # type: ignore[union-attr]

    def _recv(self, timeout: float | None) -> tuple[Any, ...] | None:
        """The next message, None on timeout; raises Crash when the child is gone."""
        conn, proc = self._conn, self._proc
        if conn is None or proc is None:
            raise Crash(None, "")
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                if conn.poll(0):
                    msg = conn.recv()
                else:
                    left = None if deadline is None else max(0.0, deadline - time.monotonic())
                    if not multiprocessing.connection.wait([conn, proc.sentinel], left):
                        return None
                    if not conn.poll(0):
                        break  # the process ended; what it sent before it died came first
                    msg = conn.recv()
                if msg[0] != "log":
                    return msg
                write_child_log(msg[1])
        except (EOFError, OSError):
            pass
        raise self._dead()

    def _dead(self) -> Crash:
        proc = self._proc
        if proc is not None:
            proc.join(EXIT_GRACE_S)
            if proc.is_alive():  # it closed the pipe but lives on: end it
                proc.kill()
                proc.join(EXIT_GRACE_S)
        code = proc.exitcode if proc is not None else None
        words = self._reap()
        log.error("%s engine process %s ended: %s%s", self.name, proc.pid if proc else "?", describe_exit(code),
                  f"; its last words: {words}" if words else "")
        return Crash(code, words)

    def _reap(self) -> str:
        """Close the pipe, forget the process, copy its stderr into the log; its last words."""
        with self._send_lock:
            if self._conn is not None:
                self._conn.close()
            self._proc = self._conn = None
        return collect_stderr(self._stderr_file)

    def _kill(self) -> None:
        proc = self._proc
        self.exit_watch.expect(proc)  # ended on purpose: no "it died" for the app
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(EXIT_GRACE_S)
        self._reap()

    def _stop_child(self) -> None:
        """Ask the child to exit; terminate it, then kill it, if it does not."""
        proc = self._proc
        if proc is None:
            return
        self._closing = proc  # its end is no crash: the receiver says "unloaded" to whoever waits
        self._send_quietly(("exit",))
        proc.join(EXIT_GRACE_S)
        if proc.is_alive():
            log.warning("%s engine process %s did not exit; terminating it", self.name, proc.pid)
            proc.terminate()
            proc.join(EXIT_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join(EXIT_GRACE_S)
        self._reap()

    def unload(self) -> None:
        """End the child: every page of the model goes back to the system."""
        with self._life:
            self._stop_child()
            self._join_receiver()
            self._model = self._options = None
            self._n_ctx = 0
            self._restart_level = None

    def close(self) -> None:
        self.unload()

    def _ensure_running(self) -> None:
        with self._life:
            if self._model is None or self._options is None:
                raise EngineError("No model is loaded.", "Load a model first.")
            proc = self._proc
            if proc is not None and proc.is_alive():
                return
            self._join_receiver()  # it reaps a process that died, and tells its requests
            if self._proc is not None:
                self._kill()
            # the process died after a crash: a new one, at the level chosen then
            level = self._restart_level if self._restart_level is not None else self._level
            self._cancel_load.clear()
            self._load_from(self._model, self._options, level,
                            first_reason="a crash while answering" if level > self._level else "")

    def _crash_error(self, phase: str, crash: Crash, model: ModelRef | None = None, *, tried: bool = False,
                     kept: bool = False) -> EngineCrashedError:
        model = model or self._model
        where = f"{describe_exit(crash.exitcode)} in {self.name}'s {self._backend} code"
        said = f" {self.name} said: {crash.last_words}." if crash.last_words else ""
        if phase == "load":
            name = Path(model.path).name if model else "the model"
            message = f"The engine stopped unexpectedly while loading {name} ({where}). Your conversations are safe."
            hint = (f"File: {model.path if model else '?'}.{said} "
                    + ("Safe mode did not help either: the file may be damaged or not supported by this "
                       "version of llama.cpp. Download it again, update the app, or choose another model."
                       if tried or not self._uses_ladder() else
                       "The file may be damaged or not supported: download it again, or choose another model."))
        else:
            message = f"The engine stopped unexpectedly while answering ({where}). Your conversation is safe."
            hint = ("The partial answer was kept. " if kept else "") + said.strip() + (" " if said else "") + (
                "Send the message again: the model is reloaded"
                + (" in safe mode (slower, but steadier)." if self._restart_level and self._restart_level > self._level else ".")
            )
        return EngineCrashedError(message, hint.strip(), phase=phase, exitcode=crash.exitcode)

    def _after_answer_crash(self) -> None:
        """Choose the level the next process starts at."""
        nxt = safe_mode.next_level(self._level, self._options.n_gpu_layers if self._options else 0)
        self._restart_level = nxt if self._answers == 0 and nxt is not None and self._uses_ladder() else self._level
