"""The engine's child process: what runs on the other side of EngineProxy's pipe
(engines/host.py has the proxy and the message list).

In the child a reader thread takes every message off the pipe: a cancel sets that
request's threading.Event at once (the engine checks it between steps and between
prompt batches); everything else goes to the main thread, which loads and generates
(MLX needs one thread for both). When the pipe closes (the app is gone) the child exits.

The main thread is one loop: it takes every request waiting (a new answer joins the
llama.cpp engine's answer loop, a token count is answered at once), then runs one step
of the answer loop (one llama_decode for every running answer) and sends each answer's
new text. An engine without an answer loop (MLX) answers one request at a time, whole:
the others wait in the queue.

The child installs the same Offline-mode guard as the app (network.py's audit hook is
per process): the state is passed at spawn and kept in step before each request. Its
log records (llama.cpp's log included, via llamacpp_log) go over the pipe to the app,
which writes them to its own log file: one process writes that file, so its rotation
cannot race. Its stderr (GGML_ABORT messages, faulthandler's dump on a fatal signal)
goes to a file in the log folder that the parent copies into the log and quotes when
the child dies.

Test hooks, read only by the child: ASSISTANT_TEST_CRASH="PHASE:SIGNAL[:repack]" with
PHASE "load", "answer" (before the first token) or "token:N" (after the Nth piece of
text), SIGNAL a signal name or "hang" (stop making progress); ":repack" fires only while
CPU weight repacking is on, so safe mode's first step gets past it.
ASSISTANT_TEST_NET_PROBE="HOST:PORT": the child tries to connect there at start and
reports the outcome (`EngineProxy.test_probe`). ASSISTANT_TEST_UNCHECKED_HEADERS=1: the
child skips gguf_meta's header value checks, so a test can make llama.cpp really abort.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from assistant import network
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines import safe_mode
from assistant.engines.base import Engine
from assistant.engines.safe_mode import SafeSettings
from assistant.errors import AssistantError, EngineError

log = logging.getLogger(__name__)

CRASH_ENV = "ASSISTANT_TEST_CRASH"
PROBE_ENV = "ASSISTANT_TEST_NET_PROBE"
TOKEN_FLUSH_S = 0.03  # tokens reach the app at most this often (_TokenBatch)
UNCHECKED_ENV = "ASSISTANT_TEST_UNCHECKED_HEADERS"  # "1": the child skips the header value checks


@dataclass(frozen=True)
class ChildConfig:
    engine: str  # "llama.cpp" or "mlx"
    offline: bool
    log_level: int | None  # records at this level and above go to the app's log; None: no logging
    stderr_file: str | None


def make_in_process(name: str) -> Engine:
    """The engine itself, in this process (the child uses it; so do tests and benchmarks)."""
    if name == "mlx":
        from assistant.engines.mlx import MlxEngine

        return MlxEngine()
    from assistant.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine()


# ===================================================================== errors over the pipe
def pack_error(exc: BaseException) -> tuple[str, str, tuple[Any, ...], dict[str, Any]]:
    if not isinstance(exc, AssistantError):
        exc = EngineError(f"The engine failed: {type(exc).__name__}: {exc}", "See the log for details.")
    attrs = {k: v for k, v in vars(exc).items() if isinstance(v, (str, int, float, bool, type(None)))}
    return type(exc).__module__, type(exc).__qualname__, tuple(str(a) for a in exc.args), attrs


def unpack_error(packed: tuple[str, str, tuple[Any, ...], dict[str, Any]]) -> AssistantError:
    module, qualname, args, attrs = packed
    try:
        cls = getattr(importlib.import_module(module), qualname)
        if not (isinstance(cls, type) and issubclass(cls, AssistantError)):
            raise TypeError(qualname)
    except (ImportError, AttributeError, TypeError):
        cls = EngineError
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(attrs)
    if not hasattr(exc, "message"):
        exc.message, exc.hint = (args[0] if args else ""), ""
    return exc


# ===================================================================== logs over the pipe (the app's side)
def child_log_level() -> int | None:
    """The lowest level the app's log handlers take (the child sends nothing below it)."""
    levels = [h.level for h in logging.getLogger().handlers if type(h) is not logging.StreamHandler]
    return max(min(levels), logging.DEBUG) if levels else None


def write_child_log(record: logging.LogRecord) -> None:
    # the app's log file (and any test capture), not its stderr: llama.cpp's errors are
    # the engine's business, said to the user by the error the proxy raises
    for handler in logging.getLogger().handlers:
        if type(handler) is not logging.StreamHandler and record.levelno >= handler.level:
            handler.handle(record)


# ===================================================================== the child
@dataclass(frozen=True)
class _CrashSpec:
    phase: str  # load / answer / token
    action: str  # a signal name or "hang"
    n: int = 0
    only_with_repack: bool = False

    @classmethod
    def parse(cls, text: str | None) -> "_CrashSpec | None":
        if not text:
            return None
        parts = text.split(":")
        n = 0
        if parts[0] == "token" and len(parts) > 1:
            n = int(parts.pop(1))
        if len(parts) < 2:
            return None
        return cls(parts[0], parts[1], n, len(parts) > 2 and parts[2] == "repack")

    def fire(self, phase: str, safe: SafeSettings, n: int = 0) -> None:
        if phase != self.phase or (phase == "token" and n != self.n):
            return
        if self.only_with_repack and not safe.repack:
            return
        log.warning("test crash hook: %s at %s %s", self.action, phase, n or "")
        logging.shutdown()
        if self.action == "hang":
            while True:
                time.sleep(3600)
        os.kill(os.getpid(), getattr(signal, self.action))
        time.sleep(10)  # the signal is delivered before this ends


def _probe(target: str | None) -> str | None:
    if not target:
        return None

    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return "connected"
    except AssistantError as exc:  # NetworkBlockedError from the Offline-mode guard
        return f"blocked: {type(exc).__name__}: {exc.message}"
    except OSError as exc:
        return f"error: {exc}"


def child_main(conn: multiprocessing.connection.Connection, config: ChildConfig) -> None:
    """Entry point of the engine's process."""
    # Ctrl-C in a terminal reaches the whole process group: the app decides what it means
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config.stderr_file:
        # native code writes its last words (GGML_ABORT, asserts) straight to fd 2
        fd = os.open(config.stderr_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 2)
        os.close(fd)
    import faulthandler

    faulthandler.enable()  # a fatal signal leaves the Python stack in the stderr file
    network.install()
    network.set_offline(config.offline)
    if os.environ.get(UNCHECKED_ENV) == "1":
        from assistant.core import gguf_meta

        gguf_meta.check_values = lambda meta, arch: None  # type: ignore[assignment]
    child = _Child(conn, config)
    if config.log_level is not None:
        root = logging.getLogger()
        root.handlers.clear()
        root.setLevel(config.log_level)
        root.addHandler(_PipeLogHandler(child.send))
        for name in ("httpx", "httpcore", "urllib3", "filelock"):
            logging.getLogger(name).setLevel(logging.WARNING)
    child.serve()


class _PipeLogHandler(logging.Handler):
    """Sends each record to the app, formatted and without its arguments (so it pickles)."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            copy = logging.makeLogRecord(record.__dict__)
            copy.msg, copy.args = msg, None
            if record.exc_info:
                copy.exc_text = logging.Formatter().formatException(record.exc_info)
            copy.exc_info = None
            self._send(("log", copy))
        except Exception:  # a log line is never worth an engine; the app's pipe may be gone
            pass


class _TokenBatch:
    """Tokens go to the app at most every TOKEN_FLUSH_S (the first at once).

    Why: on a machine whose cores all compute, each wake-up of the app's process takes a
    core from llama.cpp's threads, and the whole step waits for it. The window shows
    text on a 30-50 ms timer anyway. A slow model (a token every TOKEN_FLUSH_S or more)
    has each token sent as it comes. With `own_clock` off, the answer loop's flush
    (`_Child.flush_due`) sends what every running answer holds in one message instead."""

    def __init__(self, rid: int, send: Any, own_clock: bool = True) -> None:
        self._rid, self._send = rid, send
        self._own_clock = own_clock
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._logprobs: list[Any] = []
        self._last = 0.0

    def add(self, text: str, thinking: str, logprobs: list[Any] | None = None) -> None:
        if (text and self._thinking) or (thinking and self._text):
            self.flush()  # thinking and answer text stay in the order they came
        if text:
            self._text.append(text)
        if thinking:
            self._thinking.append(thinking)
        if logprobs:
            self._logprobs.extend(logprobs)
        if self._own_clock or not self._last:  # the first piece at once: time to first token
            self.tick()

    def tick(self) -> None:
        if time.monotonic() - self._last >= TOKEN_FLUSH_S:
            self.flush()

    def take(self) -> tuple[Any, ...] | None:
        """The message for what is held (None when nothing is), and nothing held after."""
        self._last = time.monotonic()
        if not (self._text or self._thinking or self._logprobs):
            return None
        msg: tuple[Any, ...] = ("t", self._rid, "".join(self._text), "".join(self._thinking))
        if self._logprobs:
            msg += (list(self._logprobs),)
        self._text.clear()
        self._thinking.clear()
        self._logprobs.clear()
        return msg

    def flush(self) -> None:
        msg = self.take()
        if msg is not None:
            self._send(msg)


@dataclass
class _Answer:
    """An answer running in the engine's answer loop."""

    seq: Any  # llamacpp_seq.Sequence
    out: _TokenBatch
    pieces: int = 0


class _Child:
    def __init__(self, conn: multiprocessing.connection.Connection, config: ChildConfig) -> None:
        self.conn = conn
        self.config = config
        self.requests: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.cancels: dict[int, threading.Event] = {}
        self.cancels_lock = threading.Lock()
        self.send_lock = threading.RLock()  # RLock: a log record may be sent from inside a send
        self.engine: Any = None
        self.safe = safe_mode.settings(0)
        self.crash = _CrashSpec.parse(os.environ.get(CRASH_ENV))
        self._last_progress = (0.0, -1.0)
        self.active: dict[int, _Answer] = {}  # answers in the engine's answer loop
        self._flushed = 0.0  # when the running answers' text last went to the app

    def send(self, msg: tuple[Any, ...]) -> None:
        with self.send_lock:
            self.conn.send(msg)

    def reader(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                os._exit(0)  # the app is gone: so is this process, and its memory
            kind = msg[0]
            if kind == "cancel":
                with self.cancels_lock:
                    event = self.cancels.get(msg[1])
                if event is not None:
                    event.set()
            elif kind == "offline":
                network.set_offline(bool(msg[1]))
            else:
                if kind == "generate":
                    with self.cancels_lock:
                        self.cancels[msg[1]] = threading.Event()
                self.requests.put(msg)

    def serve(self) -> None:
        threading.Thread(target=self.reader, name="engine-pipe", daemon=True).start()
        self.send(("ready", os.getpid(), _probe(os.environ.get(PROBE_ENV))))
        while True:
            try:  # answers running: take what is waiting, then a step; else wait for a request
                msg = self.requests.get(block=not self.active)
            except queue.Empty:
                self.step()
                continue
            self.handle(msg)

    def handle(self, msg: tuple[Any, ...]) -> None:
        kind, rid = msg[0], (msg[1] if len(msg) > 1 and isinstance(msg[1], int) else 0)
        try:
            if kind == "load":
                self.load(msg[1], msg[2], msg[3])
            elif kind == "count":
                self.send(("result", rid, self.engine.count_tokens(msg[2])))
            elif kind == "generate":
                self.generate(rid, msg[2], msg[3])
            elif kind == "probe":  # test-only: reaches nowhere unless the test set the target
                self.send(("result", rid, _probe(os.environ.get(PROBE_ENV))))
            elif kind == "exit":
                logging.shutdown()
                os._exit(0)  # the OS takes back every page; no native teardown to crash in
        except BaseException as exc:  # everything goes back to the app, typed
            if not isinstance(exc, AssistantError):
                logging.getLogger(__name__).exception("engine request %s failed", kind)
            self._end(rid)
            self.send(("error", rid, pack_error(exc)))

    def _end(self, rid: int) -> None:
        self.active.pop(rid, None)
        with self.cancels_lock:
            self.cancels.pop(rid, None)

    def generate(self, rid: int, messages: list[Message], params: GenParams) -> None:
        with self.cancels_lock:
            cancel = self.cancels[rid]
        if self.engine is None:
            raise EngineError("No model is loaded.", "Load a model first.")
        start = getattr(self.engine, "start_answer", None)
        if start is None:
            self.answer_whole(rid, messages, params, cancel)
            return
        seq = start(rid, messages, params, cancel)  # the prompt's errors are raised here
        self.send(("started", rid))
        if self.crash:
            self.crash.fire("answer", self.safe)
        self.active[rid] = _Answer(seq, _TokenBatch(rid, self.send, own_clock=False))

    def step(self) -> None:
        """One step of the answer loop; each answer's new text goes to the app."""
        self.engine.loop.step()
        for rid, answer in list(self.active.items()):
            seq = answer.seq
            for chunk in seq.take():
                if chunk.done:
                    answer.out.flush()
                    self.send(("done", rid, chunk))
                elif chunk.text or chunk.thinking or chunk.logprobs:
                    answer.out.add(chunk.text, chunk.thinking, chunk.logprobs)
                    answer.pieces += 1
                    if self.crash:
                        answer.out.flush()
                        self.crash.fire("token", self.safe, answer.pieces)
            if seq.over:
                self._end(rid)
                if seq.error is not None:
                    answer.out.flush()
                    self.send(("error", rid, pack_error(seq.error)))
        self.flush_due()

    def flush_due(self) -> None:
        """Every TOKEN_FLUSH_S, the text of all running answers in one message: one
        wake-up of the app's process for N answers, not N on N clocks of their own."""
        now = time.monotonic()
        if now - self._flushed < TOKEN_FLUSH_S:
            return
        self._flushed = now
        msgs = [m for a in self.active.values() if (m := a.out.take()) is not None]
        if len(msgs) == 1:
            self.send(msgs[0])
        elif msgs:
            self.send(("batch", msgs))

    def progress(self, fraction: float) -> None:
        # throttled: llama.cpp reports once per tensor
        now = time.monotonic()
        last_t, last_f = self._last_progress
        if fraction - last_f >= 0.02 or now - last_t >= 0.5 or fraction >= 1.0:
            self._last_progress = (now, fraction)
            self.send(("progress", float(fraction)))

    def load(self, model: ModelRef, options: LoadOptions, safe: SafeSettings) -> None:
        self.safe = safe
        if self.crash:
            self.crash.fire("load", safe)
        engine: Any = make_in_process(self.config.engine)
        if hasattr(engine, "safe"):  # llama.cpp: safe-mode switches and load progress
            engine.safe = safe
            engine.on_load_progress = self.progress
        engine.load(model, options)
        self.engine = engine
        self.send(("loaded", {
            "context_length": engine.context_length,
            "parallel": int(getattr(engine, "parallel", 1) or 1),
            "backend": engine.backend,
            "n_gpu_layers": getattr(engine, "n_gpu_layers", None),
            "load_report": dict(getattr(engine, "load_report", {}) or {}),
        }))

    def answer_whole(self, rid: int, messages: list[Message], params: GenParams, cancel: threading.Event) -> None:
        """An engine without an answer loop (MLX): this answer, whole, before the next request."""
        try:
            stream = self.engine.stream_chat(messages, params, cancel)
            self.send(("started", rid))
            if self.crash:
                self.crash.fire("answer", self.safe)
            out = _TokenBatch(rid, self.send)
            n = 0
            for chunk in stream:
                if chunk.done:
                    out.flush()
                    self.send(("done", rid, chunk))
                elif chunk.text or chunk.thinking:  # a reasoning model streams both
                    out.add(chunk.text, chunk.thinking, chunk.logprobs)
                    n += 1
                    if self.crash:
                        out.flush()
                        self.crash.fire("token", self.safe, n)
        finally:
            with self.cancels_lock:
                self.cancels.pop(rid, None)


