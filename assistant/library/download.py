"""Download a model's files from the Hub: resumable, verified, never a partial in the library.

For each file: HEAD through huggingface_hub (`HubClient.file_metadata`: size, LFS sha256,
commit), then our own ranged GET (an httpx client from `network.httpx_client`) streaming
into `models/.downloads/<org>__<repo>/<filename>.part`, next to a JSON sidecar that holds
the pinned URL, size, sha256, etag, commit and the request. A partial left by a pause, a
crash or a SIGKILL is re-hashed from disk and continued with `Range: bytes=<size>-`.
Only when every file of the request is complete and verified (size, and SHA-256 against
the Hub's LFS hash, or the git blob sha1 for small files) are they moved into
`models/<org>__<repo>/` and the manifest written, so the library never sees half a model.

Blocking: run it on a worker thread (DownloadQueue does). Cancel and pause are
`threading.Event`s checked between chunks and during back-off waits.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant import network
from assistant.core.units import format_bytes
from assistant.errors import DiskFullError, DownloadError, HashMismatchError, HubError, NetworkBlockedError
from assistant.library.download_support import (
    PART_SUFFIX,
    DownloadCancelled,
    DownloadPaused,
    DownloadProgress,
    DownloadRequest,
    FileHasher,
    ProgressMeter,
    Retryable,
    disk_free,
    folder_name,
    raise_disk_error,
    remove_empty_dirs,
    safe_path,
    write_block,
)
from assistant.library.hub import HubClient, RemoteFile, parse_quant, refuse_if_offline, with_retries
from assistant.library.hub_access import MAX_RATE_WAIT_S, auth_headers_for, retry_after
from assistant.library.manifest import ManifestFile, ModelManifest, write_manifest

__all__ = [
    "DownloadCancelled", "DownloadPaused", "DownloadProgress", "DownloadRequest", "Downloader", "RetryPolicy",
    "folder_name", "safe_path",
]

DOWNLOADS_DIR = ".downloads"
SIDECAR_SUFFIX = ".part.json"
DOWNLOAD_PURPOSE = "Model download"
SPACE_MARGIN = 64 * 1024 * 1024  # keep this much free beyond the files themselves


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 5
    base_s: float = 1.0  # waits: base, 2*base, 4*base...


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class Downloader:
    """Downloads one request at a time (the queue serialises them)."""

    def __init__(
        self,
        models_dir: Path,
        endpoint: str | None = None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        free_space: Callable[[Path], int] = disk_free,
        chunk_size: int | None = None,  # None: write what the network hands over (a cut loses nothing)
        progress_interval: float = 0.1,
        hub: HubClient | None = None,
        token_source: Callable[[], str | None] | None = None,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.hub = hub or HubClient(endpoint)
        self.token_source = token_source  # read at each download (a token may be added meanwhile)
        self.retry = retry
        self.free_space = free_space
        self.chunk_size = chunk_size
        self.progress_interval = progress_interval

    # ---------------------------------------------------------------- locations
    def staging_dir(self, repo_id: str) -> Path:
        return self.models_dir / DOWNLOADS_DIR / folder_name(repo_id)

    def final_dir(self, repo_id: str) -> Path:
        return self.models_dir / folder_name(repo_id)

    def part_path(self, repo_id: str, filename: str) -> Path:
        staging = self.staging_dir(repo_id)
        staging.mkdir(parents=True, exist_ok=True)
        return safe_path(staging, filename + PART_SUFFIX)

    def partial_bytes(self, req: DownloadRequest) -> int:
        total = 0
        for name in req.filenames:
            try:
                total += self.part_path(req.repo_id, name).stat().st_size
            except (OSError, DownloadError):
                pass
        return total

    def discard(self, req: DownloadRequest) -> None:
        """Remove the request's partial files and sidecars (cancel)."""
        for name in req.filenames:
            try:
                part = self.part_path(req.repo_id, name)
            except DownloadError:
                continue
            part.unlink(missing_ok=True)
            part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX).unlink(missing_ok=True)
        remove_empty_dirs(self.staging_dir(req.repo_id), self.models_dir / DOWNLOADS_DIR)

    def pending(self) -> list[tuple[DownloadRequest, int, int]]:
        """Requests with partials under models/.downloads: (request, bytes on disk, bytes total)."""
        seen: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        reqs: dict[tuple[str, tuple[str, ...]], DownloadRequest] = {}
        root = self.models_dir / DOWNLOADS_DIR
        for car in sorted(root.rglob("*" + SIDECAR_SUFFIX)) if root.is_dir() else []:
            try:
                data = json.loads(car.read_text(encoding="utf-8"))
                req = DownloadRequest(**data["request"])
            except (OSError, ValueError, TypeError, KeyError):
                continue
            key = (req.repo_id, tuple(req.filenames))
            if key not in reqs:
                reqs[key] = req
                seen[key] = [self.partial_bytes(req), 0]
            seen[key][1] += int(data.get("size") or 0)
        return [(reqs[k], v[0], v[1]) for k, v in seen.items()]

    # ---------------------------------------------------------------- the download
    def download(
        self,
        req: DownloadRequest,
        on_progress: Callable[[DownloadProgress], None] = lambda p: None,
        cancel: threading.Event | None = None,
        pause: threading.Event | None = None,
    ) -> Path:
        """Download, verify and install; returns the first file (GGUF) or the folder (MLX).

        Raises DownloadCancelled / DownloadPaused when the events are set, and
        DownloadError / DiskFullError / HashMismatchError / HubError / NetworkBlockedError.
        """
        cancel = cancel or threading.Event()
        pause = pause or threading.Event()
        if not req.filenames:
            raise DownloadError("Nothing to download: no file was chosen.", "Pick a file of the model.")
        final = self.final_dir(req.repo_id)
        self.staging_dir(req.repo_id)  # validates the repo id
        for name in req.filenames:
            safe_path(self.staging_dir(req.repo_id), name + PART_SUFFIX)
            safe_path(final, name)
        refuse_if_offline(self.hub.endpoint, DOWNLOAD_PURPOSE, f"/{req.repo_id}/resolve/{req.revision}")
        if self.token_source is not None:
            self.hub.set_token(self.token_source())
        meter = ProgressMeter(on_progress, DownloadProgress(req, "checking"), self.progress_interval)
        meter.state("checking", "Asking Hugging Face about the files")
        with network.purpose(DOWNLOAD_PURPOSE):
            remotes = [self._remote(req, name, cancel, pause) for name in req.filenames]
            total = sum(r.size for r in remotes)
            meter.state("checking", "Checking free disk space", bytes_total=total)
            on_disk = sum(min(self._part_size(req, r), r.size) for r in remotes)
            self._check_space(total - on_disk)
            done_before = 0
            verified: list[tuple[RemoteFile, Path]] = []
            for r in remotes:
                part = self._fetch(req, r, meter, done_before, cancel, pause)
                verified.append((r, part))
                done_before += r.size
        self._install(req, verified, final)
        first = safe_path(final, req.filenames[0])
        result = final if req.format == "mlx" else first
        meter.state("done", "Downloaded and verified", bytes_done=total, eta_s=0.0, result_path=result)
        return result

    def _remote(self, req: DownloadRequest, name: str, cancel: threading.Event, pause: threading.Event) -> RemoteFile:
        car = self._sidecar(req, name)
        revision = req.revision
        if car is not None and car.get("commit"):
            revision = car["commit"]  # continue from the very commit the partial came from
        try:
            return with_retries(lambda: self.hub.file_metadata(req.repo_id, name, revision),
                                self.retry.tries, self.retry.base_s, lambda s: self._wait(s, cancel, pause))
        except HubError as exc:
            if getattr(exc, "gone", False):  # the partial can never be completed
                self._drop_part(req, name)
            raise
        finally:
            self._raise_if_stopped(cancel, pause)

    def _part_size(self, req: DownloadRequest, r: RemoteFile) -> int:
        try:
            return self.part_path(req.repo_id, r.filename).stat().st_size
        except OSError:
            return 0

    def _check_space(self, needed: int) -> None:
        free = self.free_space(self.models_dir)
        if needed + SPACE_MARGIN > free:
            raise DiskFullError(
                f"Not enough disk space: the download needs {format_bytes(needed + SPACE_MARGIN)}, "
                f"and {format_bytes(free)} is free.",
                "Free some space (or delete models you no longer use) and try again.",
                needed=needed + SPACE_MARGIN, free=free,
            )

    def _sidecar(self, req: DownloadRequest, name: str) -> dict[str, Any] | None:
        part = self.part_path(req.repo_id, name)
        try:
            return json.loads(part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX).read_text("utf-8"))
        except (OSError, ValueError):
            return None

    def _write_sidecar(self, req: DownloadRequest, r: RemoteFile, part: Path, range_ignored: bool = False) -> None:
        car = part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX)
        data = {"url": r.url, "size": r.size, "sha256": r.sha256, "etag": r.etag, "commit": r.commit,
                "revision": req.revision, "filename": r.filename, "request": asdict(req),
                "range_ignored": range_ignored}
        tmp = car.with_name(car.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, car)

    def _drop_part(self, req: DownloadRequest, name: str) -> None:
        part = self.part_path(req.repo_id, name)
        part.unlink(missing_ok=True)
        part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX).unlink(missing_ok=True)

    def _fetch(self, req: DownloadRequest, r: RemoteFile, meter: ProgressMeter, before: int,
               cancel: threading.Event, pause: threading.Event) -> Path:
        part = self.part_path(req.repo_id, r.filename)
        old = self._sidecar(req, r.filename)
        if old is not None and (old.get("sha256"), old.get("size")) != (r.sha256, r.size):
            part.unlink(missing_ok=True)  # another version of the file: start over
        no_range = bool(old and old.get("range_ignored"))
        if no_range and part.exists():  # this server cannot resume: checking the part would be wasted
            part.unlink()
            meter.state("checking", f"The server cannot resume downloads, so {r.filename} starts again "
                        "from the beginning.")
        self._write_sidecar(req, r, part, range_ignored=no_range)
        if part.exists() and part.stat().st_size > r.size:
            part.unlink()
        hasher = FileHasher(r)
        have = part.stat().st_size if part.exists() else 0
        if have:  # re-hash what is on disk: a crash may have left anything there
            meter.state("checking", f"Checking the {format_bytes(have)} already downloaded of {r.filename}")
            with open(part, "rb") as f:
                while block := f.read(1 << 20):
                    hasher.update(block)
                    self._raise_if_stopped(cancel, pause)
        meter.start_transfer(before + have)
        meter.state("downloading", f"Downloading {r.filename}")
        tries = 0
        while have < r.size:
            at_start = have
            try:
                have = self._get_range(r, part, have, hasher, meter, before, cancel, pause)
                tries = 0
            except Retryable as exc:
                if _size(part) > at_start:
                    tries = 0  # bytes kept arriving before the cut: the retry budget starts over
                tries += 1
                if tries >= self.retry.tries:
                    raise DownloadError(
                        f"The download of {r.filename} stopped: {exc.reason}, {tries} times.",
                        f"The {format_bytes(_size(part))} downloaded so far is kept; try again later to resume.",
                    ) from exc
                wait = exc.wait_s if exc.wait_s is not None else self.retry.base_s * 2 ** (tries - 1)
                meter.state("downloading", f"{exc.reason}; trying again ({tries} of {self.retry.tries - 1})"
                            + (f" in {wait:.0f} s" if wait >= 2 else ""))
                if self._wait(wait, cancel, pause):
                    self._raise_if_stopped(cancel, pause)
                have = _size(part)
                hasher = self._rehash(part, r)
        meter.state("verifying", f"Verifying {r.filename}")
        if not hasher.matches(have):
            self._drop_part(req, r.filename)
            raise HashMismatchError(
                f"{r.filename} arrived damaged: its checksum does not match the one Hugging Face lists.",
                "The broken file was removed. Try the download again.",
            )
        return part

    def _rehash(self, part: Path, r: RemoteFile) -> FileHasher:
        hasher = FileHasher(r)
        if not part.exists():
            return hasher
        with open(part, "rb") as f:
            while block := f.read(1 << 20):
                hasher.update(block)
        return hasher

    def _get_range(self, r: RemoteFile, part: Path, have: int, hasher: FileHasher, meter: ProgressMeter, before: int,
                   cancel: threading.Event, pause: threading.Event) -> int:
        import httpx2

        client = network.httpx_client(DOWNLOAD_PURPOSE, httpx_module=httpx2, follow_redirects=True,
                                      timeout=httpx2.Timeout(30.0, connect=10.0))
        # always ranged, from 0 too: the Hub's large-file storage wants a ranged request
        headers = {"Accept-Encoding": "identity", "Range": f"bytes={have}-"}
        headers.update(auth_headers_for(r.url, self.hub.endpoint, self.hub.token))  # the endpoint only
        try:
            with client, client.stream("GET", r.url, headers=headers) as resp:
                if resp.status_code == 404:
                    self._drop_part_file(part)
                    raise DownloadError(f"{r.filename} is no longer on the Hub.",
                                        "The repository changed; look at its files again and pick another one.")
                if resp.status_code == 429:
                    wait = retry_after(resp.headers)
                    if wait is not None and wait > MAX_RATE_WAIT_S:
                        raise DownloadError(f"The Hub asks to wait {wait / 60:.0f} minutes before more downloads "
                                            "(HTTP 429).", "Try again later; the part downloaded so far is kept.")
                    raise Retryable("the Hub asked to slow down (HTTP 429)", wait)
                if resp.status_code == 416 or resp.status_code >= 500 or resp.status_code == 408:
                    raise Retryable(f"the server answered HTTP {resp.status_code}")
                if resp.status_code in (401, 403):
                    raise DownloadError(f"The Hub refused {r.filename} (HTTP {resp.status_code}): the model is gated "
                                        "or private.", "Accept its licence on its page and add a Hugging Face token "
                                        "in Settings, then try again.")
                if resp.status_code not in (200, 206):
                    raise DownloadError(f"The Hub refused {r.filename} (HTTP {resp.status_code}).",
                                        "Try again later.")
                mode = "ab"
                if have and (resp.status_code == 200 or not resp.headers.get("Content-Range", "").startswith(
                        f"bytes {have}-")):
                    # the server ignored Range (some mirrors do) and sends the whole file: say so,
                    # and put the progress back to where the bytes really are
                    meter.state("downloading", f"The server cannot resume downloads, so {r.filename} starts "
                                f"again from the beginning ({format_bytes(have)} already here is fetched again).",
                                bytes_done=before)
                    meter.start_transfer(before)
                    have, mode = 0, "wb"
                    hasher.reset()
                    self._mark_range_ignored(part)
                elif meter.progress.message != f"Downloading {r.filename}" and not meter.progress.message.startswith(
                        "The server cannot resume"):
                    meter.state("downloading", f"Downloading {r.filename}")  # recovered: no stale "trying again"
                with self._open_part(part, mode) as f:
                    for block in resp.iter_raw(self.chunk_size):
                        self._raise_if_stopped(cancel, pause, f)
                        if network.is_offline():  # turned on mid-download: stop, keep the partial
                            raise network.blocked_error(resp.url.host)
                        if have + len(block) > r.size:
                            raise Retryable("the server sent more bytes than announced")
                        write_block(f, block, part)
                        hasher.update(block)
                        have += len(block)
                        meter.add(before + have)
                    f.flush()
                    os.fsync(f.fileno())
        except (DownloadError, DownloadCancelled, DownloadPaused, Retryable, NetworkBlockedError):
            raise
        except httpx2.TransportError as exc:
            raise Retryable(network.describe_failure(exc)) from exc
        except OSError as exc:  # ENOSPC at flush/fsync time
            raise_disk_error(exc, part)
        meter.add(before + have, force=True)
        if have < r.size:
            raise Retryable("the connection closed early")
        return have

    @staticmethod
    def _mark_range_ignored(part: Path) -> None:
        """Remember that this server ignores Range: a later resume starts at 0 without re-hashing."""
        car = part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX)
        try:
            data = json.loads(car.read_text(encoding="utf-8"))
            data["range_ignored"] = True
            car.write_text(json.dumps(data, indent=1), encoding="utf-8")
        except (OSError, ValueError):
            pass  # only an optimisation

    def _open_part(self, part: Path, mode: str) -> Any:
        return open(part, mode)  # a seam: tests hand in a file whose disk fills up

    def _drop_part_file(self, part: Path) -> None:
        part.unlink(missing_ok=True)
        part.with_name(part.name[: -len(PART_SUFFIX)] + SIDECAR_SUFFIX).unlink(missing_ok=True)

    def _install(self, req: DownloadRequest, verified: list[tuple[RemoteFile, Path]], final: Path) -> None:
        files = []
        for r, part in verified:
            target = safe_path(final, r.filename)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            files.append(ManifestFile(r.filename, r.size, r.sha256, parse_quant(r.filename)))
        commit = next((r.commit for r, _ in verified if r.commit), None) or req.revision
        write_manifest(final, ModelManifest(
            repo_id=req.repo_id, revision=commit, files=tuple(files), quant=req.quant or files[0].quant,
            format=req.format, license=req.license_id, license_name=req.license_name, catalog_id=req.catalog_id,
        ))
        for r, _ in verified:
            self._drop_part(req, r.filename)
        remove_empty_dirs(self.staging_dir(req.repo_id), self.models_dir / DOWNLOADS_DIR)

    # ---------------------------------------------------------------- stop
    @staticmethod
    def _raise_if_stopped(cancel: threading.Event, pause: threading.Event, f: Any = None) -> None:
        if cancel.is_set() or pause.is_set():
            if f is not None:
                f.flush()
            raise DownloadCancelled() if cancel.is_set() else DownloadPaused()

    @staticmethod
    def _wait(seconds: float, cancel: threading.Event, pause: threading.Event) -> bool:
        """Sleep for a back-off; True as soon as cancel or pause is set."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if cancel.wait(min(left, 0.05)) or pause.is_set():
                return True
        return cancel.is_set() or pause.is_set()


