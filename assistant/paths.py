"""Every file location the app uses.

One environment variable, ASSISTANT_HOME, moves them all under one root (tests and
portable installs use it); otherwise the platform's usual folders (platformdirs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "assistant"
HOME_ENV = "ASSISTANT_HOME"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "assistant.log"

    def ensure(self) -> "Paths":
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def get_paths() -> Paths:
    root = os.environ.get(HOME_ENV)
    if root:
        r = Path(root).expanduser().resolve()
        return Paths(r / "config", r / "data", r / "cache", r / "logs")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
