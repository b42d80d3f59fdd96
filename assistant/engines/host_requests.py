"""The request side of EngineProxy (engines/host.py): many requests at once over one pipe.

The chat and the API server share one engine process per model, and its answer loop
runs several answers at once, so several threads of the app wait on the same pipe.
A receiver thread (one per child process) reads the pipe and hands each reply to the
queue of the request it answers, by id; replies of a request nobody waits for any more
(a stream the caller closed) are dropped. When the child dies, the receiver tells every
request that waited on it (the crash, in its words); an unload tells them "unloaded".

A stop goes as ("cancel", id) the moment the caller's Event is set (StopRelay), and ends
that answer only: the others in the loop go on.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing.connection
import queue
import threading
import time
from typing import Any, Iterator

from assistant.core.types import Chunk, GenParams, Message
from assistant.engines.host_child import unpack_error, write_child_log
from assistant.engines.host_exit import Crash, describe_exit
from assistant.engines.host_stop import StopRelay
from assistant.errors import EngineCrashedError, EngineError

log = logging.getLogger("assistant.engines.host")

REPLY_TIMEOUT_S = 120.0  # count_tokens and the start of an answer (tokenizing a prompt)
CANCEL_GRACE_S = 10.0  # after a stop, how long the child has to end its answer
_POLL_S = 0.5  # the stream's wake-up to keep a stop's grace period (the stop itself: StopRelay)
_UNLOADED = ("unloaded",)


class Requests:
    """Mixed into EngineProxy: ids, the receiver thread, requests and answers."""

    # EngineProxy's, used here
    name: str
    _proc: Any
    _conn: Any
    _level: int
    _answers: int
    _restart_level: int | None

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiters: dict[int, tuple[Any, queue.Queue[tuple[Any, ...]]]] = {}  # id -> (its process, replies)
        self._waiters_lock = threading.Lock()
        self._receiver: threading.Thread | None = None
        self._closing: Any = None  # the process being unloaded: its end is no crash
        self._last_crash: Crash | None = None
        self._crash_seen: Crash | None = None  # the crash whose restart level is chosen

    # -- the receiver ------------------------------------------------------------------------
    def _start_receiver(self) -> None:
        proc, conn = self._proc, self._conn
        self._last_crash = None
        t = threading.Thread(target=self._receive, args=(proc, conn), name=f"engine {self.name} replies", daemon=True)
        self._receiver = t
        t.start()

    def _receive(self, proc: Any, conn: Any) -> None:
        try:
            while True:
                if not conn.poll(0):
                    ready = multiprocessing.connection.wait([conn, proc.sentinel])
                    if conn not in ready and not conn.poll(0):
                        break  # the process ended; what it sent before it died came first
                msg = conn.recv()
                if msg[0] == "log":
                    write_child_log(msg[1])
                    continue
                for one in (msg[1] if msg[0] == "batch" else (msg,)):
                    rid = one[1] if len(one) > 1 else None
                    with self._waiters_lock:
                        waiter = self._waiters.get(rid) if isinstance(rid, int) else None
                    if waiter is not None and waiter[0] is proc:
                        waiter[1].put(one)
        except (EOFError, OSError):
            pass
        if self._closing is proc:
            self._tell(proc, _UNLOADED)
            return
        crash = self._dead() if self._proc is proc else Crash(proc.exitcode, "")  # type: ignore[attr-defined]
        self._last_crash = crash
        if not self._tell(proc, ("crash", crash)):  # nobody waited: it died while idle
            self.exit_watch.died_idle(proc, crash)  # type: ignore[attr-defined]

    def _tell(self, proc: Any, msg: tuple[Any, ...]) -> bool:
        """Hand `msg` to every request waiting on `proc`; False when none was."""
        told = False
        with self._waiters_lock:
            for owner, q in self._waiters.values():
                if owner is proc:
                    q.put(msg)
                    told = True
        return told

    def _join_receiver(self) -> None:
        t = self._receiver
        if t is not None and t is not threading.current_thread():
            t.join(30)
        self._receiver = None

    def _death(self) -> Crash:
        """The child is gone (a send failed): the receiver's verdict when it runs."""
        t = self._receiver
        if t is not None and t is not threading.current_thread():
            t.join(30)
            if self._last_crash is not None:
                return self._last_crash
        return self._dead() if self._proc is not None else Crash(None, "")  # type: ignore[attr-defined]

    # -- one request ----------------------------------------------------------------------------
    def _register(self) -> tuple[int, queue.Queue[tuple[Any, ...]]]:
        rid = next(self._ids)
        q: queue.Queue[tuple[Any, ...]] = queue.Queue()
        with self._waiters_lock:
            self._waiters[rid] = (self._proc, q)
        return rid, q

    def _forget(self, rid: int) -> None:
        with self._waiters_lock:
            self._waiters.pop(rid, None)

    def _reply(self, q: queue.Queue[tuple[Any, ...]], timeout: float) -> tuple[Any, ...] | None:
        """The next reply, None on timeout; raises Crash or EngineError ("unloaded")."""
        try:
            msg = q.get(timeout=timeout)
        except queue.Empty:
            return None
        if msg[0] == "crash":
            raise msg[1]
        if msg is _UNLOADED:
            raise EngineError("The model was unloaded while answering.", "Send the message again.")
        return msg

    def _call(self, msg: tuple[Any, ...], rid: int, q: queue.Queue[tuple[Any, ...]]) -> tuple[Any, ...]:
        """Send a request and wait for its first reply ("result" / "started")."""
        self._send(msg)  # type: ignore[attr-defined]
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()  # type: ignore[attr-defined]
                self._restart_level = self._level
                raise EngineError("The engine did not answer in time.", "Try again: the model is reloaded.")
            got = self._reply(q, left)
            if got is None:
                continue
            if got[0] == "error":
                raise unpack_error(got[2])
            return got

    def _ask(self, kind: str, *args: Any) -> Any:
        """A request with one reply: its value."""
        self._ensure_running()  # type: ignore[attr-defined]
        rid, q = self._register()
        try:
            return self._call((kind, rid, *args), rid, q)[2]
        except Crash as crash:
            self._after_crash(crash)
            raise self._crash_error("answer", crash) from None  # type: ignore[attr-defined]
        finally:
            self._forget(rid)

    def probe_network(self) -> str | None:
        """Test-only: the child tries a connection to ASSISTANT_TEST_NET_PROBE now."""
        return self._ask("probe")  # type: ignore[no-any-return]

    def count_tokens(self, messages: list[Message]) -> int:
        return int(self._ask("count", messages))

    def _after_crash(self, crash: Crash) -> None:
        """Choose the level the next process starts at, once per crash (every request that
        waited on the process hears of it)."""
        if self._crash_seen is not crash:
            self._crash_seen = crash
            self._after_answer_crash()  # type: ignore[attr-defined]

    # -- answers ------------------------------------------------------------------------------------
    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        """Starts the answer (prompt errors such as PromptTooLongError are raised here, as
        by the engine) and returns the stream of its chunks."""
        self._ensure_running()  # type: ignore[attr-defined]
        rid, q = self._begin(messages, params)
        return self._stream(rid, q, messages, params, cancel)

    def _begin(self, messages: list[Message], params: GenParams) -> tuple[int, queue.Queue[tuple[Any, ...]]]:
        while True:
            rid, q = self._register()
            try:
                self._call(("generate", rid, messages, params), rid, q)  # ("started", rid)
                return rid, q
            except Crash as crash:
                self._forget(rid)
                if not self._retry_first_answer(crash):
                    raise self._crash_error("answer", crash) from None  # type: ignore[attr-defined]
            except BaseException:
                self._forget(rid)
                raise

    def _retry_first_answer(self, crash: Crash) -> bool:
        """A crash before any text of the first answer: reload one step safer and go on."""
        self._after_crash(crash)
        if self._answers or self._restart_level is None or self._restart_level <= self._level:
            return False
        log.warning("%s crashed before its first answer (%s); reloading in safe mode", self.name, describe_exit(crash.exitcode))
        try:
            self._ensure_running()  # type: ignore[attr-defined]
        except EngineCrashedError:
            return False
        return True

    def _stream(self, rid: int, q: queue.Queue[tuple[Any, ...]], messages: list[Message], params: GenParams,
                cancel: threading.Event) -> Iterator[Chunk]:
        got_text = False
        cancel_deadline = 0.0
        finished = False
        relay = StopRelay(cancel, lambda stopped: self._send_quietly(("cancel", stopped)), rid)  # type: ignore[attr-defined]
        try:
            while True:
                if cancel.is_set() and not cancel_deadline:
                    cancel_deadline = time.monotonic() + CANCEL_GRACE_S
                try:
                    msg = self._reply(q, _POLL_S)
                except Crash as crash:
                    if not got_text and not cancel.is_set() and self._retry_first_answer(crash):
                        self._forget(rid)
                        rid, q = self._begin(messages, params)
                        relay.rid = rid
                        continue
                    if cancel.is_set():  # it died while stopping: the answer stopped all the same
                        self._restart_level = self._level
                        finished = True
                        yield Chunk(done=True, finish_reason="cancelled")
                        return
                    self._after_crash(crash)
                    raise self._crash_error("answer", crash, kept=got_text) from None  # type: ignore[attr-defined]
                if msg is None:
                    if cancel_deadline and time.monotonic() > cancel_deadline:
                        log.warning("%s engine did not stop within %.0f s; ending its process", self.name, CANCEL_GRACE_S)
                        self._kill()  # type: ignore[attr-defined]
                        self._restart_level = self._level
                        finished = True
                        yield Chunk(done=True, finish_reason="cancelled")
                        return
                    continue
                kind = msg[0]
                if kind == "t":
                    got_text = True
                    yield Chunk(text=msg[2], thinking=msg[3], logprobs=msg[4] if len(msg) > 4 else None)
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
            self._forget(rid)
            if not finished:  # the caller stopped reading mid-answer: end it in the child
                self._send_quietly(("cancel", rid))  # type: ignore[attr-defined]
