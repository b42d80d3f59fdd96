"""Hugging Face Hub: search GGUF / MLX repos, list a repo's files by quant, file metadata.

Built on huggingface_hub's `HfApi` and `get_hf_file_metadata`. Every request goes
through `network.httpx_client` (installed as huggingface_hub's client factory), so it
lands in the network-activity record under a purpose, and Offline mode refuses it.

Offline mode: each call checks `network.is_offline()` first and raises
`NetworkBlockedError` before huggingface_hub is touched (no socket, one "blocked" line in
the record). huggingface_hub reads the HF_HUB_OFFLINE environment variable once, at
import, into `constants.HF_HUB_OFFLINE`, which its request hook consults on every
request; so instead of the environment (too late after import, and inherited by child
processes) we keep that constant in step with our Offline mode before each call, as a
second lock on the same door. An HF_HUB_OFFLINE=1 set by the user still wins.
Telemetry is turned off the same way (see `install_client_factory`).

The user's Hugging Face token (from the keyring, see hub_access.py) goes to the endpoint
only; without one, token=False keeps huggingface_hub from reading a token file or HF_TOKEN.
Gated repos say where to accept the licence. A mirror that answers a missing file with
401 (as the Hub does for a repo it will not show) is told apart from a missing repo by
asking for the repo itself.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from assistant import network
from assistant.core import gguf_meta
from assistant.errors import HubError, NetworkBlockedError, RepoNotFoundError
from assistant.library.hub_access import MAX_RATE_WAIT_S, gated_message, retry_after
from assistant.library.projectors import choose_projector, is_projector, projector_note

HUB_PURPOSE = "Hugging Face Hub"
# names from the Hub: the local shard pattern, in any case (".GGUF" exists out there)
SHARD_RE = re.compile(gguf_meta.SHARD_RE.pattern, re.IGNORECASE)
_QUANT_RE = re.compile(
    r"(?<![A-Za-z0-9])("
    r"I?Q[1-8](?:_(?:K|NL|XXS|XS|S|M|L|XL|[0-9]+))*"  # Q4_K_M, Q8_0, IQ3_XS, IQ4_NL, Q4_0_4_4
    r"|TQ[12]_[0-9]|MXFP4|BF16|FP16|F16|F32|[2-8]-?BIT"
    r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_ENV_OFFLINE: bool | None = None
_factory_lock = threading.Lock()
_factory_installed = False
T = TypeVar("T")


def parse_quant(filename: str) -> str | None:
    """The quantization named in a file name ("model-Q4_K_M.gguf" -> "Q4_K_M"), or None."""
    name = filename.rsplit("/", 1)[-1]
    stem = SHARD_RE.sub("", name)
    stem = re.sub(r"\.(gguf|safetensors|bin)$", "", stem, flags=re.IGNORECASE)
    found = _QUANT_RE.findall(stem)
    if not found:
        folder = filename.rsplit("/", 1)[0] if "/" in filename else ""
        found = _QUANT_RE.findall(folder)
    if not found:
        return None
    quant = found[-1].upper().replace("-", "")
    return "F16" if quant == "FP16" else quant.replace("BIT", "bit")


@dataclass(frozen=True)
class HubRepo:
    repo_id: str
    format: str  # "gguf" | "mlx"
    downloads: int
    likes: int
    license_id: str | None
    last_modified: str | None


@dataclass(frozen=True)
class SearchPage:
    repos: list[HubRepo]
    next_url: str | None  # None: this was the last page


@dataclass(frozen=True)
class HubFile:
    filename: str  # path in the repo
    size: int
    sha256: str | None  # the LFS hash; None for small files kept in git
    quant: str | None
    shard_index: int | None
    shard_count: int | None


@dataclass(frozen=True)
class HubQuant:
    quant: str | None
    files: tuple[HubFile, ...]  # one file, or the shards in order
    size: int
    projector: HubFile | None = None  # the vision projector that downloads with it (projectors.choose_projector)

    @property
    def download_files(self) -> list[str]:
        """The files to download: the model's, then its projector's."""
        return [f.filename for f in self.files] + ([self.projector.filename] if self.projector else [])

    @property
    def total_size(self) -> int:
        """Bytes on disk and in memory: the weights and the projector."""
        return self.size + (self.projector.size if self.projector else 0)


@dataclass(frozen=True)
class RemoteFile:
    """What the Hub says about one file before a download (HEAD on its resolve URL)."""

    filename: str
    url: str  # the resolve URL, pinned to the commit
    size: int
    sha256: str | None  # LFS files: from X-Linked-Etag
    etag: str | None  # git blob sha1 for small files
    commit: str | None


def make_hub_file(filename: str, size: int, sha256: str | None) -> HubFile:
    m = SHARD_RE.search(filename)
    return HubFile(
        filename=filename, size=int(size or 0), sha256=sha256, quant=parse_quant(filename),
        shard_index=int(m.group(1)) if m else None, shard_count=int(m.group(2)) if m else None,
    )


def group_quants(files: list[HubFile], repo_id: str = "") -> list[HubQuant]:
    """GGUF model files grouped into downloadable units (shards together), smallest first.

    A repo without GGUF files (MLX) is one unit: every file, quant from the repo name.
    """
    # vision projectors (mmproj-*.gguf) are not models: the smallest file, they would be preselected
    ggufs = [f for f in files if f.filename.lower().endswith(".gguf") and not is_projector(f.filename)]
    if not ggufs:
        if not files:
            return []
        ordered = tuple(sorted(files, key=lambda f: f.filename))
        return [HubQuant(parse_quant(repo_id), ordered, sum(f.size for f in ordered))]
    groups: dict[str, list[HubFile]] = {}
    for f in ggufs:
        groups.setdefault(SHARD_RE.sub("", f.filename).lower(), []).append(f)
    projectors = {f.filename: f for f in files if is_projector(f.filename) and f.filename.lower().endswith(".gguf")}
    out = []
    for members in groups.values():
        members.sort(key=lambda f: (f.shard_index or 0, f.filename))
        chosen = choose_projector(list(projectors), members[0].filename)
        out.append(HubQuant(members[0].quant, tuple(members), sum(f.size for f in members),
                            projectors[chosen] if chosen else None))
    out.sort(key=lambda q: (q.size, q.files[0].filename))
    return out


def license_from_tags(tags: list[str] | None) -> str | None:
    for tag in tags or []:
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.split(":", 1)[1] or None
    return None


# ---------------------------------------------------------------- huggingface_hub plumbing

def install_client_factory() -> None:
    """Route huggingface_hub's shared httpx client through the network record (once)."""
    global _factory_installed
    with _factory_lock:
        if _factory_installed:
            return
        import httpx2
        from huggingface_hub import constants, set_client_factory
        from huggingface_hub.utils._http import hf_request_event_hook

        # Telemetry off: with it on, building the User-Agent fetches an "agent harness"
        # registry from huggingface.co (whatever the endpoint), a connection the user
        # never asked for. The constant is read at call time, so this works after import.
        constants.HF_HUB_DISABLE_TELEMETRY = True

        def factory() -> Any:
            return network.httpx_client(
                HUB_PURPOSE,
                httpx_module=httpx2,
                event_hooks={"request": [hf_request_event_hook]},
                follow_redirects=True,
                timeout=httpx2.Timeout(30.0, connect=10.0),
            )

        set_client_factory(factory)
        _factory_installed = True


def sync_offline_flag() -> None:
    """Keep huggingface_hub's own offline switch in step with the app's Offline mode."""
    global _ENV_OFFLINE
    from huggingface_hub import constants

    if _ENV_OFFLINE is None:
        _ENV_OFFLINE = bool(constants.HF_HUB_OFFLINE)
    constants.HF_HUB_OFFLINE = _ENV_OFFLINE or network.is_offline()


def refuse_if_offline(endpoint: str, what: str, path: str = "") -> None:
    """Raise NetworkBlockedError (and record a "blocked" line) before any socket."""
    sync_offline_flag()
    if not network.is_offline():
        return
    url = urlsplit(endpoint)
    host = url.hostname or endpoint
    network.record(network.NetworkEntry(
        time.time(), host, url.port, network.current_purpose() or what, "GET", path or "/",
        outcome=network.BLOCKED,
    ))
    raise network.blocked_error(host)


def translate_error(exc: BaseException, repo_id: str, filename: str | None = None, *,
                    endpoint: str = "https://huggingface.co", have_token: bool = False) -> Exception:
    """huggingface_hub / httpx errors -> our typed errors with plain messages."""
    from huggingface_hub import errors as hf_errors

    if isinstance(exc, NetworkBlockedError):
        return exc
    if isinstance(exc, hf_errors.GatedRepoError):
        err = HubError(*gated_message(repo_id, endpoint, have_token))
        err.gated = True  # type: ignore[attr-defined]
        return err
    if isinstance(exc, (hf_errors.RepositoryNotFoundError, hf_errors.HFValidationError, _RepoMissing)):
        resp = getattr(exc, "response", None)
        status = resp.status_code if resp is not None else 0
        hint = "Check the name (it looks like organisation/model-name), or search for it."
        if status == 401 and not have_token:
            hint += " A private model needs a Hugging Face token in Settings."
        return RepoNotFoundError(f"No model called {repo_id} on {_where(endpoint)}.", hint)
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return RepoNotFoundError(f"{repo_id} has no such version on {_where(endpoint)}.", "Try its main branch.")
    if isinstance(exc, hf_errors.EntryNotFoundError):
        return _gone(repo_id, filename, endpoint)
    if isinstance(exc, hf_errors.OfflineModeIsEnabled):
        return network.blocked_error("huggingface.co")
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = exc.response.status_code if getattr(exc, "response", None) is not None else 0
        return http_error(status, dict(exc.response.headers) if status else {}, endpoint)
    if isinstance(exc, ValueError):  # an empty or damaged JSON body (json.JSONDecodeError)
        return HubError(f"{_where(endpoint)} sent an answer that could not be read (empty or damaged).",
                        "Try again in a while; if it keeps happening, check the Hub address in Settings.")
    import httpx2

    if isinstance(exc, httpx2.TransportError):
        err = HubError(network.no_connection(_host(endpoint), exc), "Check the internet connection and try again.")
        err.retryable = True  # type: ignore[attr-defined]
        return err
    return exc if isinstance(exc, Exception) else HubError(str(exc))


class _RepoMissing(Exception):
    """Stands for a repository the Hub does not show (translated to RepoNotFoundError)."""


def _host(endpoint: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(endpoint).hostname or "huggingface.co" if endpoint else "huggingface.co"


def _where(endpoint: str) -> str:
    # a mirror or proxy stands in for Hugging Face: the messages keep the name people know
    return "Hugging Face"


def _gone(repo_id: str, filename: str | None, endpoint: str) -> HubError:
    err = HubError(
        f"{filename or 'The file'} is no longer in {repo_id} on {_where(endpoint)} (the repository is there, "
        "but not that file or branch).",
        "The repository changed, or the mirror lacks that file or branch; look at its files again and pick another one.",
    )
    err.gone = True  # type: ignore[attr-defined]
    return err


def http_error(status: int, headers: dict[str, str], endpoint: str) -> HubError:
    """A plain HubError for an HTTP status; retryable for 5xx, 408 and 429 (with its wait)."""
    if status == 429:
        wait = retry_after(headers)
        when = f" It asks to wait {wait:.0f} seconds." if wait is not None else ""
        err = HubError(f"{_where(endpoint)} is limiting how often it may be asked (HTTP 429).{when}",
                       "Wait a little and try again; a Hugging Face token in Settings raises the limit.")
        err.retry_after = wait  # type: ignore[attr-defined]
        err.retryable = wait is None or wait <= MAX_RATE_WAIT_S  # type: ignore[attr-defined]
        return err
    if status in (401, 403):
        err = HubError(f"{_where(endpoint)} refused access (HTTP {status}): the model is private or gated, or "
                       "the token in Settings is not valid.", "Check the model's page and the token, then try again.")
    else:
        err = HubError(f"{_where(endpoint)} answered with an error (HTTP {status}).", "Try again in a while.")
    err.status = status  # type: ignore[attr-defined]
    err.retryable = status >= 500 or status == 408  # type: ignore[attr-defined]
    return err


class HubClient:
    """Search and list the Hub. Blocking calls: run them off the GUI thread."""

    def __init__(self, endpoint: str | None = None, token: str | None = None) -> None:
        install_client_factory()
        from huggingface_hub import constants

        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self.token: str | None = None
        self.set_token(token)

    def set_token(self, token: str | None) -> None:
        """Use this Hugging Face token (None: none) for the requests to the endpoint."""
        from huggingface_hub import HfApi

        self.token = token or None
        self._api = HfApi(endpoint=self.endpoint, token=self.token or False)

    @contextmanager
    def _call(self, what: str, repo_id: str = "", path: str = "", filename: str | None = None) -> Iterator[None]:
        refuse_if_offline(self.endpoint, f"{HUB_PURPOSE}: {what}", path)
        try:
            with network.purpose(f"{HUB_PURPOSE}: {what}"):
                yield
        except Exception as exc:
            err = translate_error(exc, repo_id, filename, endpoint=self.endpoint, have_token=self.token is not None)
            if err is exc:
                raise
            unauthorized = isinstance(err, RepoNotFoundError) or getattr(err, "status", 0) == 401
            if unauthorized and filename is not None and repo_id:
                # a mirror's 401 for a missing file or branch: is the repo itself there?
                if self._repo_exists(repo_id):
                    err = _gone(repo_id, filename, self.endpoint)
                elif not isinstance(err, RepoNotFoundError):
                    err = translate_error(_RepoMissing(), repo_id, endpoint=self.endpoint,
                                          have_token=self.token is not None)
            raise err from exc

    def _repo_exists(self, repo_id: str) -> bool:
        try:
            with network.purpose(f"{HUB_PURPOSE}: model info"):
                self._api.model_info(repo_id)
        except Exception:  # noqa: BLE001 - any failure: we cannot tell, keep the first answer
            return False
        return True

    def search(self, query: str, fmt: str = "gguf", limit: int = 30) -> list[HubRepo]:
        """The first `limit` repos matching `query`, most downloaded first. fmt: "gguf" or "mlx"."""
        return self.search_page(query, fmt, limit).repos

    def search_page(self, query: str, fmt: str = "gguf", limit: int = 30, next_url: str | None = None) -> SearchPage:
        """One page of search results and the address of the next (the Link header's
        rel="next", as the Hub pages /api/models); pass `next_url` for the following page."""
        from huggingface_hub.hf_api import ModelInfo
        from huggingface_hub.utils import build_hf_headers, hf_raise_for_status, http_backoff

        if fmt not in ("gguf", "mlx"):
            raise ValueError(f"unknown format {fmt!r}")
        if next_url is not None and urlsplit(next_url)[:2] != urlsplit(self.endpoint)[:2]:
            raise HubError("The Hub pointed the next page of results somewhere else; it was not followed.",
                           "Search again.")
        params: dict[str, Any] = {"filter": fmt, "sort": "downloads", "direction": -1, "limit": limit}
        if query.strip():
            params["search"] = query.strip()
        headers = build_hf_headers(token=self.token or False)
        with self._call("search", path="/api/models"):
            if next_url is None:
                resp = http_backoff("GET", f"{self.endpoint}/api/models", params=params, headers=headers)
            else:
                resp = http_backoff("GET", next_url, headers=headers)
            hf_raise_for_status(resp)
            items = resp.json()
            if not isinstance(items, list):
                raise ValueError("not a list of models")
            models = [ModelInfo(**m) for m in items]
        repos = [
            HubRepo(
                repo_id=m.id, format=fmt, downloads=int(m.downloads or 0), likes=int(m.likes or 0),
                license_id=license_from_tags(m.tags),
                last_modified=m.last_modified.isoformat() if m.last_modified else None,
            )
            for m in models
        ]
        return SearchPage(repos, resp.links.get("next", {}).get("url") if repos else None)

    def repo_license(self, repo_id: str) -> str | None:
        with self._call("model info", repo_id, f"/api/models/{repo_id}"):
            info = self._api.model_info(repo_id)
        card = info.card_data
        lic = card.get("license") if card is not None else None
        if isinstance(lic, list):
            lic = lic[0] if lic else None
        return str(lic) if lic else license_from_tags(info.tags)

    def list_files(self, repo_id: str, revision: str = "main") -> list[HubFile]:
        """Every file of the repo (recursive) with size, LFS sha256 and parsed quant."""
        with self._call("list files", repo_id, f"/api/models/{repo_id}/tree/{revision}",
                        filename=None if revision == "main" else f"The branch {revision}"):
            entries = list(self._api.list_repo_tree(repo_id, recursive=True, revision=revision))
        from huggingface_hub.hf_api import RepoFile

        out = []
        for e in entries:
            if not isinstance(e, RepoFile):  # a folder
                continue
            out.append(make_hub_file(e.path, e.size, e.lfs.sha256 if e.lfs else None))
        return sorted(out, key=lambda f: f.filename)

    def quants(self, repo_id: str) -> list[HubQuant]:
        return self.quants_and_note(repo_id)[0]

    def quants_and_note(self, repo_id: str) -> tuple[list[HubQuant], str]:
        """The downloadable models (each with its vision projector, when the repo holds one),
        and a sentence about the projector ("" when none)."""
        files = self.list_files(repo_id)
        quants = group_quants(files, repo_id)
        projector = next((q.projector for q in quants if q.projector is not None), None)
        return quants, projector_note([f.filename for f in files], projector.filename if projector else None,
                                      projector.size if projector else None)

    def file_metadata(self, repo_id: str, filename: str, revision: str = "main") -> RemoteFile:
        """HEAD on the file's resolve URL: size, LFS sha256, commit. Pinned to the commit."""
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        url = hf_hub_url(repo_id, filename, revision=revision, endpoint=self.endpoint)
        with self._call("file info", repo_id, urlsplit(url).path, filename):
            meta = get_hf_file_metadata(url, token=self.token or False, endpoint=self.endpoint)
        if meta.size is None:
            raise HubError(f"Hugging Face did not give the size of {filename}.", "Try again later.")
        commit = meta.commit_hash
        etag = (meta.etag or "").lower() or None
        pinned = hf_hub_url(repo_id, filename, revision=commit, endpoint=self.endpoint) if commit else url
        return RemoteFile(
            filename=filename, url=pinned, size=int(meta.size),
            sha256=etag if etag and _SHA256_RE.match(etag) else None, etag=etag, commit=commit,
        )


def with_retries(fn: Callable[[], T], tries: int, base_s: float, wait: Callable[[float], bool]) -> T:
    """Run `fn`, retrying network errors, 5xx and 429 (HubError.retryable) with exponential
    backoff, or as long as a 429 asks; `wait(seconds)` returns True to stop instead."""
    for attempt in range(tries):
        try:
            return fn()
        except HubError as exc:
            if attempt == tries - 1 or not getattr(exc, "retryable", False):
                raise
            asked = getattr(exc, "retry_after", None)
            if wait(asked if asked is not None else base_s * (2 ** attempt)):
                raise
    raise AssertionError("unreachable")
