"""The served models and the one engine that answers them.

One engine is loaded at a time, on one worker thread: requests go into a FIFO queue and
are answered in turn, so requests that arrive together wait and none is lost. A request
that names another model unloads the current one first (two models at once may not fit).
Each request has its own `threading.Event`: the HTTP side sets it when the client stops
reading or goes away, and the engine stops between tokens; a request cancelled while
still queued is skipped.

Engines are blocking iterators; `Job.items()` bridges their chunks to asyncio.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.types import Chunk, GenParams, Message, ModelRef
from assistant.engines.base import Engine
from assistant.errors import AssistantError, EngineCrashedError, EngineError, ModelNotFoundError
from assistant.library.installed import installed_models, model_ref_for_path
from assistant.settings import Settings

log = logging.getLogger(__name__)

Prepare = Callable[[ModelRef, Settings], tuple[Engine, Any, Any]]


@dataclass(frozen=True)
class PromptCount:
    """The rendered prompt's length, sent before the answer when a job asks for it."""

    tokens: int


_END = object()  # the job is over (after its last chunk or its error)


@dataclass
class Job:
    model: ModelRef
    messages: list[Message]
    params: GenParams
    count_prompt: bool = False  # Anthropic's message_start carries the input tokens
    cancel: threading.Event = field(default_factory=threading.Event)
    finish_reason: str | None = None  # set by the worker: stop / length / cancelled / error
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
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel.set()  # a no-op once the engine finished; else it stops between tokens


class ModelHost:
    """The models the server offers, and the worker thread that runs its one engine."""

    def __init__(self, settings: Settings, models_dir: Path, *, pinned: list[ModelRef] | None = None,
                 prepare: Prepare | None = None) -> None:
        self._settings = settings
        self._models_dir = models_dir
        self._pinned = list(pinned or [])  # --model PATH: served even when outside the models folder
        self._prepare = prepare
        self._jobs: queue.Queue[Job | ModelRef | None] = queue.Queue()
        self._engine: Engine | None = None
        self._model: ModelRef | None = None
        self._thread = threading.Thread(target=self._work, name="api-server-engine", daemon=True)
        self.finished: list[str] = []  # finish reasons, newest last (tests, the server page)
        self._started = False
        self._current: Job | None = None

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

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def loaded(self) -> ModelRef | None:
        return self._model

    # -- the queue -------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def preload(self, model: ModelRef) -> None:
        """Load `model` ahead of the first request (in turn, like a request)."""
        self.start()
        self._jobs.put(model)

    def submit(self, job: Job) -> None:
        self.start()
        self._jobs.put(job)

    def close(self, timeout_s: float = 30) -> None:
        """Stop the worker after the job in hand (queued ones are cancelled) and unload."""
        pending: list[Job] = []
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Job):
                pending.append(item)
        for job in pending:
            job.cancel.set()
            job.emit(_END)
        current = self._current
        if current is not None:
            current.cancel.set()  # the answer in hand stops between tokens
        self._jobs.put(None)
        if self._started:
            self._thread.join(timeout_s)
        else:
            self._unload()

    # -- the worker thread -------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                break
            if isinstance(item, ModelRef):
                try:
                    self._ensure(item)
                except AssistantError as exc:
                    log.warning("preloading %s failed: %s", item.display_name, exc.message)
                continue
            self._current = item
            try:
                self._run(item)
            finally:
                self._current = None
        self._unload()

    def _run(self, job: Job) -> None:
        try:
            if job.cancel.is_set():  # the client left while it waited
                job.finish_reason = "cancelled"
                return
            engine = self._ensure(job.model)
            if job.count_prompt:
                job.emit(PromptCount(engine.count_tokens(job.messages)))
            for chunk in engine.stream_chat(job.messages, job.params, job.cancel):
                if chunk.done:
                    job.finish_reason = chunk.finish_reason or "stop"
                job.emit(chunk)
        except AssistantError as exc:
            job.finish_reason = "error"
            if isinstance(exc, EngineCrashedError):
                self._unload()  # the next request starts a new process
            job.emit(exc)
        except Exception as exc:  # an engine bug: the request fails, the server goes on
            log.exception("API server request failed")
            job.finish_reason = "error"
            job.emit(EngineError(f"The answer failed: {type(exc).__name__}.", "The app's log has the details."))
        finally:
            self.finished.append(job.finish_reason or "cancelled")
            job.emit(_END)

    def _ensure(self, model: ModelRef) -> Engine:
        if self._engine is not None and self._model is not None and self._model.path == model.path:
            return self._engine
        self._unload()
        if self._prepare is None:
            from assistant.engines.factory import prepare

            self._prepare = prepare
        engine, options, plan = self._prepare(model, self._settings)
        log.info("API server: loading %s (%s)", model.display_name, getattr(plan, "reason", ""))
        engine.load(model, options)
        self._engine, self._model = engine, model
        return engine

    def _unload(self) -> None:
        engine, self._engine, self._model = self._engine, None, None
        if engine is not None:
            try:
                engine.unload()
            except Exception:
                log.exception("unloading the API server's engine failed")
