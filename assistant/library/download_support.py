"""Pieces of the downloader: request and progress types, safe paths, the progress meter,
the hash check, disk errors. download.py drives them."""

from __future__ import annotations

import errno
import hashlib
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from assistant.errors import DiskFullError, DownloadError
from assistant.library.hub import RemoteFile

PART_SUFFIX = ".part"
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass
class DownloadRequest:
    repo_id: str
    filenames: list[str]
    revision: str = "main"
    catalog_id: str | None = None
    license_id: str | None = None
    quant: str | None = None
    format: str = "gguf"
    license_name: str | None = None


@dataclass
class DownloadProgress:
    request: DownloadRequest
    state: str  # queued checking downloading verifying paused done failed cancelled
    bytes_done: int = 0
    bytes_total: int = 0
    speed_bps: float = 0.0
    eta_s: float | None = None
    message: str = ""
    result_path: Path | None = None
    error: Exception | None = field(default=None, repr=False)


class DownloadCancelled(Exception):
    """Internal: the cancel event was set."""


class DownloadPaused(Exception):
    """Internal: the pause event was set; the partial stays for a later resume."""


def folder_name(repo_id: str) -> str:
    """'org/repo' -> 'org__repo'; refuses anything that is not a plain Hub repo id."""
    if not _REPO_RE.match(repo_id) or ".." in repo_id:
        raise DownloadError(f"'{repo_id}' is not a Hugging Face model name.", "Names look like organisation/model-name.")
    return repo_id.replace("/", "__")


def safe_path(base: Path, name: str) -> Path:
    """`base/name` for a file name from the Hub, refusing any name that could land outside
    `base`: absolute paths, '..', backslashes, drive letters, control characters, and
    symlinks that lead out."""
    bad = (
        not name or "\\" in name or ":" in name or name.startswith("/") or "\x00" in name
        or any(ord(c) < 32 for c in name) or len(name) > 1024
    )
    parts = PurePosixPath(name).parts
    if bad or any(p in ("", ".", "..") for p in name.split("/")) or not parts:
        raise DownloadError(f"Refused a file name from the Hub that points outside the models folder: {name!r}.",
                            "The repository looks malformed; pick another one.")
    target = base.joinpath(*parts)
    root = base.resolve()
    if not target.resolve().is_relative_to(root):
        raise DownloadError(f"Refused {name!r}: it resolves outside the models folder (a symlink?).",
                            "Remove the stray link in the models folder and try again.")
    return target


def disk_free(path: Path) -> int:
    p = path
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


class ProgressMeter:
    """Bytes done/total, a smoothed speed and ETA; reports at most `1/interval` per second."""

    def __init__(self, emit: Callable[[DownloadProgress], None], base: DownloadProgress, interval: float) -> None:
        self._emit, self._p, self._interval = emit, base, interval
        self._last_emit = 0.0
        self._last_t, self._last_bytes = time.monotonic(), 0
        self._speed = 0.0

    def state(self, state: str, message: str = "", **kw: Any) -> None:
        self._p = replace(self._p, state=state, message=message, **kw)
        self._emit(self._p)
        self._last_emit = time.monotonic()

    def start_transfer(self, done: int) -> None:
        self._last_t, self._last_bytes = time.monotonic(), done
        self._p = replace(self._p, bytes_done=done)

    def add(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        dt = now - self._last_t
        if dt >= 0.25:  # speed over windows of >= 0.25 s, smoothed (EMA) across windows
            rate = (done - self._last_bytes) / dt
            self._speed = rate if self._speed == 0 else 0.3 * rate + 0.7 * self._speed
            self._last_t, self._last_bytes = now, done
        remaining = self._p.bytes_total - done
        eta = remaining / self._speed if self._speed > 0 else None
        self._p = replace(self._p, bytes_done=done, speed_bps=self._speed, eta_s=eta)
        if force or now - self._last_emit >= self._interval:
            self._emit(self._p)
            self._last_emit = now

    @property
    def progress(self) -> DownloadProgress:
        return self._p


class Retryable(Exception):
    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait_s = wait_s  # what the server asked for (429 Retry-After), else the back-off


class FileHasher:
    """SHA-256 for LFS files; the git blob sha1 (the ETag) for small files kept in git."""

    def __init__(self, r: RemoteFile) -> None:
        self.r = r
        self.reset()

    def reset(self) -> None:
        self._h: Any
        if self.r.sha256:
            self._h = hashlib.sha256()
        elif self.r.etag and re.fullmatch(r"[0-9a-f]{40}", self.r.etag):
            self._h = hashlib.sha1(b"blob %d\0" % self.r.size)
        else:
            self._h = None

    def update(self, block: bytes) -> None:
        if self._h is not None:
            self._h.update(block)

    def matches(self, size: int) -> bool:
        if size != self.r.size:
            return False
        if self._h is None:
            return True  # nothing to check against but the size
        return self._h.hexdigest() == (self.r.sha256 or self.r.etag)


def write_block(f: Any, block: bytes, part: Path) -> None:
    try:
        f.write(block)
    except OSError as exc:
        raise_disk_error(exc, part)


def raise_disk_error(exc: OSError, part: Path) -> None:
    if exc.errno == errno.ENOSPC:
        raise DiskFullError(
            f"The disk filled up while downloading {part.name.removesuffix(PART_SUFFIX)}.",
            "Free some space and resume: the part downloaded so far is kept.",
        ) from exc
    raise DownloadError(f"Could not write {part}: {exc.strerror}.", "Check the models folder.") from exc


def remove_empty_dirs(start: Path, stop: Path) -> None:
    p = start
    while p != stop and stop in p.parents:
        try:
            p.rmdir()
        except OSError:
            return
        p = p.parent
