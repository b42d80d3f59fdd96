"""When each model was last used: `<data>/model_usage.json` {model path: ISO time}.

Written when a model finishes loading; read by the library's Installed list. A
damaged file is treated as empty (it only feeds a "last used" column).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

_lock = threading.Lock()


def usage_path(data_dir: Path) -> Path:
    return data_dir / "model_usage.json"


def load_usage(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("model usage file %s unreadable (%s); starting afresh", path, exc)
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".usage-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_used(path: Path, model_path: Path | str, when: datetime | None = None) -> None:
    """Note that `model_path` was just loaded. Never raises: usage is a nicety."""
    stamp = (when or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    with _lock:
        data = load_usage(path)
        data[str(model_path)] = stamp
        try:
            _save(path, data)
        except OSError as exc:
            log.warning("could not write %s: %s", path, exc)


def forget(path: Path, model_path: Path | str) -> None:
    """Drop a deleted model's entry."""
    with _lock:
        data = load_usage(path)
        if data.pop(str(model_path), None) is not None:
            try:
                _save(path, data)
            except OSError as exc:
                log.warning("could not write %s: %s", path, exc)


def last_used(usage: dict[str, str], model_path: Path | str) -> datetime | None:
    text = usage.get(str(model_path))
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def describe_last_used(when: datetime | None, now: datetime | None = None) -> str:
    """'never', 'today', 'yesterday', '3 days ago', or the date."""
    if when is None:
        return "Never"
    now = now or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    days = (now.astimezone(timezone.utc).date() - when.astimezone(timezone.utc).date()).days
    if days <= 0:
        return "Today"
    if days == 1:
        return "Yesterday"
    if days < 30:
        return f"{days} days ago"
    return when.date().isoformat()
