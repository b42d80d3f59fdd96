"""Every file location the app uses.

One environment variable, ASSISTANT_HOME, moves them all under one root (tests and
portable installs use it); otherwise the platform's usual folders (platformdirs).
"""

from __future__ import annotations

import os
import tempfile
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

    def folders(self) -> tuple[Path, ...]:
        return (self.config_dir, self.data_dir, self.cache_dir, self.log_dir, self.models_dir)

    def ensure(self) -> "Paths":
        """Make the folders. One that cannot be made (a read-only mount, a full disk, a
        locked-down profile) is left for `unwritable` to name: the app starts anyway."""
        for d in self.folders():
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass
        return self

    def unwritable(self) -> list[tuple[Path, str]]:
        """The folders a file cannot be written in, each with the reason in words. A
        folder that cannot be made is named by the existing folder that refuses it, once."""
        out: list[tuple[Path, str]] = []
        for d in self.folders():
            try:
                d.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryFile(dir=d):
                    pass
            except OSError as exc:
                where = None if d.is_dir() else next((p for p in d.parents if p.is_dir()), None)
                if where is not None and not _can_write(where):
                    d = where
                if all(d != seen and seen not in d.parents for seen, _ in out):
                    out.append((d, exc.strerror or type(exc).__name__))
        return out


def _can_write(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def unwritable_message(problems: list[tuple[Path, str]]) -> str:
    """What a read-only folder means for the user, naming each one."""
    listed = "; ".join(f"{d} ({reason.lower()})" for d, reason in problems)
    return (f"The app cannot write to {'this folder' if len(problems) == 1 else 'these folders'}: {listed}. "
            "Settings, chats, downloads and logs kept there will not be saved until it is writable "
            f"(free some space, check its permissions, or set {HOME_ENV} to a folder you can write to).")


def paths_under(root: Path | str) -> Paths:
    """The folders under one root, as ASSISTANT_HOME lays them out."""
    r = Path(root).expanduser().resolve()
    return Paths(r / "config", r / "data", r / "cache", r / "logs")


def get_paths() -> Paths:
    root = os.environ.get(HOME_ENV)
    if root:
        return paths_under(root)
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
