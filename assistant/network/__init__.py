"""Every outbound connection of the app, recorded where the user can see it; Offline mode.

Four modules: activity.py (the activity record), guard.py (Offline mode and the audit
hook), transports.py (recording httpx clients), failures.py (why a connection failed, in
words). Import this package, not them.

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

from assistant.network.activity import (
    ATTEMPTED,
    BLOCKED,
    INBOUND,
    MAX_RECORD_BYTES,
    OK,
    RECORD_NAME,
    UNATTRIBUTED,
    NetworkEntry,
    clear,
    entries,
    record,
    record_path,
    set_origin,
    subscribe,
)
from assistant.network.failures import describe_failure, never_connected, no_connection, reword
from assistant.network.guard import blocked_error, current_purpose, install, is_offline, purpose, set_offline
from assistant.network.transports import async_httpx_client, httpx_client

__all__ = [
    "ATTEMPTED", "BLOCKED", "INBOUND", "MAX_RECORD_BYTES", "OK", "RECORD_NAME", "UNATTRIBUTED", "NetworkEntry",
    "async_httpx_client", "blocked_error", "clear", "describe_failure", "never_connected", "no_connection", "reword",
    "current_purpose", "entries", "httpx_client",
    "install", "is_offline", "purpose", "record", "record_path", "set_offline", "set_origin", "subscribe",
]

install()
