"""httpx clients that record each request as one line of the network record (host,
port, method, path, bytes both ways, HTTP status) and refuse while Offline mode is on.
While such a client opens a connection the audit hook stays quiet, so the user sees
one line per request and never a second one for the socket underneath.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from assistant.errors import NetworkBlockedError
from assistant.network import guard
from assistant.network.activity import BLOCKED, OK, UNATTRIBUTED, NetworkEntry, safe_record
from assistant.network.failures import describe_failure, never_connected

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
        raise RuntimeError(f"cannot record requests of {type(client).__module__}: assistant/network/transports.py needs an update") from exc


class _Exchange:
    """One request's line in the record, written once, when the request ends."""

    def __init__(self, default_purpose: str, request: Any) -> None:
        url = request.url
        self.time = time.time()
        self.host = str(url.host)
        self.port = url.port or _DEFAULT_PORTS.get(url.scheme)
        self.purpose = guard.current_purpose() or default_purpose or UNATTRIBUTED
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
        safe_record(NetworkEntry(
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
    # in words, as the app says it elsewhere: "error: the name could not be looked up"
    reason = describe_failure(exc)
    if reason != "the connection failed":
        return f"error: {reason}"
    message = str(exc)
    for pattern, repl in _SCRUB:
        message = pattern.sub(repl, message)
    message = " ".join(message.split())[:200]
    return "error: the connection failed" + (f" ({message})" if message and "Errno" not in message else "")


# The sync and async transports differ only in how they call the inner transport;
# what happens before and after a request is written once, here.
def _begin(purpose: str, request: Any, counter: type) -> tuple[_Exchange, contextvars.Token[bool]]:
    ex = _Exchange(purpose, request)
    if guard.is_offline():
        ex.finish(BLOCKED)
        raise guard.blocked_error(ex.host)
    request.stream = counter(request.stream, ex.add_sent)
    return ex, guard.client_active.set(True)


def _failed(ex: _Exchange, exc: BaseException) -> None:
    # Offline mode turned on mid-request shows as blocked, anything else as its error
    if never_connected(exc):
        ex.sent = 0  # the request was never written: no lookup, or no connection
    ex.finish(BLOCKED if isinstance(exc, NetworkBlockedError) else _error_outcome(exc))


def _answered(ex: _Exchange, response: Any, counter: type) -> Any:
    ex.got_response(response)
    response.stream = counter(response.stream, ex.add_received, ex)
    return response


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
            ex, token = _begin(self._purpose, request, SyncCounter)
            try:
                response = self._inner.handle_request(request)
            except BaseException as exc:
                _failed(ex, exc)
                raise
            finally:
                guard.client_active.reset(token)
            return _answered(ex, response, SyncCounter)

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
            ex, token = _begin(self._purpose, request, AsyncCounter)
            try:
                response = await self._inner.handle_async_request(request)
            except BaseException as exc:
                _failed(ex, exc)
                raise
            finally:
                guard.client_active.reset(token)
            return _answered(ex, response, AsyncCounter)

        async def aclose(self) -> None:
            await self._inner.aclose()

        async def __aenter__(self) -> Any:
            await self._inner.__aenter__()
            return self

        async def __aexit__(self, *exc: Any) -> None:
            await self._inner.__aexit__(*exc)

    return _Kit(RecordingTransport, AsyncRecordingTransport)
