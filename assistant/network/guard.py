"""Offline mode and the audit hook that enforces it.

`sys.addaudithook` sees every socket connect, forward DNS lookup and datagram of this
Python process, whoever opens the socket. Online it records a line for each connection
(bytes unknown); with Offline mode on it raises `NetworkBlockedError` before any packet
leaves, and records "blocked". Audit hooks are per process: a child process installs
its own (engines/host.py does).
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from assistant.errors import NetworkBlockedError
from assistant.network.activity import ATTEMPTED, BLOCKED, UNATTRIBUTED, NetworkEntry, safe_record

_offline = False
_purpose: contextvars.ContextVar[str | None] = contextvars.ContextVar("network_purpose", default=None)
# set while a recording httpx client opens a connection: it writes the line itself
client_active: contextvars.ContextVar[bool] = contextvars.ContextVar("network_client_active", default=False)


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
        if not client_active.get():
            safe_record(NetworkEntry(time.time(), host, port, _purpose.get() or UNATTRIBUTED, outcome=BLOCKED))
        raise blocked_error(host)
    if client_active.get():
        return
    safe_record(NetworkEntry(
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
        if not client_active.get():
            safe_record(NetworkEntry(time.time(), host, port, _purpose.get() or UNATTRIBUTED, outcome=BLOCKED))
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
    frame: FrameType | None = sys._getframe(1)
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
