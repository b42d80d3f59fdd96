"""The network activity record: one JSON line per connection or request, in the data
folder, newest last; listeners hear of each new line (the GUI's Network activity page).

Never stored: headers, query strings, fragments, bodies, user info.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from assistant.paths import get_paths

log = logging.getLogger(__name__)

RECORD_NAME = "network_activity.jsonl"
MAX_RECORD_BYTES = 4 * 1024 * 1024  # past this the oldest half is dropped
UNATTRIBUTED = "unattributed"
OK, BLOCKED, ATTEMPTED = "ok", "blocked", "attempted"  # "error: ..." otherwise
INBOUND = "in"


@dataclass(frozen=True)
class NetworkEntry:
    """One connection or request. bytes_* are None where they could not be measured."""

    time: float  # epoch seconds, when it started
    host: str
    port: int | None
    purpose: str
    method: str = ""  # empty for a raw socket
    path: str = ""  # never a query string
    bytes_sent: int | None = None
    bytes_received: int | None = None
    outcome: str = OK  # ok / blocked / attempted (raw socket) / error: ...
    status: int | None = None  # HTTP status
    # "in": a request to the app's own API server (host and port are the client's)
    direction: str = "out"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkEntry:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["time"] = float(kwargs["time"])  # sorted on: a bad value drops the line
        return cls(**kwargs)


_record_lock = threading.Lock()
_origin = ""  # "terminal": `assistant models ...` made the requests (said in each outgoing line's purpose)


def set_origin(name: str) -> None:
    """Say in every outgoing line's purpose where the requests came from ("" for the window)."""
    global _origin
    _origin = name


def with_origin(entry: NetworkEntry) -> NetworkEntry:
    suffix = f" (from the {_origin})" if _origin else ""
    if not suffix or entry.direction == INBOUND or entry.purpose.endswith(suffix):
        return entry
    return replace(entry, purpose=entry.purpose + suffix)
_listeners: list[Callable[[NetworkEntry | None], None]] = []
_listeners_lock = threading.Lock()


def record_path() -> Path:
    return get_paths().data_dir / RECORD_NAME


def record(entry: NetworkEntry) -> None:
    """Append one line to the record and tell the listeners."""
    entry = with_origin(entry)
    line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
    path = record_path()
    with _record_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(line)
            size = f.tell()
        if size > MAX_RECORD_BYTES:
            _drop_oldest_half(path)
    _notify(entry)


def _drop_oldest_half(path: Path) -> None:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(lines[len(lines) // 2 :]), encoding="utf-8")
    os.replace(tmp, path)


def entries(limit: int | None = None) -> list[NetworkEntry]:
    """The record, newest first. Damaged lines (a crash mid-write) are skipped."""
    try:
        text = record_path().read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out: list[NetworkEntry] = []
    for line in text.splitlines():
        try:
            out.append(NetworkEntry.from_dict(json.loads(line)))
        except (ValueError, TypeError, KeyError):
            continue
    out.sort(key=lambda e: e.time, reverse=True)
    return out if limit is None else out[:limit]


def clear() -> None:
    with _record_lock:
        record_path().unlink(missing_ok=True)
    _notify(None)


def subscribe(callback: Callable[[NetworkEntry | None], None]) -> Callable[[], None]:
    """Call `callback(entry)` after each new line, `callback(None)` after `clear()`.

    Callbacks run on whatever thread did the recording: a GUI marshals them to its own
    thread. Returns a function that unsubscribes.
    """
    with _listeners_lock:
        _listeners.append(callback)

    def unsubscribe() -> None:
        with _listeners_lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return unsubscribe


def _notify(entry: NetworkEntry | None) -> None:
    with _listeners_lock:
        listeners = list(_listeners)
    for callback in listeners:
        try:
            callback(entry)
        except Exception:  # a broken listener must not break a download
            log.exception("network activity listener failed")


def safe_record(entry: NetworkEntry) -> None:
    # from the audit hook: a full disk must not turn into a failed connection
    try:
        record(entry)
    except Exception:
        pass
