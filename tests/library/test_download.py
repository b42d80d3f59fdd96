"""The downloader against a local Hub: progress, resume, integrity, retries, bad input."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant import network
from assistant.errors import DiskFullError, DownloadError, HashMismatchError, HubError, RepoNotFoundError
from assistant.library.download import Downloader, DownloadPaused, DownloadRequest, RetryPolicy
from assistant.library.download_support import DownloadProgress
from assistant.library.manifest import read_manifest

REPO = "bartowski/Tiny-GGUF"
Q4 = "model-Q4_K_M.gguf"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    network.set_offline(False)
    with LocalHub() as h:
        h.add_repo(REPO, make_repo_files(), tags=["gguf"], license="apache-2.0")
        yield h


@pytest.fixture
def models(home: Path) -> Path:
    return home / "data" / "models"


def _dl(hub: LocalHub, models: Path, **kw) -> Downloader:  # type: ignore[no-untyped-def]
    kw.setdefault("retry", RetryPolicy(tries=4, base_s=0.01))
    kw.setdefault("free_space", lambda p: 10**12)
    return Downloader(models, hub.url, **kw)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _part(models: Path, name: str = Q4) -> Path:
    return models / ".downloads" / "bartowski__Tiny-GGUF" / (name + ".part")


def test_download_with_progress_verifies_and_writes_the_manifest(hub: LocalHub, models: Path) -> None:
    seen: list[DownloadProgress] = []
    hub.throttle_bps = 8_000_000  # ~0.25 s, so throttled progress has something to throttle
    req = DownloadRequest(REPO, [Q4], license_id="apache-2.0", catalog_id="tiny", quant="Q4_K_M")
    start = time.monotonic()
    path = _dl(hub, models).download(req, seen.append)
    elapsed = time.monotonic() - start
    served = hub.repos[REPO].files[Q4]
    assert path == models / "bartowski__Tiny-GGUF" / Q4
    assert _sha(path) == served.sha256
    assert list((models / ".downloads").rglob("*")) == []  # nothing left behind (or no folder at all)
    states = [p.state for p in seen]
    assert states[0] == "checking" and states[-1] == "done" and "downloading" in states and "verifying" in states
    dl = [p for p in seen if p.state == "downloading"]
    assert dl[-1].bytes_done == served.size and all(p.bytes_total == served.size for p in dl)
    assert any(p.speed_bps > 0 and p.eta_s is not None for p in dl)
    # throttled to at most 10 a second however long it took here, not one per 16 KB chunk
    assert len(dl) <= 10 * elapsed + 2 and len(dl) < served.size / (16 * 1024) / 4
    m = read_manifest(path.parent)
    assert m is not None and (m.repo_id, m.quant, m.license, m.catalog_id) == (REPO, "Q4_K_M", "apache-2.0", "tiny")
    assert m.revision == hub.repos[REPO].sha and m.files[0].sha256 == served.sha256
    # the GET went through the network record under its purpose
    assert any(e.purpose == "Model download" and e.path.endswith(Q4) for e in network.entries())


def test_pause_then_resume_fetches_only_the_missing_bytes(hub: LocalHub, models: Path) -> None:
    hub.throttle_bps = 2_000_000
    pause = threading.Event()
    d = _dl(hub, models)

    def report(p: DownloadProgress) -> None:
        if p.state == "downloading" and p.bytes_done > 300_000:
            pause.set()

    with pytest.raises(DownloadPaused):
        d.download(DownloadRequest(REPO, [Q4]), report, pause=pause)
    have = _part(models).stat().st_size
    assert 300_000 <= have < hub.repos[REPO].files[Q4].size
    from assistant.library.installed import installed_models

    assert installed_models(models) == []  # a partial is never a model
    sidecar = json.loads(_part(models).with_name(Q4 + ".part.json").read_text())
    assert sidecar["sha256"] == hub.repos[REPO].files[Q4].sha256 and sidecar["request"]["repo_id"] == REPO
    hub.throttle_bps = None
    n_before = len(hub.gets(Q4))
    path = d.download(DownloadRequest(REPO, [Q4]))
    assert _sha(path) == hub.repos[REPO].files[Q4].sha256
    ranges = [r.range for r in hub.gets(Q4)[n_before:]]
    assert ranges and all(r == f"bytes={have}-" for r in ranges)


def test_hash_mismatch_removes_the_partial(hub: LocalHub, models: Path) -> None:
    hub.corrupt(REPO, Q4)
    with pytest.raises(HashMismatchError) as info:
        _dl(hub, models).download(DownloadRequest(REPO, [Q4]))
    assert "checksum" in info.value.message
    assert not _part(models).exists() and not (models / "bartowski__Tiny-GGUF").exists()


def test_sigkill_mid_download_then_resume_here(hub: LocalHub, models: Path, home: Path) -> None:
    hub.throttle_bps = 1_000_000
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_HOME": str(home)}
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_download_child.py")), hub.url, str(models), REPO, Q4],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            state, n = line.split()[:2]
            if state == "downloading" and int(n) > 400_000:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    have = _part(models).stat().st_size
    assert 0 < have < hub.repos[REPO].files[Q4].size
    hub.throttle_bps = None
    n_before = len(hub.gets(Q4))
    path = _dl(hub, models).download(DownloadRequest(REPO, [Q4]))
    assert _sha(path) == hub.repos[REPO].files[Q4].sha256
    assert [r.range for r in hub.gets(Q4)[n_before:]][-1] == f"bytes={have}-"


def test_retry_after_a_500_and_a_dropped_connection(hub: LocalHub, models: Path) -> None:
    hub.fail(REPO, Q4, status=500, times=1)
    d = _dl(hub, models)
    assert _sha(d.download(DownloadRequest(REPO, [Q4]))) == hub.repos[REPO].files[Q4].sha256
    other = "model-Q8_0-00001-of-00003.gguf"
    hub.drop_after(REPO, other, 200_000)
    assert _sha(d.download(DownloadRequest(REPO, [other]))) == hub.repos[REPO].files[other].sha256
    ranges = [r.range for r in hub.gets(other) if r.path.startswith("/cdn-lfs/")]
    # the first GET is ranged too (the Hub's large-file storage wants it), from byte 0
    assert ranges[0] == "bytes=0-" and ranges[-1] is not None and int(ranges[-1][6:-1]) >= 200_000 - 64 * 1024


def test_a_server_that_keeps_failing_gives_a_clear_message_and_keeps_the_partial(
        hub: LocalHub, models: Path) -> None:
    hub.drop_after(REPO, Q4, 300_000)
    d = _dl(hub, models)
    real_get = d._get_range
    calls = []

    def get_then_fail(*a, **kw):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) > 1:
            hub.fail(REPO, Q4, status=503, times=99)
        return real_get(*a, **kw)

    d._get_range = get_then_fail  # type: ignore[method-assign]
    with pytest.raises(DownloadError) as info:
        d.download(DownloadRequest(REPO, [Q4]))
    assert "HTTP 503" in info.value.message and "kept" in info.value.hint
    assert _part(models).stat().st_size > 0


def test_wrong_repo_and_vanished_file(hub: LocalHub, models: Path) -> None:
    d = _dl(hub, models)
    with pytest.raises(RepoNotFoundError, match="No model called nobody/nothing on Hugging Face"):
        d.download(DownloadRequest("nobody/nothing", ["x.gguf"]))
    with pytest.raises(HubError, match="no longer"):
        d.download(DownloadRequest(REPO, ["gone.gguf"]))
    hub.vanish_after(REPO, Q4, 200_000)
    with pytest.raises((HubError, DownloadError), match="no longer"):
        d.download(DownloadRequest(REPO, [Q4]))
    assert not _part(models).exists()


def test_full_disk_is_refused_before_starting(hub: LocalHub, models: Path) -> None:
    d = _dl(hub, models, free_space=lambda p: 1_048_576)
    with pytest.raises(DiskFullError) as info:
        d.download(DownloadRequest(REPO, [Q4]))
    assert "needs" in info.value.message and "1.0 MB is free" in info.value.message
    assert info.value.free == 1_048_576 and info.value.needed > 2_000_000
    assert hub.gets(Q4) == []


def test_disk_filling_up_while_writing_keeps_the_partial(hub: LocalHub, models: Path) -> None:
    d = _dl(hub, models)

    class FillingFile:
        def __init__(self, f) -> None:  # type: ignore[no-untyped-def]
            self.f, self.n = f, 0

        def write(self, b: bytes) -> int:
            if self.n > 500_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.n += len(b)
            return self.f.write(b)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.f, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
            self.f.close()

    d._open_part = lambda part, mode: FillingFile(open(part, mode))  # type: ignore[method-assign]
    with pytest.raises(DiskFullError, match="disk filled up"):
        d.download(DownloadRequest(REPO, [Q4]))
    assert _part(models).stat().st_size > 500_000


@pytest.mark.parametrize("name", ["../x.gguf", "/etc/passwd", "a/../../b", "C:\\x", "C:x.gguf", "a//b", ""])
def test_path_traversal_names_are_refused(hub: LocalHub, models: Path, name: str) -> None:
    with pytest.raises(DownloadError, match="Refused|not a Hugging Face"):
        _dl(hub, models).download(DownloadRequest(REPO, [name]))
    assert hub.requests == []


def test_a_symlink_leading_out_of_the_models_folder_is_refused(hub: LocalHub, models: Path, tmp_path: Path) -> None:
    (models / "bartowski__Tiny-GGUF").mkdir(parents=True)
    (models / "bartowski__Tiny-GGUF" / "IQ3_XS").symlink_to(tmp_path)
    with pytest.raises(DownloadError, match="outside the models folder"):
        _dl(hub, models).download(DownloadRequest(REPO, ["IQ3_XS/model-IQ3_XS.gguf"]))
    with pytest.raises(DownloadError):
        _dl(hub, models).download(DownloadRequest("../etc", ["x.gguf"]))


def test_sharded_download_lands_all_shards_and_one_manifest(hub: LocalHub, models: Path) -> None:
    shards = [f"model-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    path = _dl(hub, models).download(DownloadRequest(REPO, shards, quant="Q8_0"))
    folder = models / "bartowski__Tiny-GGUF"
    assert path == folder / shards[0]
    for s in shards:
        assert _sha(folder / s) == hub.repos[REPO].files[s].sha256
    m = read_manifest(folder)
    assert m is not None and [f.filename for f in m.files] == shards and m.quant == "Q8_0"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*shards, ".assistant-model.json"])


def test_the_real_gemma_gguf_downloads_and_shows_in_the_library(
        models: Path, gemma_path: Path) -> None:
    from assistant.library.installed import installed_models

    with LocalHub() as h:
        h.add_repo("google/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": gemma_path}, tags=["gguf"])
        path = _dl(h, models).download(
            DownloadRequest("google/gemma-3-270m-GGUF", ["gemma-3-270m-Q4_K_M.gguf"]))
    assert path.stat().st_size == gemma_path.stat().st_size
    assert [r.path for r in installed_models(models)] == [path]


def test_an_mlx_repo_lands_as_a_folder_small_files_checked_by_git_hash(hub: LocalHub, models: Path) -> None:
    files = {"config.json": b'{"model_type": "llama"}', "model.safetensors": b"s" * 5000,
             "tokenizer.json": b"{}"}
    hub.add_repo("mlx-community/Tiny-4bit", files, tags=["mlx"], library_name="mlx")
    req = DownloadRequest("mlx-community/Tiny-4bit", sorted(files), format="mlx", quant="4bit")
    path = _dl(hub, models).download(req)
    assert path == models / "mlx-community__Tiny-4bit"
    assert {p.name for p in path.iterdir()} == {*files, ".assistant-model.json"}
    m = read_manifest(path)
    assert m is not None and m.format == "mlx" and m.quant == "4bit"
    # a small file kept in git: its ETag is the git blob sha1, and a damaged copy is caught
    hub.corrupt("mlx-community/Tiny-4bit", "config.json")
    with pytest.raises(HashMismatchError):
        _dl(hub, models).download(DownloadRequest("mlx-community/Tiny-4bit", ["config.json"], format="mlx"))
