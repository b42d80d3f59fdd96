"""Runs the local API server (assistant/server/) for the window: starting and stopping
happen on the thread pool (the keyring holds the token; uvicorn and the model load run
on threads of their own), results come back as signals."""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from assistant.errors import AssistantError
from assistant.server import auth
from assistant.server.runner import ALL_INTERFACES, LOOPBACK, ApiServer, ServerConfig
from assistant.settings import ServerSettings, Settings
from assistant.ui.common.jobs import Job, run_job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerState:
    running: bool
    url: str = ""
    error: str = ""

    @property
    def text(self) -> str:
        if self.error:
            return f"Not running: {self.error}"
        return f"Running at {self.url}" if self.running else "Off"


class ServerHost(QObject):
    state_changed = Signal(object)  # ServerState

    def __init__(self, models_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._models_dir = models_dir
        self._server: ApiServer | None = None
        self._wanted: ServerSettings | None = None
        self._jobs: list[Job] = []
        self._lock = threading.Lock()
        self.state = ServerState(False)

    def apply(self, settings: Settings) -> None:
        """Start, stop or restart to match Settings → Server."""
        wanted = copy.deepcopy(settings.server) if settings.server.enabled else None
        if wanted is not None and settings.offline_mode:
            wanted.local_network = False  # Offline mode: this computer only (nothing leaves it)
        if wanted == self._wanted:
            return
        self._wanted = wanted
        snapshot = copy.deepcopy(settings)

        def work() -> ApiServer | None:
            with self._lock:  # one change at a time, in order: a restart frees the port first
                server, self._server = self._server, None
                if server is not None:
                    server.stop()
                if wanted is None:
                    return None
                token = auth.get_or_create_token()
                host = ALL_INTERFACES if wanted.local_network else LOOPBACK
                new = ApiServer(ServerConfig(host, wanted.port), snapshot, self._models_dir, token)
                new.start()
                self._server = new
                return new

        self._jobs.append(run_job(work, self._on_started, self._on_failed, on_end=self._jobs.remove))

    def restart(self, settings: Settings) -> None:
        """Start again (a new token), when it runs."""
        if self._wanted is not None:
            self._wanted = None
            self.apply(settings)

    def _on_started(self, server: ApiServer | None) -> None:
        self._set(ServerState(server is not None, server.url if server else ""))

    def _on_failed(self, error: Exception) -> None:
        self._wanted = None  # a retry with the same settings tries again
        self._set(ServerState(False, error=error.message if isinstance(error, AssistantError) else str(error)))

    def _set(self, state: ServerState) -> None:
        self.state = state
        self.state_changed.emit(state)

    def shutdown(self) -> None:
        """At window close: stop here and now (the process is ending)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop(timeout_s=5)
