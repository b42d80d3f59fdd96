"""Every outbound connection of the app, recorded where the user can see it; Offline mode.

Two layers, so that nothing escapes the record:

- An audit hook (`sys.addaudithook`, installed when this module is imported) sees every
  socket connect, forward DNS lookup and datagram of this Python process, whoever opens
  the socket. Online it records a line for each connection (bytes unknown); with Offline
  mode on it raises `NetworkBlockedError` before any packet leaves, and records "blocked".
- `httpx_client(purpose)` / `async_httpx_client(purpose)` give httpx clients that record
  each request as one line: host, port, method, path, bytes both ways, HTTP status. While
  such a client opens a connection the hook stays quiet, so the user sees one line per
  request and never a second line for the socket underneath.

Decisions:

- Offline mode blocks every socket that is not AF_UNIX (or netlink), loopback included:
  the promise is "no network connection of any kind", and a server on 127.0.0.1 may
  forward anywhere. AF_UNIX (D-Bus, so the keyring) is local IPC, never blocked or
  recorded; nor is the standard library's loopback socketpair() emulation on Windows,
  which asyncio uses as a wake-up pipe.
- DNS: offline, a lookup of any name but localhost is refused (the query itself tells a
  server where the app is going); numeric addresses pass to the connect, which is refused.
  Reverse lookups are left alone (http.server does one of its own address at start).
- Never stored: headers, query strings, fragments, bodies, user info. Only host, port,
  method and path; error messages are scrubbed of query strings and bearer tokens.
- A request's line is written when it ends (bytes are known then), stamped with its start.
- Purpose: the innermost `purpose(...)` block active at request time wins over the
  client's own purpose. Context variables do not follow work into new threads, so a
  worker thread sets its own `purpose(...)`.
- Scope: this Python process. Native code with its own sockets (hf_xet's Rust client, a
  subprocess) is invisible to the hook: send such traffic through `httpx_client`
  (huggingface_hub: HF_HUB_DISABLE_XET=1 and `set_client_factory`).
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import NetworkBlockedError
from .paths import get_paths

log = logging.getLogger(__name__)

RECORD_NAME = "network_activity.jsonl"
MAX_RECORD_BYTES = 4 * 1024 * 1024  # past this the oldest half is dropped
UNATTRIBUTED = "unattributed"
OK, BLOCKED, ATTEMPTED = "ok", "blocked", "attempted"  # "error: ..." otherwise


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkEntry:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["time"] = float(kwargs["time"])  # sorted on: a bad value drops the line
        return cls(**kwargs)


# ---------------------------------------------------------------- the record

_record_lock = threading.Lock()
_listeners: list[Callable[[NetworkEntry | None], None]] = []
_listeners_lock = threading.Lock()


def record_path() -> Path:
    return get_paths().data_dir / RECORD_NAME


def record(entry: NetworkEntry) -> None:
    """Append one line to the record and tell the listeners."""
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


def _safe_record(entry: NetworkEntry) -> None:
    # from the audit hook: a full disk must not turn into a failed connection
    try:
        record(entry)
    except Exception:
        pass


# ---------------------------------------------------------------- offline mode and purpose

_offline = False
_purpose: contextvars.ContextVar[str | None] = contextvars.ContextVar("network_purpose", default=None)
# set while a recording httpx client opens a connection: it writes the line itself
_client_active: contextvars.ContextVar[bool] = contextvars.ContextVar("network_client_active", default=False)


def set_offline(on: bool) -> None:
    install()
    global _offline
    _offline = bool(on)


def is_offline() -> bool:
    return _offline


@contextmanager
def purpose(name: str) -> Iterator[None]:
    """Attribute the network work inside the block: `with purpose("Hugging Face Hub: search"):`."""
    token = _purpose.set(name)
    try:
        yield
    finally:
        _purpose.reset(token)


def current_purpose() -> str | None:
    return _purpose.get()


def blocked_error(host: str) -> NetworkBlockedError:
    return NetworkBlockedError(
        f"Offline mode is on: no connection was made to {host}.",
        "Turn off Offline mode in Settings to go online.",
    )


# ---------------------------------------------------------------- the audit hook

_LOCAL_FAMILIES = {getattr(socket, n) for n in ("AF_UNIX", "AF_NETLINK") if hasattr(socket, n)}
_SOCKETPAIR_NAMES = {"socketpair", "_fallback_socketpair"}
_SOCKET_FILE = socket.__file__
_LOOKUP_TTL = 30.0  # seconds a name lookup labels the connects that follow it
_tls = threading.local()
_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Install the audit hook once per process (it cannot be removed)."""
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_audit)
            _installed = True


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Runs for every audited event in the process (open, import, exec...): one dict
    # lookup first, and nothing but NetworkBlockedError may leave it.
    handler = _HANDLERS.get(event)
    if handler is None:
        return
    try:
        handler(args)
    except NetworkBlockedError:
        raise
    except Exception:
        pass


def _on_connect(args: tuple[Any, ...]) -> None:
    sock, address = args
    _outbound(sock, address, datagram=False)


def _on_sendto(args: tuple[Any, ...]) -> None:
    sock, address = args
    if address is not None:  # sendmsg on a connected socket: its connect was seen
        _outbound(sock, address, datagram=True)


def _outbound(sock: Any, address: Any, datagram: bool) -> None:
    if sock.family in _LOCAL_FAMILIES:
        return
    host, port = _split_address(address)
    if _is_loopback(host) and _from_socketpair():
        return
    host = _lookup_name(host, port)
    if _offline:
        if not _client_active.get():
            _safe_record(NetworkEntry(time.time(), host, port, _purpose.get() or UNATTRIBUTED, outcome=BLOCKED))
        raise blocked_error(host)
    if _client_active.get():
        return
    _safe_record(NetworkEntry(
        time.time(), host, port, _purpose.get() or UNATTRIBUTED,
        method="UDP" if datagram else "", outcome=ATTEMPTED,
    ))


def _on_lookup(args: tuple[Any, ...]) -> None:
    host = _text(args[0]) if args and args[0] is not None else ""
    port = _port(args[1]) if len(args) > 1 else None
    if not host or _is_numeric(host):
        return
    # remember the name, so the connect to its address is listed under the name
    _tls.lookup = (host, port, time.monotonic())
    if _offline and not _is_localhost_name(host):
        if not _client_active.get():
            _safe_record(NetworkEntry(time.time(), host, port, _purpose.get() or UNATTRIBUTED, outcome=BLOCKED))
        raise blocked_error(host)


_HANDLERS: dict[str, Callable[[tuple[Any, ...]], None]] = {
    "socket.connect": _on_connect,
    "socket.sendto": _on_sendto,
    "socket.sendmsg": _on_sendto,
    "socket.getaddrinfo": _on_lookup,
    "socket.gethostbyname": _on_lookup,
    "socket.gethostbyname_ex": _on_lookup,
}


def _text(value: Any) -> str:
    return value.decode("idna", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def _port(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    text = _text(value) if value is not None else ""
    if text.isdigit():
        return int(text)
    return {"http": 80, "https": 443}.get(text)


def _split_address(address: Any) -> tuple[str, int | None]:
    if isinstance(address, tuple) and len(address) >= 2:
        return _text(address[0]), _port(address[1])
    return _text(address), None


def _is_numeric(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_localhost_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


def _from_socketpair() -> bool:
    """True when the connect comes from the stdlib's socketpair() emulation (Windows)."""
    frame = sys._getframe(1)
    here = globals()
    while frame is not None and frame.f_globals is here:
        frame = frame.f_back
    return (
        frame is not None
        and frame.f_code.co_name in _SOCKETPAIR_NAMES
        and frame.f_code.co_filename == _SOCKET_FILE
    )


def _lookup_name(host: str, port: int | None) -> str:
    """The name this thread just looked up, when this connect is to one of its addresses."""
    lookup = getattr(_tls, "lookup", None)
    if lookup is None or not _is_numeric(host):
        return host
    name, lookup_port, at = lookup
    if time.monotonic() - at > _LOOKUP_TTL or (lookup_port is not None and lookup_port != port):
        return host
    return name


# ---------------------------------------------------------------- httpx clients

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SCRUB = [
    (re.compile(r"\?[^\s'\"]*"), ""),  # query strings
    (re.compile(r"(?i)(bearer|token|key|authorization)([\s:=]+)\S+"), r"\1\2[hidden]"),
]


def _default_httpx() -> ModuleType:
    # huggingface_hub 1.x+ uses httpx2; the cloud SDKs may want classic httpx
    try:
        import httpx2

        return httpx2
    except ImportError:
        import httpx

        return httpx


def httpx_client(purpose: str, *, httpx_module: ModuleType | None = None, **kwargs: Any) -> Any:
    """An httpx `Client` that records each request under `purpose` and refuses while offline.

    kwargs go to `Client(...)`. `httpx_module` picks httpx or httpx2 (default: httpx2
    when installed), for SDKs that check the client's class.
    """
    mod = httpx_module or _default_httpx()
    client = mod.Client(**kwargs)
    _wrap_transports(client, _kit(mod).transport, purpose)
    return client


def async_httpx_client(purpose: str, *, httpx_module: ModuleType | None = None, **kwargs: Any) -> Any:
    """The `AsyncClient` counterpart of `httpx_client`."""
    mod = httpx_module or _default_httpx()
    client = mod.AsyncClient(**kwargs)
    _wrap_transports(client, _kit(mod).async_transport, purpose)
    return client


def _wrap_transports(client: Any, cls: type, purpose: str) -> None:
    # The client's default transport and its mounts (proxies from the environment, a
    # caller's own) all get wrapped, so no route around the record remains.
    try:
        client._transport = cls(client._transport, purpose)
        client._mounts = {p: None if t is None else cls(t, purpose) for p, t in client._mounts.items()}
    except AttributeError as exc:  # a future httpx keeps them elsewhere: fail loudly
        raise RuntimeError(f"cannot record requests of {type(client).__module__}: network.py needs an update") from exc


class _Exchange:
    """One request's line in the record, written once, when the request ends."""

    def __init__(self, default_purpose: str, request: Any) -> None:
        url = request.url
        self.time = time.time()
        self.host = str(url.host)
        self.port = url.port or _DEFAULT_PORTS.get(url.scheme)
        self.purpose = _purpose.get() or default_purpose or UNATTRIBUTED
        self.method = str(request.method)
        self.path = _clean_path(str(url.path))
        # approximate bytes on the wire: HTTP/1.1 request line and headers, then the body
        self.sent = len(request.method) + len(url.raw_path) + 12 + _headers_size(request.headers.raw)
        self.received = 0
        self.status: int | None = None
        self._done = False

    def finish(self, outcome: str) -> None:
        if self._done:
            return
        self._done = True
        _safe_record(NetworkEntry(
            self.time, self.host, self.port, self.purpose, self.method, self.path,
            self.sent, self.received, outcome, self.status,
        ))

    def add_sent(self, n: int) -> None:
        self.sent += n

    def add_received(self, n: int) -> None:
        self.received += n

    def got_response(self, response: Any) -> None:
        self.status = int(response.status_code)
        self.received += 17 + _headers_size(response.headers.raw)  # status line ~ "HTTP/1.1 200 OK"


def _headers_size(raw: list[tuple[bytes, bytes]]) -> int:
    return sum(len(k) + len(v) + 4 for k, v in raw) + 2


def _clean_path(path: str) -> str:
    return path.split("?", 1)[0].split("#", 1)[0] or "/"


def _error_outcome(exc: BaseException) -> str:
    message = str(exc)
    for pattern, repl in _SCRUB:
        message = pattern.sub(repl, message)
    message = " ".join(message.split())[:200]
    return f"error: {type(exc).__name__}" + (f": {message}" if message else "")


@dataclass(frozen=True)
class _Kit:
    transport: type
    async_transport: type


@functools.cache
def _kit(mod: ModuleType) -> _Kit:
    """Transport and stream wrappers for one httpx module (httpx or httpx2): the clients
    check streams against that module's own base classes."""

    class SyncCounter(mod.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, add: Callable[[int], None], ex: _Exchange | None = None) -> None:
            self._inner, self._add, self._ex = inner, add, ex

        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self._inner:
                    self._add(len(chunk))
                    yield chunk
            except GeneratorExit:
                raise
            except BaseException as exc:
                if self._ex is not None:
                    self._ex.finish(_error_outcome(exc))
                raise

        def close(self) -> None:
            try:
                if hasattr(self._inner, "close"):
                    self._inner.close()
            finally:
                if self._ex is not None:
                    self._ex.finish(OK)

    class AsyncCounter(mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, add: Callable[[int], None], ex: _Exchange | None = None) -> None:
            self._inner, self._add, self._ex = inner, add, ex

        async def __aiter__(self) -> Any:
            try:
                async for chunk in self._inner:
                    self._add(len(chunk))
                    yield chunk
            except GeneratorExit:
                raise
            except BaseException as exc:
                if self._ex is not None:
                    self._ex.finish(_error_outcome(exc))
                raise

        async def aclose(self) -> None:
            try:
                if hasattr(self._inner, "aclose"):
                    await self._inner.aclose()
            finally:
                if self._ex is not None:
                    self._ex.finish(OK)

    class RecordingTransport(mod.BaseTransport):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, purpose: str) -> None:
            self._inner, self._purpose = inner, purpose

        def handle_request(self, request: Any) -> Any:
            ex = _Exchange(self._purpose, request)
            if _offline:
                ex.finish(BLOCKED)
                raise blocked_error(ex.host)
            request.stream = SyncCounter(request.stream, ex.add_sent)
            token = _client_active.set(True)
            try:
                response = self._inner.handle_request(request)
            except NetworkBlockedError:  # Offline mode turned on mid-request
                ex.finish(BLOCKED)
                raise
            except BaseException as exc:
                ex.finish(_error_outcome(exc))
                raise
            finally:
                _client_active.reset(token)
            ex.got_response(response)
            response.stream = SyncCounter(response.stream, ex.add_received, ex)
            return response

        def close(self) -> None:
            self._inner.close()

        def __enter__(self) -> Any:
            self._inner.__enter__()
            return self

        def __exit__(self, *exc: Any) -> None:
            self._inner.__exit__(*exc)

    class AsyncRecordingTransport(mod.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        def __init__(self, inner: Any, purpose: str) -> None:
            self._inner, self._purpose = inner, purpose

        async def handle_async_request(self, request: Any) -> Any:
            ex = _Exchange(self._purpose, request)
            if _offline:
                ex.finish(BLOCKED)
                raise blocked_error(ex.host)
            request.stream = AsyncCounter(request.stream, ex.add_sent)
            token = _client_active.set(True)
            try:
                response = await self._inner.handle_async_request(request)
            except NetworkBlockedError:
                ex.finish(BLOCKED)
                raise
            except BaseException as exc:
                ex.finish(_error_outcome(exc))
                raise
            finally:
                _client_active.reset(token)
            ex.got_response(response)
            response.stream = AsyncCounter(response.stream, ex.add_received, ex)
            return response

        async def aclose(self) -> None:
            await self._inner.aclose()

        async def __aenter__(self) -> Any:
            await self._inner.__aenter__()
            return self

        async def __aexit__(self, *exc: Any) -> None:
            await self._inner.__aexit__(*exc)

    return _Kit(RecordingTransport, AsyncRecordingTransport)


install()
