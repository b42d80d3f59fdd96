"""Gated repos and the token, rate limits, paged search, and mirrors that misbehave,
against the local Hub (tests/support/hub_server.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant import network
from assistant.errors import DownloadError, HubError, RepoNotFoundError
from assistant.library.download import Downloader, DownloadRequest, RetryPolicy
from assistant.library.download_support import DownloadProgress
from assistant.library.hub import HubClient
from assistant.library.hub_access import auth_headers_for, endpoint_from_setting, retry_after, valid_endpoint

REPO = "bartowski/Tiny-GGUF"
GATED = "google/Gated-GGUF"
Q4 = "model-Q4_K_M.gguf"
TOKEN = "hf_TestTokenThatMustNeverLeak0123456789"


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    network.set_offline(False)
    with LocalHub() as h:
        h.add_repo(REPO, make_repo_files(), tags=["gguf"], license="apache-2.0")
        h.add_repo(GATED, {Q4: make_repo_files(seed=3, size=300_000)[Q4]}, tags=["gguf"], license="gemma")
        h.gate(GATED, TOKEN)
        yield h


@pytest.fixture
def models(home: Path) -> Path:
    return home / "data" / "models"


def _dl(hub: LocalHub, models: Path, token: str | None = None, tries: int = 4) -> Downloader:
    return Downloader(models, hub.url, retry=RetryPolicy(tries=tries, base_s=0.01), free_space=lambda p: 10**12,
                      token_source=lambda: token)


# ---------------------------------------------------------------- gated repos and the token


def test_a_gated_repo_without_a_token_says_where_to_accept_the_licence(hub: LocalHub, models: Path) -> None:
    with pytest.raises(HubError) as err:
        _dl(hub, models).download(DownloadRequest(GATED, [Q4]))
    text = str(err.value)
    assert "gated" in text and f"{hub.url}/{GATED}" in text and "token in Settings" in text
    assert getattr(err.value, "gated", False)
    assert [r.auth for r in hub.requests if "/resolve/" in r.path] == [None]


def test_a_token_without_access_gets_403_and_says_so(hub: LocalHub, models: Path) -> None:
    with pytest.raises(HubError, match="does not have access") as err:
        _dl(hub, models, token="hf_SomeoneElsesToken").download(DownloadRequest(GATED, [Q4]))
    assert f"{hub.url}/{GATED}" in str(err.value)


def test_with_the_token_the_gated_repo_downloads_and_the_token_goes_to_the_hub_only(
        hub: LocalHub, models: Path, caplog: pytest.LogCaptureFixture) -> None:
    network.clear()
    caplog.set_level(logging.DEBUG)
    path = _dl(hub, models, token=TOKEN).download(DownloadRequest(GATED, [Q4]))
    assert path.read_bytes() == hub.repos[GATED].files[Q4].read(0, hub.repos[GATED].files[Q4].size)
    to_hub = [r for r in hub.requests if "/resolve/" in r.path]
    to_cdn = [r for r in hub.requests if r.path.startswith("/cdn-lfs/")]
    assert to_hub and all(r.auth == f"Bearer {TOKEN}" for r in to_hub)
    assert to_cdn and all(r.auth is None for r in to_cdn)  # the storage behind the redirect never sees it
    assert TOKEN not in repr(network.entries()) and TOKEN not in caplog.text


def test_the_token_is_for_the_endpoints_origin_only() -> None:
    ep = "https://huggingface.co"
    assert auth_headers_for("https://huggingface.co/x/y/resolve/main/a.gguf", ep, TOKEN) == {
        "Authorization": f"Bearer {TOKEN}"}
    for url in ("https://cdn-lfs.huggingface.co/x", "http://huggingface.co/x", "https://huggingface.co:8443/x",
                "https://evil.example/huggingface.co"):
        assert auth_headers_for(url, ep, TOKEN) == {}, url
    assert auth_headers_for("https://huggingface.co/x", ep, None) == {}


def test_the_hub_address_setting() -> None:
    assert endpoint_from_setting("") is None and endpoint_from_setting("  ") is None
    assert endpoint_from_setting("hf-mirror.com/") == "https://hf-mirror.com"
    assert endpoint_from_setting("http://10.0.0.5:8090") == "http://10.0.0.5:8090"
    assert valid_endpoint("") is None and valid_endpoint("https://hf-mirror.com") is None
    assert valid_endpoint("ftp://x") and valid_endpoint("https://x/?a=1")


# ---------------------------------------------------------------- rate limits


def test_retry_after_and_ratelimit_headers() -> None:
    assert retry_after({"Retry-After": "7"}) == 7
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, now=1445412480.0) == pytest.approx(30)
    assert retry_after({"RateLimit": '"api";r=0;t=55'}) == 55
    assert retry_after({"RateLimit": '"api";r=12;t=55'}) is None  # requests left: not the reason
    assert retry_after({}) is None


def test_a_429_on_the_file_waits_as_long_as_it_asks(hub: LocalHub, models: Path) -> None:
    seen: list[DownloadProgress] = []
    hub.fail(REPO, Q4, status=429, times=1, retry_after="1")
    t0 = time.monotonic()
    _dl(hub, models).download(DownloadRequest(REPO, [Q4]), seen.append)
    assert time.monotonic() - t0 >= 0.95  # the back-off alone would be 0.01 s
    assert any("HTTP 429" in p.message for p in seen)


def test_a_429_on_the_search_is_waited_out(hub: LocalHub) -> None:
    hub.rate_limit(1, "1")
    t0 = time.monotonic()
    repos = HubClient(hub.url).search("tiny")
    assert time.monotonic() - t0 >= 0.9 and [r.repo_id for r in repos] == [REPO]
    assert [r.path for r in hub.requests] == ["/api/models", "/api/models"]


def test_a_long_429_wait_is_said_not_waited(hub: LocalHub, models: Path) -> None:
    hub.fail(REPO, Q4, status=429, times=1, retry_after="7200")
    with pytest.raises(DownloadError, match="120 minutes"):
        _dl(hub, models).download(DownloadRequest(REPO, [Q4]))


# ---------------------------------------------------------------- paged search


def test_search_pages_follow_the_link_header(hub: LocalHub) -> None:
    for i in range(70):
        hub.add_repo(f"many/model-{i:02d}-GGUF", {Q4: b"x" * 2000}, tags=["gguf"], downloads=1000 - i)
    hub.page_size = 30
    client = HubClient(hub.url)
    first = client.search_page("model", limit=30)
    assert len(first.repos) == 30 and first.next_url and "cursor=30" in first.next_url
    second = client.search_page("model", limit=30, next_url=first.next_url)
    third = client.search_page("model", limit=30, next_url=second.next_url)
    names = [r.repo_id for r in first.repos + second.repos + third.repos]
    assert len(names) == len(set(names)) == 70 and third.next_url is None
    assert names[0] == "many/model-00-GGUF" and names[-1] == "many/model-69-GGUF"  # most downloaded first
    # huggingface_hub's own list_models follows the same Link headers
    from huggingface_hub import HfApi

    assert len(list(HfApi(endpoint=hub.url, token=False).list_models(search="model", filter="gguf"))) == 70
    with pytest.raises(HubError, match="somewhere else"):
        client.search_page("model", next_url="http://example.com/api/models?cursor=30")


# ---------------------------------------------------------------- a mirror that misbehaves


def test_a_mirror_ignoring_range_restarts_honestly(hub: LocalHub, models: Path) -> None:
    seen: list[DownloadProgress] = []
    hub.ignore_range = True
    hub.drop_after(REPO, Q4, 500_000)
    path = _dl(hub, models).download(DownloadRequest(REPO, [Q4]), seen.append)
    assert path.stat().st_size == hub.repos[REPO].files[Q4].size
    said = [p for p in seen if "cannot resume" in p.message]
    assert said and "starts again from the beginning" in said[0].message and said[0].bytes_done == 0
    after = [p.bytes_done for p in seen[seen.index(said[0]):] if p.state == "downloading"]
    assert after == sorted(after)  # from there on the progress only goes forward


def test_a_resume_from_a_mirror_ignoring_range_does_not_recheck_the_part(hub: LocalHub, models: Path) -> None:
    from assistant.library.download import DownloadPaused

    hub.ignore_range = True
    hub.throttle_bps = 2_000_000
    d = _dl(hub, models)
    hub.drop_after(REPO, Q4, 300_000)
    seen: list[DownloadProgress] = []
    import threading

    pause = threading.Event()

    def on(p: DownloadProgress) -> None:
        seen.append(p)
        if "cannot resume" in p.message and p.state == "downloading":
            pause.set()  # the server was found out: pause with a part on disk

    with pytest.raises(DownloadPaused):
        d.download(DownloadRequest(REPO, [Q4]), on, pause=pause)
    seen.clear()
    hub.throttle_bps = None
    d.download(DownloadRequest(REPO, [Q4]), seen.append)
    assert not any(p.message.startswith("Checking the") for p in seen)  # no wasted re-hash
    assert any("starts again from the beginning" in p.message for p in seen)


def test_trying_again_is_cleared_once_the_download_recovers(hub: LocalHub, models: Path) -> None:
    seen: list[DownloadProgress] = []
    hub.throttle_bps = 4_000_000
    hub.fail(REPO, Q4, status=500, times=1)
    _dl(hub, models).download(DownloadRequest(REPO, [Q4]), seen.append)
    retry = next(i for i, p in enumerate(seen) if "trying again" in p.message)
    later = [p for p in seen[retry + 1:] if p.state == "downloading"]
    assert later and all("trying again" not in p.message for p in later)
    assert later[-1].message == f"Downloading {Q4}"


def test_the_retry_budget_starts_over_while_bytes_arrive(hub: LocalHub, models: Path) -> None:
    hub.drop_after(REPO, Q4, 300_000, every=True)  # 2 MB in 7 cuts, with 3 tries
    path = _dl(hub, models, tries=3).download(DownloadRequest(REPO, [Q4]))
    assert path.stat().st_size == hub.repos[REPO].files[Q4].size
    assert len(hub.gets(Q4)) >= 7


def test_a_mirror_answering_401_for_a_missing_file_is_not_a_missing_repo(hub: LocalHub, models: Path) -> None:
    hub.missing_as_401 = True
    d = _dl(hub, models)
    with pytest.raises(HubError) as err:
        d.download(DownloadRequest(REPO, ["not-there.gguf"]))
    assert not isinstance(err.value, RepoNotFoundError)
    assert "not-there.gguf" in str(err.value) and "No model called" not in str(err.value)
    with pytest.raises(HubError) as err:
        d.download(DownloadRequest(REPO, [Q4], revision="no-such-branch"))
    assert "No model called" not in str(err.value) and "branch" in str(err.value)
    with pytest.raises(RepoNotFoundError, match="No model called nobody/nothing"):
        d.download(DownloadRequest("nobody/nothing", [Q4]))


def test_an_empty_search_answer_is_a_plain_message(hub: LocalHub) -> None:
    hub.empty_search = True
    with pytest.raises(HubError) as err:
        HubClient(hub.url).search("tiny")
    assert "could not be read" in str(err.value) and "Expecting value" not in str(err.value)


def test_a_429_on_the_file_info_is_waited_out_too(hub: LocalHub, models: Path) -> None:
    hub.rate_limit(1, "1")  # the first request of a download is the HEAD for size and hash
    t0 = time.monotonic()
    path = _dl(hub, models).download(DownloadRequest(REPO, [Q4]))
    assert time.monotonic() - t0 >= 0.9 and path.stat().st_size == hub.repos[REPO].files[Q4].size
    assert hub.requests[0].method == "HEAD" and hub.requests[1].method == "HEAD"
