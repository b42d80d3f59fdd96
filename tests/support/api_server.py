"""The real API server on 127.0.0.1 for a test module: `running(...)` starts it with the
given model and settings (shared engines, no idle unload) and stops it and its engines at
the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.core.types import ModelRef
from assistant.server.runner import ApiServer, ServerConfig
from assistant.settings import Settings


@contextmanager
def running(model: ModelRef, settings: Settings, models_dir: Path, token: str,
            prepare: Callable[..., Any] | None = None) -> Iterator[ApiServer]:
    from assistant.engines.shared import SharedEngines

    srv = ApiServer(ServerConfig("127.0.0.1", 0, model), settings, models_dir, token)
    srv.host.engines = SharedEngines(prepare=prepare, idle_unload_s=None) if prepare else SharedEngines(idle_unload_s=None)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        srv.host.engines.close()
