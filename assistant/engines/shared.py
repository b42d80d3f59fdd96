"""One engine process per model, shared by the window's chat and the API server.

The window and its API server used to load a model each, twice the memory for the same
weights. Now both ask this registry: a model already loaded is handed out as it is (the
same EngineProxy; its answer loop runs their answers side by side), and a model is
loaded once, on demand (JIT).

Who keeps a model loaded:
- a holder (the window, for the model chosen in its header) keeps it until it lets go;
  letting go of a model nobody else is using unloads it at once (switching models never
  needs two in memory);
- a user (one API request) keeps it while the request runs; a model no holder keeps is
  unloaded after `idle_unload_s` without requests (LM Studio's TTL, Ollama's
  keep_alive; Settings → Server, 10 minutes by default). Its process ends, and every page
  of the model goes back to the system.

Models on the user's own servers (format "remote") have no process: they are handed
out loaded, not shared.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from assistant.core.types import ModelRef
from assistant.engines.base import Engine
from assistant.settings import Settings

log = logging.getLogger(__name__)

Prepare = Callable[[ModelRef, Settings], tuple[Engine, Any, Any]]
IDLE_UNLOAD_S = 600.0


@dataclass
class _Entry:
    model: ModelRef
    engine: Engine
    options: Any
    plan: Any
    holders: set[str] = field(default_factory=set)
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)
    ready: threading.Event = field(default_factory=threading.Event)  # loaded (or failed)
    error: BaseException | None = None


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model, as `assistant models ps` shows it."""

    model: ModelRef
    holders: tuple[str, ...]  # who keeps it loaded: the window's chat, the server's --model
    requests: int  # requests answering with it now
    idle_unload_in_s: float | None  # None: kept (held, in use, or no idle unload)
    pid: int | None  # its engine process


class SharedEngines:
    def __init__(self, prepare: Prepare | None = None, idle_unload_s: float | None = IDLE_UNLOAD_S) -> None:
        self._prepare = prepare
        self.idle_unload_s = idle_unload_s  # None or 0: never
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None
        self.unloaded: list[str] = []  # paths unloaded for idleness, newest last (tests, logs)

    def _key(self, model: ModelRef) -> str:
        return str(model.path)

    def _prep(self, model: ModelRef, settings: Settings) -> tuple[Engine, Any, Any]:
        if self._prepare is None:
            from assistant.engines.factory import prepare

            self._prepare = prepare
        return self._prepare(model, settings)

    # -- handing out -------------------------------------------------------------------------
    def loaded(self) -> list[tuple[ModelRef, Engine]]:
        with self._lock:
            return [(e.model, e.engine) for e in self._entries.values() if e.ready.is_set() and e.error is None]

    def status(self) -> list[LoadedModel]:
        """Every loaded model: who keeps it, and how long until the idle unload."""
        now, ttl = time.monotonic(), self.idle_unload_s
        out = []
        with self._lock:
            for e in self._entries.values():
                if not e.ready.is_set() or e.error is not None:
                    continue
                left = None if e.holders or e.users or not ttl else max(0.0, e.last_used + ttl - now)
                out.append(LoadedModel(e.model, tuple(sorted(e.holders)), e.users, left, getattr(e.engine, "pid", None)))
        return out

    def unload(self, model: ModelRef, may_release: frozenset[str] = frozenset()) -> None:
        """Unload `model` now. Refused (EngineError) while a request answers with it or a
        holder other than `may_release` keeps it; ModelNotFoundError when it is not loaded."""
        from assistant.errors import EngineError, ModelNotFoundError

        with self._lock:
            entry = self._entries.get(self._key(model))
            if entry is None or not entry.ready.is_set():
                raise ModelNotFoundError(f"{model.display_name} is not loaded.", "`assistant models ps` lists the loaded ones.")
            if entry.users:
                raise EngineError(f"{model.display_name} is answering a request.", "Try again when it is done.")
            if entry.holders - may_release:
                raise EngineError(f"The window's chat is using {model.display_name}, so it stays loaded.",
                                  "Choose another model in the window, or close it.")
            del self._entries[self._key(model)]
        self._unload(entry)

    def engine_for(self, model: ModelRef) -> Engine | None:
        """The model's engine when it is loaded (nothing is loaded for asking)."""
        with self._lock:
            e = self._entries.get(self._key(model))
        return e.engine if e is not None and e.ready.is_set() and e.error is None else None

    def hold(self, model: ModelRef, settings: Settings, holder: str,
             loading: Callable[[Engine], None] | None = None) -> tuple[Engine, Any]:
        """The model's engine, loaded if it is not, kept for `holder` until release();
        (engine, plan). `loading` sees the engine before a load begins (to cancel it)."""
        entry = self._acquire(model, settings, loading, reload_if_changed=True)
        with self._lock:
            entry.holders.add(holder)
            entry.users -= 1
            entry.last_used = time.monotonic()
        return entry.engine, entry.plan

    def release(self, model: ModelRef, holder: str) -> None:
        """The holder lets go: unloaded now unless a request uses it or another holds it."""
        with self._lock:
            entry = self._entries.get(self._key(model))
            if entry is None:
                return
            entry.holders.discard(holder)
            free = not entry.holders and entry.users == 0
            if free:
                del self._entries[self._key(model)]
        if free:
            self._unload(entry)

    @contextlib.contextmanager
    def use(self, model: ModelRef, settings: Settings) -> Iterator[Engine]:
        """The model's engine for one request (loaded on demand); idle time counts from its end."""
        entry = self._acquire(model, settings, None, reload_if_changed=False)
        try:
            yield entry.engine
        finally:
            with self._lock:
                entry.users -= 1
                entry.last_used = time.monotonic()
            self._ensure_watcher()

    def _acquire(self, model: ModelRef, settings: Settings, loading: Callable[[Engine], None] | None,
                 *, reload_if_changed: bool) -> _Entry:
        key = self._key(model)
        while True:
            with self._lock:
                entry = self._entries.get(key)
                stale = None
                if entry is not None and entry.ready.is_set() and entry.error is None and reload_if_changed:
                    engine, options, plan = self._prep(model, settings)
                    if options != entry.options and entry.options is not None:
                        # the window asks for other load options (context, threads...): reload with them
                        stale, entry = self._entries.pop(key), None
                        log.info("reloading %s with new load options", model.display_name)
                    else:
                        entry.plan = plan
                if entry is None:
                    if stale is None:
                        engine, options, plan = self._prep(model, settings)
                    entry = _Entry(model, engine, options, plan)
                    self._entries[key] = entry
                    mine = True
                else:
                    mine = False
                entry.users += 1
            if stale is not None:
                self._unload(stale)
            if mine:
                self._load(entry, loading)
            else:
                entry.ready.wait()
            if entry.error is None:
                return entry
            with self._lock:
                entry.users -= 1
            if mine:
                raise entry.error
            # the load another caller started failed: try ourselves (it says why)

    def _load(self, entry: _Entry, loading: Callable[[Engine], None] | None) -> None:
        try:
            if loading is not None:
                loading(entry.engine)
            log.info("loading %s (%s)", entry.model.display_name, getattr(entry.plan, "reason", ""))
            entry.engine.load(entry.model, entry.options)
        except BaseException as exc:
            entry.error = exc
            with self._lock:
                if self._entries.get(self._key(entry.model)) is entry:
                    del self._entries[self._key(entry.model)]
        finally:
            entry.ready.set()
        self._ensure_watcher()

    # -- letting go ----------------------------------------------------------------------------
    def _unload(self, entry: _Entry) -> None:
        try:
            entry.engine.unload()
        except Exception:
            log.exception("unloading %s failed", entry.model.display_name)

    def _ensure_watcher(self) -> None:
        if not self.idle_unload_s:
            return
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                self._wake.set()
                return
            self._watcher = threading.Thread(target=self._watch, name="idle unload", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        while True:
            ttl = self.idle_unload_s
            if not ttl:
                return
            now = time.monotonic()
            due: list[_Entry] = []
            wait = ttl
            with self._lock:
                for key, e in list(self._entries.items()):
                    if e.holders or e.users or not e.ready.is_set():
                        continue
                    left = e.last_used + ttl - now
                    if left <= 0:
                        due.append(self._entries.pop(key))
                    else:
                        wait = min(wait, left)
                last = not self._entries
                if last:
                    self._watcher = None
            for e in due:
                log.info("unloading %s: no request for %.0f s", e.model.display_name, ttl)
                self.unloaded.append(str(e.model.path))
                self._unload(e)
            if last:
                return
            self._wake.wait(max(0.05, wait))
            self._wake.clear()

    def unload_idle(self, keep: ModelRef | None = None) -> None:
        """Unload every model no holder keeps and no request uses (before loading another
        one for the API server: two models at once may not fit)."""
        with self._lock:
            due = [self._entries.pop(k) for k, e in list(self._entries.items())
                   if not e.holders and not e.users and e.ready.is_set() and (keep is None or k != self._key(keep))]
        for e in due:
            self._unload(e)

    def close(self) -> None:
        """Unload everything (the app or `assistant serve` is ending)."""
        with self._lock:
            entries, self._entries = list(self._entries.values()), {}
            self.idle_unload_s = None
            self._wake.set()
        for e in entries:
            self._unload(e)


_default: SharedEngines | None = None
_default_lock = threading.Lock()


def shared_engines() -> SharedEngines:
    """The process's registry: the window's chat and its API server both use this one."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SharedEngines()
        return _default


