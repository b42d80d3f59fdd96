"""Find installed models and how each would run, off the GUI thread."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from assistant import keys
from assistant.core.types import ModelRef
from assistant.engines import private
from assistant.engines.factory import plan_for
from assistant.errors import AssistantError, NetworkBlockedError
from assistant.library.installed import installed_models, model_ref_for_path
from assistant.settings import Settings
from assistant.ui.chat.models.installed import ModelEntry

log = logging.getLogger(__name__)
SERVER_TIMEOUT_S = 5.0  # a server that does not answer must not hold the picker back


def scan(models_dir: Path, settings: Settings) -> list[ModelEntry]:
    refs = installed_models(models_dir)
    seen = {str(r.path) for r in refs}
    for extra in settings.extra_models:
        p = Path(extra)
        if p.exists() and str(p) not in seen:
            refs.append(model_ref_for_path(p))
            seen.add(str(p))
    entries = []
    for ref in refs:
        try:
            plan = plan_for(ref, settings)
            entries.append(ModelEntry(ref, plan.backend, True))
        except AssistantError as exc:
            entries.append(ModelEntry(ref, exc.message.split(".")[0], False))
    return entries + [e for server in private.servers(settings) for e in server_entries(server)]


def server_entries(server: private.PrivateServer) -> list[ModelEntry]:
    """A private server's models, marked with the server; one row saying why when it
    cannot be asked (Offline mode, not reachable, key refused)."""
    try:
        key = keys.get_key(server.key_id) if server.has_key else None
        engine = private.PrivateServerEngine(server, "-", key, timeout_s=SERVER_TIMEOUT_S)
        try:
            ids = engine.list_models()
        finally:
            engine.unload()
    except AssistantError as exc:
        reason = "Offline mode is on" if isinstance(exc, NetworkBlockedError) else (
            "not reachable" if "not reachable" in exc.message else exc.message.split(".")[0])
        return [ModelEntry(ModelRef(Path("private", server.name), "remote", name=server.name), reason, False)]
    return [ModelEntry(private.model_ref(server, i), server.name, True) for i in ids]


class _Signals(QObject):
    finished = Signal(object)  # list[ModelEntry]


class ModelScan(QRunnable):
    def __init__(self, models_dir: Path, settings: Settings) -> None:
        super().__init__()
        self.signals = _Signals()
        self._dir, self._settings = models_dir, settings

    def run(self) -> None:
        try:
            entries = scan(self._dir, self._settings)
        except Exception:  # a scan bug must still end the "scanning" state in the GUI
            log.exception("model scan failed")
            entries = []
        self.signals.finished.emit(entries)


def start_scan(models_dir: Path, settings: Settings, on_done) -> ModelScan:  # type: ignore[no-untyped-def]
    job = ModelScan(models_dir, settings)
    job.signals.finished.connect(on_done)
    QThreadPool.globalInstance().start(job)
    return job
