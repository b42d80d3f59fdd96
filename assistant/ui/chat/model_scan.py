"""Find installed models and how each would run, off the GUI thread."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from assistant.engines.factory import plan_for
from assistant.errors import AssistantError
from assistant.library.installed import installed_models, model_ref_for_path
from assistant.settings import Settings
from assistant.ui.chat.models.installed import ModelEntry

log = logging.getLogger(__name__)


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
    return entries


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
