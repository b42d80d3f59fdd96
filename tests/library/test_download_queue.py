"""The download queue: one worker, in order, pause / resume / cancel, pending after a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant import network
from assistant.errors import RepoNotFoundError
from assistant.library.download import Downloader, DownloadRequest, RetryPolicy
from assistant.library.download_queue import DownloadQueue
from assistant.library.download_support import DownloadProgress

REPO = "bartowski/Tiny-GGUF"
Q4 = "model-Q4_K_M.gguf"
SHARDS = [f"model-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    network.set_offline(False)
    with LocalHub() as h:
        h.add_repo(REPO, make_repo_files(), tags=["gguf"])
        yield h


class Recorder:
    def __init__(self) -> None:
        self.seen: list[DownloadProgress] = []
        self.lock = threading.Lock()

    def __call__(self, p: DownloadProgress) -> None:
        with self.lock:
            self.seen.append(p)

    def wait_for(self, pred, timeout: float = 10.0) -> DownloadProgress:  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for p in self.seen:
                    if pred(p):
                        return p
            time.sleep(0.01)
        raise AssertionError("no such progress")


def _queue(hub: LocalHub, models: Path, rec: Recorder) -> DownloadQueue:
    d = Downloader(models, hub.url, retry=RetryPolicy(3, 0.01), free_space=lambda p: 10**12)
    return DownloadQueue(models, rec, downloader=d)


def test_downloads_run_one_after_another_in_order(hub: LocalHub, home: Path) -> None:
    rec = Recorder()
    q = _queue(hub, home / "models", rec)
    try:
        a = q.enqueue(DownloadRequest(REPO, [Q4]))
        b = q.enqueue(DownloadRequest(REPO, SHARDS))
        bad = q.enqueue(DownloadRequest("nobody/nothing", ["x.gguf"]))
        assert q.enqueue(DownloadRequest(REPO, [Q4])) == a  # same download, not twice
        assert q.wait_idle(20)
        states = {p.request.repo_id + str(p.request.filenames): p.state for p in q.items()}
        assert list(states.values()) == ["done", "done", "failed"]
        failed = q.items()[2]
        assert isinstance(failed.error, RepoNotFoundError) and "No model called" in failed.message
        done_order = [p.request.filenames[0] for p in rec.seen if p.state == "done"]
        assert done_order == [Q4, SHARDS[0]]
        # strictly sequential: b starts only after a is done
        first_b = next(i for i, p in enumerate(rec.seen) if p.request.filenames == SHARDS and p.state == "checking")
        a_done = next(i for i, p in enumerate(rec.seen) if p.request.filenames == [Q4] and p.state == "done")
        assert a_done < first_b and {a, b, bad} == set(q.ids())
    finally:
        q.shutdown()


def test_pause_resume_and_cancel(hub: LocalHub, home: Path) -> None:
    models = home / "models"
    hub.throttle_bps = 1_500_000
    rec = Recorder()
    q = _queue(hub, models, rec)
    try:
        a = q.enqueue(DownloadRequest(REPO, [Q4]))
        rec.wait_for(lambda p: p.state == "downloading" and p.bytes_done > 100_000)
        q.pause(a)
        rec.wait_for(lambda p: p.state == "paused")
        part = models / ".downloads" / "bartowski__Tiny-GGUF" / (Q4 + ".part")
        have = part.stat().st_size
        assert have > 100_000
        hub.throttle_bps = None
        q.resume(a)
        rec.wait_for(lambda p: p.state == "done")
        assert hub.gets(Q4)[-1].range == f"bytes={have}-"
        hub.throttle_bps = 1_500_000
        b = q.enqueue(DownloadRequest(REPO, SHARDS))
        rec.wait_for(lambda p: p.request.filenames == SHARDS and p.state == "downloading" and p.bytes_done > 50_000)
        downloads = models / ".downloads"
        assert list(downloads.rglob("*.part"))  # the shard download is writing its part now
        q.cancel(b)
        rec.wait_for(lambda p: p.state == "cancelled")
        assert q.wait_idle(10)
        assert list(downloads.rglob("*.part")) == []  # cancel removed it
        assert not (models / "bartowski__Tiny-GGUF" / SHARDS[0]).exists()
    finally:
        q.shutdown()


def test_resume_pending_after_a_restart(hub: LocalHub, home: Path) -> None:
    models = home / "models"
    hub.throttle_bps = 1_500_000
    rec = Recorder()
    q = _queue(hub, models, rec)
    q.enqueue(DownloadRequest(REPO, [Q4], catalog_id="tiny"))
    rec.wait_for(lambda p: p.state == "downloading" and p.bytes_done > 100_000)
    q.shutdown()  # like quitting the app: the partial stays
    hub.throttle_bps = None
    rec2 = Recorder()
    q2 = _queue(hub, models, rec2)
    try:
        [pid] = q2.resume_pending()
        [item] = q2.items()
        assert item.state == "paused" and item.request.catalog_id == "tiny" and item.bytes_done > 100_000
        assert item.bytes_total == hub.repos[REPO].files[Q4].size
        q2.resume(pid)
        rec2.wait_for(lambda p: p.state == "done")
        assert q2.resume_pending() == []
        assert (models / "bartowski__Tiny-GGUF" / Q4).stat().st_size == item.bytes_total
    finally:
        q2.shutdown()
