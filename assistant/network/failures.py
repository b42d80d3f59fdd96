"""Why a connection failed, in words a user can act on: "the name could not be looked up",
not "(ConnectError)" or "[Errno -2]". The Hub, downloads, the cloud and the network record
all say it this way."""

from __future__ import annotations

import errno
import socket
import ssl

from assistant.errors import NetworkBlockedError

_LOOKUP_ERRNOS = {getattr(socket, n) for n in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA") if hasattr(socket, n)}
_CONNECT_NAMES = {"ConnectError", "ConnectTimeout"}  # httpx / httpx2: nothing reached the server


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _mentions(exc: BaseException, *words: str) -> bool:
    text = " ".join(str(e) for e in _chain(exc)).lower()
    return any(w in text for w in words)


def describe_failure(exc: BaseException) -> str:
    """The reason, in words: the name could not be looked up / refused / timed out / ..."""
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    if any(isinstance(e, NetworkBlockedError) for e in chain):
        return "Offline mode is on"
    if any(isinstance(e, socket.gaierror) and e.errno in _LOOKUP_ERRNOS | {None} for e in chain) \
            or _mentions(exc, "errno -2]", "errno -3]", "errno -5]", "name or service not known", "nodename nor servname",
                         "temporary failure in name resolution", "getaddrinfo failed", "no address associated"):
        return "the name could not be looked up"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or _mentions(exc, "connection refused", "errno 111]"):
        return "the connection was refused: nothing answers at that address"
    if any(isinstance(e, (ssl.SSLError, ssl.CertificateError)) for e in chain) or _mentions(exc, "certificate verify failed"):
        return "the secure connection could not be checked (its certificate)"
    if names & {"ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException"} \
            or any(isinstance(e, TimeoutError) for e in chain):
        return "it did not answer in time"
    if any(isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) for e in chain) \
            or _mentions(exc, "network is unreachable", "no route to host"):
        return "there is no network connection"
    if names & {"RemoteProtocolError", "ReadError"} or any(isinstance(e, ConnectionResetError) for e in chain):
        return "the connection was cut"
    return "the connection failed"


def reword(outcome: str) -> str:
    """A recorded outcome in words, also one written before they were ("error: ConnectError:
    [Errno -2] Name or service not known" -> "error: the name could not be looked up")."""
    if not outcome.startswith("error: ") or "Errno" not in outcome and "Error:" not in outcome:
        return outcome
    return f"error: {describe_failure(_Recorded(outcome))}"


class _Recorded(Exception):
    """An old record's error text, read for its words."""


def never_connected(exc: BaseException) -> bool:
    """True when nothing reached the server (a failed lookup or connect): no bytes were sent."""
    chain = _chain(exc)
    return bool({type(e).__name__ for e in chain} & _CONNECT_NAMES) or any(
        isinstance(e, (socket.gaierror, ConnectionRefusedError)) for e in chain)


def no_connection(host: str, exc: BaseException) -> str:
    """'No connection to huggingface.co (the name could not be looked up).'"""
    return f"No connection to {host} ({describe_failure(exc)})."
