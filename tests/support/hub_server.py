"""A local Hugging Face Hub on 127.0.0.1 that speaks the endpoints huggingface_hub calls.

Endpoints (as read in huggingface_hub 2.4's hf_api.py, file_download.py, utils/_http.py):
- GET /api/models?search=&filter=&author=&sort=&limit=    list_models
- GET /api/models/{org}/{repo}[/revision/{rev}][?blobs=1]  model_info (siblings, cardData, tags)
- GET /api/models/{org}/{repo}/tree/{rev}[/{path}]?recursive=  list_repo_tree (lfs {oid,size,pointerSize})
- HEAD/GET /{org}/{repo}/resolve/{rev}/{path}: small files answer 200 with ETag (git blob
  sha1) and X-Repo-Commit; LFS files answer 302 to a "CDN" on another origin
  (http://localhost:PORT/cdn-lfs/...), carrying X-Linked-Etag (sha256), X-Linked-Size,
  X-Repo-Commit, as the Hub does; the CDN honours Range (206 + Content-Range).
- Errors: 404 with X-Error-Code RepoNotFound / RevisionNotFound / EntryNotFound.

Every request is recorded (method, path, query, Range, Authorization). Knobs: throttle
(bytes/s), fail the next N GETs of a file with a status, drop the connection after N bytes
once, serve corrupt bytes, delete a file (at once, or after N bytes of the next GET).

As the real Hub: gated repos (`gate`: file requests without a token answer 401, with a
token lacking access 403, both X-Error-Code GatedRepo), rate limits (`rate_limit`: 429 with
Retry-After and RateLimit headers), search results in pages (`page_size`: a Link header
with rel="next" and a cursor). As a misbehaving mirror: Range ignored (`ignore_range`),
401 for a missing file or branch (`missing_as_401`), a search answering 200 with an empty
body (`empty_search`).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_MIN = 1024  # files at least this big, and every .gguf/.safetensors, are "in LFS"
CHUNK = 64 * 1024


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    range: str | None
    host: str | None
    auth: str | None = None  # the Authorization header


@dataclass
class HubFile:
    path: str
    source: bytes | Path
    size: int = 0
    sha256: str = ""
    git_oid: str = ""
    lfs: bool = False

    def read(self, start: int, end: int) -> bytes:  # end exclusive
        if isinstance(self.source, bytes):
            return self.source[start:end]
        with open(self.source, "rb") as f:
            f.seek(start)
            return f.read(end - start)


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    sha: str
    downloads: int = 0
    likes: int = 0
    license: str | None = "apache-2.0"
    tags: list[str] = field(default_factory=list)
    library_name: str | None = None
    last_modified: str = "2026-01-15T10:00:00.000Z"


@dataclass
class _Fault:
    status: int = 0  # answer this status instead of the file
    times: int = 0  # how many more GETs get it
    drop_after: int | None = None  # send this many body bytes, then cut the connection (once)
    vanish_after: int | None = None  # like drop_after, and then the file is gone
    every: bool = False  # drop_after on every GET, not once
    retry_after: str | None = None  # with status 429: the Retry-After to send


def _file(path: str, source: bytes | Path) -> HubFile:
    h, size = hashlib.sha256(), 0
    data_iter = [source] if isinstance(source, bytes) else _chunks(source)
    git = None
    if isinstance(source, bytes):
        git = hashlib.sha1(b"blob %d\0" % len(source) + source).hexdigest()
    for block in data_iter:
        h.update(block)
        size += len(block)
    lfs = size >= LFS_MIN or path.endswith((".gguf", ".safetensors"))
    sha = h.hexdigest()
    if lfs:  # git stores the pointer file; its oid is the pointer's blob sha1
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n".encode()
        git = hashlib.sha1(b"blob %d\0" % len(pointer) + pointer).hexdigest()
    return HubFile(path, source, size, sha, git or "", lfs)


def _chunks(path: Path) -> Any:
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            yield block


class LocalHub:
    """Start with `with LocalHub() as hub:` or start()/stop(); `hub.url` is the endpoint."""

    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[Recorded] = []
        self.throttle_bps: float | None = None
        self._faults: dict[tuple[str, str], _Fault] = {}
        self._corrupt: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self.gated: dict[str, str] = {}  # repo id -> the token that has access
        self.page_size: int | None = None
        self.ignore_range = False
        self.missing_as_401 = False
        self.empty_search = False
        self._rate_limited = 0
        self._retry_after = "1"

    def gate(self, repo_id: str, token: str) -> None:
        """File requests of the repo need `Authorization: Bearer <token>`."""
        self.gated[repo_id] = token

    def rate_limit(self, times: int, retry_after: str = "1") -> None:
        """The next `times` requests (any) answer 429 Too Many Requests."""
        self._rate_limited, self._retry_after = times, retry_after

    # ---------------------------------------------------------------- set-up
    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], **meta: Any) -> HubRepo:
        sha = hashlib.sha1(repo_id.encode() + str(sorted(files)).encode()).hexdigest()
        repo = HubRepo(repo_id, {p: _file(p, s) for p, s in files.items()}, sha, **meta)
        self.repos[repo_id] = repo
        return repo

    def fail(self, repo_id: str, path: str, status: int = 500, times: int = 1, retry_after: str | None = None) -> None:
        """The next `times` GETs of the file answer `status` (429: with Retry-After and RateLimit)."""
        self._faults[(repo_id, path)] = _Fault(status=status, times=times, retry_after=retry_after)

    def drop_after(self, repo_id: str, path: str, n_bytes: int, every: bool = False) -> None:
        """The next GET of the file (`every`: each GET) sends n_bytes of body, then the connection drops."""
        self._faults[(repo_id, path)] = _Fault(drop_after=n_bytes, every=every)

    def vanish_after(self, repo_id: str, path: str, n_bytes: int) -> None:
        """The next GET sends n_bytes, drops, and from then on the file is gone (404)."""
        self._faults[(repo_id, path)] = _Fault(vanish_after=n_bytes)

    def corrupt(self, repo_id: str, path: str) -> None:
        """Serve other bytes than the ones the advertised sha256 was computed from."""
        self._corrupt.add((repo_id, path))

    def delete(self, repo_id: str, path: str) -> None:
        self.repos[repo_id].files.pop(path, None)

    def gets(self, path_suffix: str = "") -> list[Recorded]:
        """Recorded GETs of file bytes (the CDN), optionally of one file."""
        with self._lock:
            reqs = list(self.requests)
        return [
            r for r in reqs
            if r.method == "GET" and (r.path.startswith("/cdn-lfs/") or "/resolve/" in r.path)
            and r.path.endswith(path_suffix)
        ]

    # ---------------------------------------------------------------- life
    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_url(self) -> str:  # another origin, as the Hub's CDN is
        return f"http://localhost:{self.port}"

    def start(self) -> LocalHub:
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True, name="local-hub").start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _Handler(http.server.BaseHTTPRequestHandler):
    hub: LocalHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---------------------------------------------------------------- dispatch
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch("HEAD")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        with self.hub._lock:
            self.hub.requests.append(Recorded(method, path, query, self.headers.get("Range"), self.headers.get("Host"),
                                              self.headers.get("Authorization")))
            limited = self.hub._rate_limited > 0
            if limited:
                self.hub._rate_limited -= 1
        if limited:
            return self._rate_limit_answer()
        try:
            if path.startswith("/cdn-lfs/"):
                self._cdn(method, path)
            elif path == "/api/models":
                self._search(query)
            elif path.startswith("/api/models/"):
                self._api(path[len("/api/models/"):], query)
            elif "/resolve/" in path:
                self._resolve(method, path)
            else:
                self._error(404, None, "Not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---------------------------------------------------------------- helpers
    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _rate_limit_answer(self) -> None:
        body = b'{"error": "You have exceeded our hourly quotas for action: api."}'
        self.send_response(429)
        self.send_header("Retry-After", self.hub._retry_after)
        self.send_header("RateLimit", f'"api";r=0;t={self.hub._retry_after}')
        self.send_header("RateLimit-Policy", '"fixed window";"api";q=500;w=300')
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _gate_refuses(self, repo_id: str) -> bool:
        """Answer 401/403 GatedRepo for a gated repo without the right token."""
        token = self.hub.gated.get(repo_id)
        if token is None:
            return False
        auth = self.headers.get("Authorization")
        if auth == f"Bearer {token}":
            return False
        msg = (f"Access to model {repo_id} is restricted. You must have access to it and be authenticated to "
               "access it. Please log in." if auth is None else
               f"Access to model {repo_id} is restricted and you are not in the authorized list. "
               f"Visit https://huggingface.co/{repo_id} to ask for access.")
        self._error(401 if auth is None else 403, "GatedRepo", msg)
        return True

    def _error(self, status: int, code: str | None, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _repo_rev(self, repo_id: str, rev: str) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if rev not in ("main", repo.sha):
            if self.hub.missing_as_401:  # a mirror that answers anything it lacks with 401
                self._error(401, None, "Unauthorized")
            else:
                self._error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            return None
        return repo

    # ---------------------------------------------------------------- /api
    def _search(self, q: dict[str, list[str]]) -> None:
        if self.hub.empty_search:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        repos = list(self.hub.repos.values())
        for tag in q.get("filter", []):
            repos = [r for r in repos if tag in r.tags or tag == r.library_name]
        if "author" in q:
            repos = [r for r in repos if r.repo_id.split("/")[0] == q["author"][0]]
        if "search" in q:
            s = q["search"][0].lower()
            repos = [r for r in repos if s in r.repo_id.lower()]
        key = q.get("sort", ["downloads"])[0]
        if key in ("downloads", "likes"):
            repos.sort(key=lambda r: getattr(r, key), reverse=True)
        size = min(int(q.get("limit", ["1000"])[0]), self.hub.page_size or 1000)
        start = int(q.get("cursor", ["0"])[0])
        page = repos[start: start + size]
        headers = {}
        if start + size < len(repos):  # as the Hub: the next page's address in a Link header
            rest = {k: v[0] for k, v in q.items() if k != "cursor"}
            query = "&".join(f"{k}={quote(str(v))}" for k, v in rest.items()) + f"&cursor={start + size}"
            headers["Link"] = f'<{self.hub.url}/api/models?{query}>; rel="next"'
        self._json([self._summary(r) for r in page], headers=headers)

    def _summary(self, r: HubRepo) -> dict[str, Any]:
        tags = list(r.tags) + ([f"license:{r.license}"] if r.license else [])
        return {
            "_id": r.sha[:24], "id": r.repo_id, "modelId": r.repo_id, "likes": r.likes, "downloads": r.downloads,
            "private": False, "tags": tags, "pipeline_tag": "text-generation", "library_name": r.library_name,
            "createdAt": "2025-06-01T00:00:00.000Z", "lastModified": r.last_modified, "trendingScore": 0,
        }

    def _api(self, rest: str, q: dict[str, list[str]]) -> None:
        parts = rest.split("/")
        if len(parts) < 2:
            return self._error(404, "RepoNotFound", "Repository not found")
        repo_id, tail = "/".join(parts[:2]), parts[2:]
        if not tail or tail[0] == "revision":
            rev = tail[1] if len(tail) > 1 else "main"
            repo = self._repo_rev(repo_id, rev)
            if repo is not None:
                self._json(self._info(repo, blobs="blobs" in q))
        elif tail[0] == "tree" and len(tail) >= 2:
            repo = self._repo_rev(repo_id, tail[1])
            if repo is not None:
                self._tree(repo, "/".join(tail[2:]), q.get("recursive", ["false"])[0].lower() == "true")
        else:
            self._error(404, None, "Not found")

    def _info(self, r: HubRepo, blobs: bool) -> dict[str, Any]:
        data = self._summary(r)
        siblings = []
        for f in r.files.values():
            s: dict[str, Any] = {"rfilename": f.path}
            if blobs:
                s.update(size=f.size, blobId=f.git_oid)
                if f.lfs:
                    s["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(s)
        card = {"license": r.license} if r.license else {}
        data.update(author=r.repo_id.split("/")[0], sha=r.sha, gated="manual" if r.repo_id in self.hub.gated else False,
                    disabled=False,
                    cardData=card, siblings=siblings, usedStorage=sum(f.size for f in r.files.values()))
        return data

    def _tree(self, r: HubRepo, under: str, recursive: bool) -> None:
        prefix = under.strip("/") + "/" if under.strip("/") else ""
        out, dirs = [], set()
        for f in sorted(r.files.values(), key=lambda f: f.path):
            if not f.path.startswith(prefix):
                continue
            rel = f.path[len(prefix):]
            folders = rel.split("/")[:-1]
            for i in range(len(folders) if recursive else min(1, len(folders))):
                dirs.add(prefix + "/".join(folders[: i + 1]))
            if "/" in rel and not recursive:
                continue
            e: dict[str, Any] = {"type": "file", "oid": f.git_oid, "size": f.size, "path": f.path}
            if f.lfs:
                e["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
            out.append(e)
        out = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in sorted(dirs)] + out
        self._json(out)

    # ---------------------------------------------------------------- files
    def _resolve(self, method: str, path: str) -> None:
        head, _, rest = path.lstrip("/").partition("/resolve/")
        rev, _, file_path = rest.partition("/")
        repo = self._repo_rev(head, rev)
        if repo is None:
            return
        f = repo.files.get(file_path)
        if f is None:
            if self.hub.missing_as_401:
                return self._error(401, None, "Unauthorized")
            return self._error(404, "EntryNotFound", f"{file_path} does not exist on \"{rev}\"")
        if self._gate_refuses(head):
            return
        if f.lfs:
            self.send_response(302)
            self.send_header("Location", f"{self.hub.cdn_url}/cdn-lfs/{quote(head)}/{f.sha256}/{quote(file_path)}"
                                         "?X-Amz-Signature=local")
            self.send_header("ETag", f'"{f.git_oid}"')
            self.send_header("X-Linked-Etag", f'"{f.sha256}"')
            self.send_header("X-Linked-Size", str(f.size))
            self.send_header("X-Repo-Commit", repo.sha)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send_file(method, head, f, extra={"X-Repo-Commit": repo.sha, "ETag": f'"{f.git_oid}"'})

    def _cdn(self, method: str, path: str) -> None:
        parts = path[len("/cdn-lfs/"):].split("/")
        repo_id, file_path = "/".join(parts[:2]), "/".join(parts[3:])
        repo = self.hub.repos.get(repo_id)
        f = repo.files.get(file_path) if repo else None
        if f is None or f.sha256 != parts[2]:
            return self._error(404, None, "NoSuchKey")
        self._send_file(method, repo_id, f, extra={"ETag": f'"{f.sha256}"'})

    def _send_file(self, method: str, repo_id: str, f: HubFile, extra: dict[str, str]) -> None:
        fault = self.hub._faults.get((repo_id, f.path))
        if method == "GET" and fault is not None and fault.times > 0:
            fault.times -= 1
            if fault.status == 429:
                self.hub._retry_after = fault.retry_after or "1"
                return self._rate_limit_answer()
            return self._error(fault.status, None, "Internal Error")
        start, end = 0, f.size
        rng = None if self.hub.ignore_range else self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = int(b) + 1 if b else f.size
            if start >= f.size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{f.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if rng else 200)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{f.size}")
        self.end_headers()
        if method == "HEAD":
            return
        cut = None
        if fault is not None and (fault.drop_after is not None or fault.vanish_after is not None):
            cut = fault.drop_after if fault.drop_after is not None else fault.vanish_after
            if not fault.every:
                self.hub._faults.pop((repo_id, f.path), None)
            if fault.vanish_after is not None:
                self.hub.delete(repo_id, f.path)
        corrupt = (repo_id, f.path) in self.hub._corrupt
        sent, t0 = 0, time.monotonic()
        pos = start
        while pos < end:
            if self.hub._stopping.is_set():
                break
            n = min(CHUNK, end - pos)
            if cut is not None:
                n = min(n, cut - sent)
                if n <= 0:
                    break
            block = f.read(pos, pos + n)
            if corrupt:
                block = bytes(b ^ 0xFF for b in block[:16]) + block[16:]
            self.wfile.write(block)
            sent += n
            pos += n
            if self.hub.throttle_bps:
                ahead = sent / self.hub.throttle_bps - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        if pos < end:  # cut: close without the rest of the declared body
            self.wfile.flush()
            self.close_connection = True


def make_repo_files(seed: int = 0, size: int = 2_000_000) -> dict[str, bytes]:
    """A GGUF repo's files: one single-file quant, one quant in 3 shards, a README."""
    import random

    rnd = random.Random(seed)
    blob = rnd.randbytes(size)
    third = size // 3
    return {
        "model-Q4_K_M.gguf": blob,
        "model-Q8_0-00001-of-00003.gguf": blob[:third],
        "model-Q8_0-00002-of-00003.gguf": blob[third : 2 * third],
        "model-Q8_0-00003-of-00003.gguf": blob[2 * third :],
        "IQ3_XS/model-IQ3_XS.gguf": blob[:100_000],
        "README.md": b"# a model\n",
    }
