"""Offline mode: Hub search, listing and downloads refuse before any socket is opened."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant import network
from assistant.errors import NetworkBlockedError
from assistant.library.download import Downloader, DownloadRequest
from assistant.library.download_queue import DownloadQueue

REPO = "bartowski/Tiny-GGUF"


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    network.set_offline(False)
    with LocalHub() as h:
        h.add_repo(REPO, make_repo_files(), tags=["gguf"])
        yield h
    network.set_offline(False)


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every socket.connect attempt in this process (the audit hook refuses, this counts)."""
    seen: list[object] = []
    real = socket.socket.connect

    def counting(self: socket.socket, address: object) -> None:
        if self.family != socket.AF_UNIX:
            seen.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    return seen


def test_offline_search_list_and_download_open_no_socket(hub: LocalHub, home: Path, connects: list[object]) -> None:
    from assistant.library.hub import HubClient

    client = HubClient(hub.url)
    network.set_offline(True)
    network.clear()
    with pytest.raises(NetworkBlockedError, match="Offline mode is on"):
        client.search("tiny")
    with pytest.raises(NetworkBlockedError):
        client.list_files(REPO)
    with pytest.raises(NetworkBlockedError):
        client.quants(REPO)
    with pytest.raises(NetworkBlockedError):
        client.repo_license(REPO)
    with pytest.raises(NetworkBlockedError):
        Downloader(home / "models", hub.url).download(DownloadRequest(REPO, ["model-Q4_K_M.gguf"]))
    assert connects == []
    assert hub.requests == []
    entries = network.entries()
    assert len(entries) == 5 and all(e.outcome == "blocked" for e in entries)
    assert {e.purpose for e in entries} >= {"Hugging Face Hub: search", "Model download"}
    from huggingface_hub import constants

    assert constants.HF_HUB_OFFLINE is True  # huggingface_hub's own switch follows ours
    network.set_offline(False)
    assert [r.repo_id for r in client.search("tiny")] == [REPO]
    assert constants.HF_HUB_OFFLINE is False


def test_offline_queue_item_fails_with_the_offline_message(hub: LocalHub, home: Path,
                                                           connects: list[object]) -> None:
    network.set_offline(True)
    seen = []
    q = DownloadQueue(home / "models", seen.append, hub.url)
    try:
        q.enqueue(DownloadRequest(REPO, ["model-Q4_K_M.gguf"]))
        assert q.wait_idle(10)
    finally:
        q.shutdown()
    [item] = q.items()
    assert item.state == "failed" and "Offline mode is on" in item.message
    assert connects == [] and hub.requests == []


def test_going_offline_mid_download_stops_it_cleanly(hub: LocalHub, home: Path) -> None:
    hub.throttle_bps = 1_000_000
    d = Downloader(home / "models", hub.url, free_space=lambda p: 10**12)

    def report(p) -> None:  # type: ignore[no-untyped-def]
        if p.state == "downloading" and p.bytes_done > 100_000:
            network.set_offline(True)

    with pytest.raises(NetworkBlockedError, match="Offline mode is on"):
        d.download(DownloadRequest(REPO, ["model-Q4_K_M.gguf"]), report)
    network.set_offline(False)
    part = home / "models" / ".downloads" / "bartowski__Tiny-GGUF" / "model-Q4_K_M.gguf.part"
    assert part.stat().st_size > 100_000  # kept for a resume
