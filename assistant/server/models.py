"""The served models, the engines that answer them, and the server's slots.

Engines come from the process's shared registry (engines/shared.py): the model the
window's chat has loaded is answered by the same engine process, and a model loaded for
a request (JIT) is unloaded after the idle time set in Settings → Server. A request that
needs a model not loaded unloads the server's idle ones first (two models at once may
not fit).

Slots: up to `parallel` requests run at once (the engine's answer loop decodes them
together); up to `queue` more wait, in order. Past that a request is refused at once
with 429 and Retry-After (`ServerBusy`), rather than held without limit. A request with
n choices takes n slots. Each request has its own `threading.Event`: the HTTP side sets
it when the client goes away, and the engine ends that answer within one step; a request
cancelled while still queued is skipped.

Engines are blocking iterators; each running request reads its stream on a thread of
its own, and `Job.items()` bridges the chunks to asyncio.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.types import Chunk, GenParams, Message, ModelRef
from assistant.engines.shared import Prepare, SharedEngines, shared_engines
from assistant.errors import AssistantError, EngineError, ModelNotFoundError
from assistant.library.installed import installed_models, model_ref_for_path
from assistant.settings import Settings

log = logging.getLogger(__name__)

PINNED = "api-server"  # the holder of `assistant serve --model`'s model: no idle unload


@dataclass(frozen=True)
class PromptCount:
    """The rendered prompt's length, sent before the answer when a job asks for it."""

    tokens: int


_END = object()  # the job is over (after its last chunk or its error)
_END_LEFT = object()  # the client went away (put by the HTTP side)


class ClientLeft(Exception):
    """The job's client went away: nobody reads the rest."""


@dataclass(frozen=True)
class Choice:
    """An item of one of a job's n answers (n > 1)."""

    index: int
    item: Any


class ServerBusy(AssistantError):
    """Every slot is busy and the queue is full (429, with Retry-After)."""

    def __init__(self, message: str, hint: str, retry_after_s: int) -> None:
        super().__init__(message, hint)
        self.retry_after_s = retry_after_s


@dataclass
class Job:
    model: ModelRef
    messages: list[Message]
    params: GenParams
    count_prompt: bool = False  # Anthropic's message_start carries the input tokens
    n: int = 1  # answers to the same messages (OpenAI's n), each its own slot and seed
    cancel: threading.Event = field(default_factory=threading.Event)
    finish_reason: str | None = None  # set by the worker: stop / length / cancelled / error
    on_end: Callable[[], None] | None = None  # when the job is over (the request's images go)
    _loop: asyncio.AbstractEventLoop | None = None
    _queue: asyncio.Queue[Any] | None = None

    def bind(self) -> None:
        """Called on the event loop before the job is queued."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()

    def emit(self, item: Any) -> None:
        """From the worker thread: a Chunk, a PromptCount, an AssistantError or _END."""
        if self._loop is not None and self._queue is not None:
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: the server is stopping
                pass

    async def items(self) -> AsyncGenerator[Chunk | PromptCount, None]:
        """The job's chunks as they come; raises the engine's AssistantError. Closing this
        iterator early (client gone, stop) cancels the generation."""
        assert self._queue is not None, "bind() first"
        try:
            while True:
                item = await self._queue.get()
                if item is _END:
                    return
                if item is _END_LEFT:
                    raise ClientLeft
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel.set()  # a no-op once the engine finished; else it stops between tokens


class ModelHost:
    """The models the server offers, its slots and queue, and the shared engines."""

    def __init__(self, settings: Settings, models_dir: Path, *, pinned: list[ModelRef] | None = None,
                 prepare: Prepare | None = None, engines: SharedEngines | None = None) -> None:
        # a model the server loads gets the server's slots (factory.prepare reads `enabled`)
        settings = dataclasses.replace(settings, server=dataclasses.replace(settings.server, enabled=True))
        self._settings = settings
        self._models_dir = models_dir
        self._pinned = list(pinned or [])  # --model PATH: served even when outside the models folder
        if engines is None:
            engines = shared_engines() if prepare is None else SharedEngines(prepare)
        self.engines = engines
        s = settings.server
        self.slots = max(1, int(s.parallel))
        self.queue_max = max(0, int(s.queue))
        if s.idle_unload_minutes is not None:
            engines.idle_unload_s = float(s.idle_unload_minutes) * 60 or None
        self._cond = threading.Condition()
        self._running = 0  # slots taken
        self._admitted = 0  # slots taken and asked for by queued jobs
        self._jobs: list[Job] = []  # every job not yet over
        self._durations: list[float] = []  # of recent jobs: the Retry-After estimate
        self._held: list[ModelRef] = []
        self._closed = False
        self.finished: list[str] = []  # finish reasons, newest last (tests, the server page)

    # -- the model list ------------------------------------------------------------
    def models(self) -> list[ModelRef]:
        refs = list(self._pinned) + installed_models(self._models_dir)
        for extra in self._settings.extra_models:
            p = Path(extra)
            if p.exists():
                refs.append(model_ref_for_path(p))
        out: list[ModelRef] = []
        seen: set[str] = set()
        for ref in refs:
            if str(ref.path) not in seen:
                seen.add(str(ref.path))
                out.append(ref)
        return out

    def find(self, name: str) -> ModelRef:
        """The served model called `name` (its id in /v1/models, or its file name)."""
        wanted = (name or "").strip()
        refs = self.models()
        for ref in refs:
            if wanted.lower() in (ref.display_name.lower(), ref.path.name.lower(), str(ref.path).lower()):
                return ref
        names = ", ".join(r.display_name for r in refs) or "none"
        raise ModelNotFoundError(
            f"No model called “{wanted}” is served here." if wanted else "The request names no model.",
            f"Models: {names}. GET /v1/models lists them.",
        )

    def context_length(self, model: ModelRef) -> int:
        """What a request gets: the loaded engine's window, else the one a load would give."""
        engine = self.engines.engine_for(model)
        if engine is not None:
            return engine.context_length
        from assistant import model_settings
        from assistant.core.gguf_meta import read_gguf

        n = model_settings.load_settings_for(self._settings, model.path).context_length
        if model.format == "gguf":
            try:
                trained = read_gguf(model.path).context_length or 0
            except (AssistantError, OSError):
                trained = 0
            if trained:
                n = min(n, trained)
        return n

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def loaded(self) -> ModelRef | None:
        got = self.engines.loaded()
        return got[0][0] if got else None

    @property
    def busy(self) -> tuple[int, int]:
        """(slots taken, jobs waiting)."""
        with self._cond:
            return self._running, self._admitted - self._running

    # -- what is loaded (`assistant models ps` / `unload`) ---------------------------------
    def loaded_models(self) -> list[Any]:
        return self.engines.status()

    def unload(self, name: str) -> ModelRef:
        """Unload the loaded model called `name` (the server's own --model too); the window's stays."""
        wanted = (name or "").strip().lower()
        for row in self.engines.status():
            ref = row.model
            if wanted in (ref.display_name.lower(), ref.path.name.lower(), str(ref.path).lower()):
                self.engines.unload(ref, frozenset({PINNED}))
                self._held = [m for m in self._held if str(m.path) != str(ref.path)]
                return ref
        loaded = ", ".join(r.model.display_name for r in self.engines.status()) or "none"
        raise ModelNotFoundError(f"No loaded model is called “{name}”.", f"Loaded now: {loaded}.")

    # -- slots and queue ----------------------------------------------------------------
    def preload(self, model: ModelRef) -> None:
        """Load `model` now, on a thread, and keep it loaded while the server runs."""

        def load() -> None:
            try:
                self.engines.hold(model, self._settings, PINNED)
                self._held.append(model)
            except AssistantError as exc:
                log.warning("preloading %s failed: %s", model.display_name, exc.message)

        threading.Thread(target=load, name="api-server preload", daemon=True).start()

    def submit(self, job: Job) -> None:
        """Runs the job when its slots are free; ServerBusy when slots and queue are full."""
        with self._cond:
            if self._closed:
                raise EngineError("The API server is stopping.", "Try again when it runs.")
            if job.n > self.slots:
                from assistant.server.protocol import BadRequest

                raise BadRequest(f"n = {job.n} needs more answers at once than this server runs ({self.slots}).",
                                 f"Ask for n <= {self.slots}, or raise “Answers at once” in Settings → Server.")
            if self._admitted + job.n > self.slots + self.queue_max:
                raise ServerBusy(
                    f"The server is busy: {self._running} answers are running and {self._admitted - self._running} "
                    "are waiting, the most it takes.", "Try again shortly.", self._retry_after())
            self._admitted += job.n
            self._jobs.append(job)
        threading.Thread(target=self._run, args=(job,), name="api-server request", daemon=True).start()

    def _retry_after(self) -> int:
        recent = self._durations[-16:]
        mean = sum(recent) / len(recent) if recent else 5.0
        waiting = self._admitted - self._running
        return max(1, min(60, round(mean * (1 + waiting / self.slots))))

    def close(self, timeout_s: float = 30) -> None:
        """Cancel every job (queued or running), let go of the server's models."""
        with self._cond:
            self._closed = True
            jobs = list(self._jobs)
            self._cond.notify_all()
        for job in jobs:
            job.cancel.set()
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._jobs and time.monotonic() < deadline:
                self._cond.wait(0.1)
        for model in self._held:
            self.engines.release(model, PINNED)
        self._held.clear()
        self.engines.unload_idle()  # models loaded for requests; the window's stay

    # -- a job ------------------------------------------------------------------------------
    def _run(self, job: Job) -> None:
        t0 = time.monotonic()
        got_slots = False
        try:
            with self._cond:  # wait for n slots at once (n at a time: no two jobs hold half each)
                while not self._closed and not job.cancel.is_set() and self._running + job.n > self.slots:
                    self._cond.wait(0.25)
                if self._closed or job.cancel.is_set():
                    job.finish_reason = "cancelled"  # the client left while it waited
                    return
                self._running += job.n
                got_slots = True
            if self.engines.engine_for(job.model) is None:
                self.engines.unload_idle(keep=job.model)
            with self.engines.use(job.model, self._settings) as engine:
                if job.count_prompt:
                    job.emit(PromptCount(engine.count_tokens(job.messages)))
                if job.n == 1:
                    self._answer(engine, job, job.params, None)
                else:
                    self._answer_n(engine, job)
        except AssistantError as exc:
            job.finish_reason = "error"
            job.emit(exc)
        except Exception as exc:  # an engine bug: the request fails, the server goes on
            log.exception("API server request failed")
            job.finish_reason = "error"
            job.emit(EngineError(f"The answer failed: {type(exc).__name__}.", "The app's log has the details."))
        finally:
            with self._cond:
                if got_slots:
                    self._running -= job.n
                    self._durations.append(time.monotonic() - t0)
                    del self._durations[:-64]
                self._admitted -= job.n
                self._jobs.remove(job)
                self._cond.notify_all()
            self.finished.append(job.finish_reason or "cancelled")
            if job.on_end is not None:
                job.on_end()
            job.emit(_END)

    def _answer(self, engine: Any, job: Job, params: GenParams, index: int | None) -> None:
        for chunk in engine.stream_chat(job.messages, params, job.cancel):
            if chunk.done and index is None:
                job.finish_reason = chunk.finish_reason or "stop"
            job.emit(chunk if index is None else Choice(index, chunk))

    def _answer_n(self, engine: Any, job: Job) -> None:
        """n answers side by side (each its own slot; seed + i when a seed is given)."""
        errors: list[BaseException] = []

        def one(i: int) -> None:
            p = job.params
            params = dataclasses.replace(p, seed=p.seed + i) if p.seed is not None and p.seed >= 0 else p
            try:
                self._answer(engine, job, params, i)
            except BaseException as exc:
                errors.append(exc)
                job.cancel.set()

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(1, job.n)]
        for t in threads:
            t.start()
        one(0)
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        job.finish_reason = "cancelled" if job.cancel.is_set() else "stop"
