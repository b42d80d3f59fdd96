"""The child process a local engine runs in, and the proxy the app holds.

llama.cpp (and MLX) run native code that can end a process: a segfault in a CPU
kernel, GGML_ABORT on a CUDA error or an unexpected model file. So each loaded local
engine lives in a child process of its own, and the app talks to it through
`EngineProxy`, which has the same interface as the engine (load, count_tokens,
stream_chat, unload, name, backend, context_length). When the child dies the caller
gets an `EngineCrashedError` in plain words; the app and the conversation go on.

Transport: `multiprocessing` with the spawn start method and one duplex `Pipe`;
messages are tuples pickled by the standard library. No threads of the app cross.

- Requests (parent -> child): ("load", model, options, safe), ("count", id, messages),
  ("chat", id, messages, params), ("cancel", id), ("offline", bool), ("exit",).
- Replies (child -> parent): ("ready", pid, probe), ("progress", fraction),
  ("loaded", facts), ("result", id, n), ("started", id), ("t", id, text, thinking) for each
  piece of text as it is produced, ("done", id, final chunk), ("error", id, packed error),
  and at any time ("log", record): the child's log records, written to the app's log.

Safe mode: a crash while loading, or during the first answer before any text arrived,
is retried automatically in a new process one step down safe_mode.LADDER, until a step
works (remembered per model and machine) or none is left. A crash after text arrived
is reported (the partial answer is kept by chat/turn.py); the next request starts a new
process, one step safer if the model had not yet answered once.

The child's side (its reader thread, Offline mode, logging, the test hooks) is in
engines/host_child.py.
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
from typing import Any, Iterator

from assistant import network
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef
from assistant.engines import safe_mode
from assistant.engines.host_child import ChildConfig, child_log_level, child_main, unpack_error, write_child_log
from assistant.engines.host_exit import Crash, collect_stderr, describe_exit, remove_stale_stderr_files
from assistant.engines.host_stop import StopRelay
from assistant.engines.safe_mode import SafeSettings
from assistant.errors import EngineCrashedError, EngineError, LoadCancelledError
from assistant.paths import get_paths

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 600.0  # a load that reports no progress for this long is stuck
START_TIMEOUT_S = 120.0  # the child's Python start-up and imports
REPLY_TIMEOUT_S = 120.0  # count_tokens and the start of an answer (tokenizing a prompt)
CANCEL_GRACE_S = 10.0  # after a stop, how long the child has to end its answer
EXIT_GRACE_S = 5.0  # unload: how long the child has to exit before it is terminated
_POLL_S = 0.5  # the stream's wake-up to keep a stop's grace period (the stop itself: StopRelay)

_counter = itertools.count(1)


# ===================================================================== the proxy
class EngineProxy:
    """An Engine whose model lives in a child process (one process per loaded model)."""

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
        self._active: int | None = None  # the answer being streamed, if any
        self.test_probe: str | None = None
        self.load_report: dict[str, Any] = {}  # what llama.cpp used at the last load (llamacpp_options.report)
        self.safe_mode_note = ""  # the last safe-mode decision, in words ("" at full speed)

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
                self._answers = 0
                self._restart_level = None
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
        assert self._conn is not None
        offline = network.is_offline()
        try:
            with self._send_lock:
                if offline != self._offline_sent:
                    self._conn.send(("offline", offline))
                    self._offline_sent = offline
                self._conn.send(msg)
        except (OSError, ValueError):
            raise self._dead() from None

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
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None
        return collect_stderr(self._stderr_file)

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()
            proc.join(EXIT_GRACE_S)
        self._reap()

    def _stop_child(self) -> None:
        """Ask the child to exit; terminate it, then kill it, if it does not."""
        proc = self._proc
        if proc is None:
            return
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
        self._stop_child()
        self._model = self._options = None
        self._n_ctx = 0
        self._restart_level = None

    def close(self) -> None:
        self.unload()

    def _ensure_running(self) -> None:
        if self._model is None or self._options is None:
            raise EngineError("No model is loaded.", "Load a model first.")
        if self._active is not None and self._proc is not None:
            self._abandon(self._active)  # a stream left unread must not block the pipe
        self._active = None
        if self._proc is not None:
            return
        # the process died after a crash: a new one, at the level chosen then
        level = self._restart_level if self._restart_level is not None else self._level
        self._cancel_load.clear()
        self._load_from(self._model, self._options, level, first_reason="a crash while answering" if level > self._level else "")

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

    # -- requests --------------------------------------------------------------------------
    def _call(self, msg: tuple[Any, ...], rid: int) -> tuple[Any, ...]:
        self._send(msg)
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                self._restart_level = self._level
                raise EngineError("The engine did not answer in time.", "Try again: the model is reloaded.")
            got = self._recv(left)
            if got is None:
                continue
            if got[0] == "error" and got[1] == rid:
                raise unpack_error(got[2])
            if len(got) > 1 and got[1] == rid:
                return got
            # a stale reply of an abandoned request: skip it

    def probe_network(self) -> str | None:
        """Test-only: the child tries a connection to ASSISTANT_TEST_NET_PROBE now."""
        self._ensure_running()
        rid = next(self._ids)
        return self._call(("probe", rid), rid)[2]

    def count_tokens(self, messages: list[Message]) -> int:
        self._ensure_running()
        rid = next(self._ids)
        try:
            return int(self._call(("count", rid, messages), rid)[2])
        except Crash as crash:
            self._after_answer_crash()
            raise self._crash_error("answer", crash) from None

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        """Starts the answer (prompt errors such as PromptTooLongError are raised here, as
        by the engine) and returns the stream of its chunks."""
        self._ensure_running()
        rid = self._begin(messages, params)
        return self._stream(rid, messages, params, cancel)

    def _begin(self, messages: list[Message], params: GenParams) -> int:
        while True:
            rid = next(self._ids)
            try:
                self._call(("chat", rid, messages, params), rid)  # ("started", rid)
                self._active = rid
                return rid
            except Crash as crash:
                if not self._retry_first_answer(crash):
                    raise self._crash_error("answer", crash) from None

    def _retry_first_answer(self, crash: Crash) -> bool:
        """A crash before any text of the first answer: reload one step safer and go on."""
        self._after_answer_crash()
        if self._answers or self._restart_level is None or self._restart_level <= self._level:
            return False
        log.warning("%s crashed before its first answer (%s); reloading in safe mode", self.name, describe_exit(crash.exitcode))
        try:
            self._ensure_running()
        except EngineCrashedError:
            return False
        return True

    def _stream(self, rid: int, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        got_text = False
        cancel_deadline = 0.0
        finished = False
        relay = StopRelay(cancel, lambda stopped: self._send_quietly(("cancel", stopped)), rid)
        try:
            while True:
                if cancel.is_set() and not cancel_deadline:
                    cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                try:
                    msg = self._recv(_POLL_S)
                except Crash as crash:
                    if not got_text and not cancel.is_set() and self._retry_first_answer(crash):
                        rid = relay.rid = self._begin(messages, params)
                        continue
                    if cancel.is_set():  # it died while stopping: the answer stopped all the same
                        self._restart_level = self._level
                        finished = True
                        yield Chunk(done=True, finish_reason="cancelled")
                        return
                    self._after_answer_crash()
                    raise self._crash_error("answer", crash, kept=got_text) from None
                if msg is None:
                    if cancel_deadline and time.monotonic() > cancel_deadline:
                        log.warning("%s engine did not stop within %.0f s; ending its process", self.name, CANCEL_GRACE_S)
                        self._kill()
                        self._restart_level = self._level
                        finished = True
                        yield Chunk(done=True, finish_reason="cancelled")
                        return
                    continue
                kind = msg[0]
                if len(msg) < 2 or msg[1] != rid:
                    continue  # a stale reply of an abandoned request
                if kind == "t":
                    got_text = True
                    yield Chunk(text=msg[2], thinking=msg[3])
                elif kind == "done":
                    finished = True
                    self._answers += 1
                    yield msg[2]
                    return
                elif kind == "error":
                    finished = True
                    raise unpack_error(msg[2])
        finally:
            relay.end()
            self._active = None
            if not finished and self._proc is not None:
                self._abandon(rid)

    def _abandon(self, rid: int) -> None:
        """The caller stopped reading mid-answer: stop the child's answer and wait for its end."""
        try:
            self._send(("cancel", rid))
            deadline = time.monotonic() + CANCEL_GRACE_S
            while time.monotonic() < deadline:
                msg = self._recv(max(0.0, deadline - time.monotonic()))
                if msg is not None and len(msg) > 1 and msg[1] == rid and msg[0] in ("done", "error"):
                    return
        except Crash:
            self._restart_level = self._level
            return
        self._kill()
        self._restart_level = self._level
