"""A synchronous face on the official `mcp` SDK (async) for the window, CLI and server
threads: one `McpServer` per configured server.

Each server gets a background thread running its own asyncio loop; the SDK's `Client`
lives there for as long as the connection does. A stdio server is its own process
(started when first needed, its stderr kept as its last lines); a Streamable HTTP server
is reached through a recording httpx client, so its requests show in the network record
under "MCP server: NAME", and Offline mode refuses it before any connection. In Offline
mode a stdio server starts without network access where the system allows it (Linux:
mcp_sandbox.py), and one started online is started again so.

Limits: a call ends at its time limit (ToolTimeoutError) or at once when `cancel` is set
(ToolCancelledError); either way the SDK tells the server the request is cancelled. A
server that ends mid-call is reported with its stderr (McpServerError) and started again
on the next call. A result over the size cap is cut, with a note saying so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import shutil
import threading
import time
from collections import deque
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

from assistant import keys
from assistant.errors import McpServerError, NetworkBlockedError, ToolCancelledError, ToolTimeoutError
from assistant.network import guard
from assistant.network.activity import BLOCKED, NetworkEntry, safe_record
from assistant.network.failures import describe_failure
from assistant.tools.mcp_config import ServerConfig, safe_url
from assistant.tools.mcp_results import DEFAULT_MAX_RESULT_BYTES, ToolResult, result_from_mcp
from assistant.tools.mcp_sandbox import sandbox_available, sandboxed_command
from assistant.tools.registry import ToolInfo

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 8.0  # the SDK's own shutdown: stdin closed, 2 s, SIGTERM, 2 s, SIGKILL
STDERR_LINES = 20
PROBE_TIMEOUT_S = 2.0
_POLL_S = 0.02
_MAX_SSE_EVENT = 256 * 1024 * 1024  # big results are cut after they arrive, not refused
_CONNECTION_CLOSED = -32000


class McpServer:
    """One MCP server, thread-safe. `start` is called by the first `list_tools` or
    `call_tool`; `stop` ends the connection (and a stdio server's process)."""

    def __init__(self, config: ServerConfig, *, max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.config = config
        for secret in config.secrets():  # never in a log line, whoever logs it (the SDK, httpx)
            keys.protect(secret)
        self.max_result_bytes = max_result_bytes
        self.start_timeout_s = start_timeout_s
        self._lock = threading.Lock()
        self._conn: _Connection | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def running(self) -> bool:
        conn = self._conn
        return conn is not None and conn.alive(probe=False)

    def start(self, cancel: threading.Event | None = None) -> None:
        """Connect (start the process), unless connected. McpServerError when it cannot
        start; NetworkBlockedError for an HTTP server in Offline mode; ToolCancelledError
        when `cancel` is set while it starts."""
        with self._lock:
            if self._conn is not None and self._conn.alive() and not self._conn.stale():
                return
            if self._conn is not None:
                log.info("MCP server %s ended or Offline mode came on; starting it again", self.name)
                self._conn.close()
                self._conn = None
            self._conn = _Connection.open(self.config, self.start_timeout_s, cancel)

    def stop(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def list_tools(self, timeout_s: float = START_TIMEOUT_S) -> list[ToolInfo]:
        self.start()
        conn = self._connection()
        tools: list[ToolInfo] = []
        cursor: str | None = None
        for _ in range(100):  # a paginator that never ends cannot hang the app
            page = self._run(conn, conn.client.list_tools(cursor=cursor), "tools/list", timeout_s, None)
            for t in page.tools:
                schema = t.input_schema if isinstance(t.input_schema, dict) else {}
                tools.append(ToolInfo(self.name, t.name, t.description or "", dict(schema)))
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                  cancel: threading.Event | None = None) -> ToolResult:
        """Run one tool. Errors the tool reports itself come back as `is_error` results
        (the model reads them); the call's own failures raise ToolError subclasses."""
        if cancel is not None and cancel.is_set():
            raise ToolCancelledError(f"The call of {name} was stopped.", "")
        self.start(cancel)
        conn = self._connection()
        result = self._run(conn, conn.client.call_tool(name, arguments or {}), name, timeout_s, cancel)
        return result_from_mcp(result, self.max_result_bytes)

    def _connection(self) -> _Connection:
        conn = self._conn
        if conn is None:
            raise McpServerError(f"The MCP server {self.name} was stopped.", "Start it again.", server=self.name)
        return conn

    def _run(self, conn: _Connection, coro: Any, what: str, timeout_s: float,
             cancel: threading.Event | None) -> Any:
        try:
            future = asyncio.run_coroutine_threadsafe(coro, conn.loop)
        except RuntimeError:  # stopped by another thread just now
            coro.close()
            raise McpServerError(f"The MCP server {self.name} was stopped.", "Start it again.", server=self.name) from None
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        deadline = time.monotonic() + timeout_s
        while not done.wait(_POLL_S):
            if cancel is not None and cancel.is_set():
                future.cancel()  # the task's cancellation makes the SDK send notifications/cancelled
                raise ToolCancelledError(f"The call of {what} was stopped.", "")
            if time.monotonic() >= deadline:
                future.cancel()
                raise ToolTimeoutError(
                    f"The tool {what} of the MCP server {self.name} did not answer within {timeout_s:g} s.",
                    "The call was cancelled. Try again with a longer time limit (Settings → Tools), "
                    "or check the server.", tool=what, server=self.name)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise ToolCancelledError(f"The call of {what} was stopped.", "") from None
        except Exception as exc:
            raise self._failed(conn, exc, what) from None

    def _failed(self, conn: _Connection, exc: BaseException, what: str) -> Exception:
        """The error for a call that failed below the tool: the connection is dropped,
        so the next call starts the server again."""
        leaf = _leaf(exc)
        code = getattr(leaf, "code", None)
        closed = code == _CONNECTION_CLOSED or not conn.alive()
        if code is not None and not closed:  # a protocol error the server answered with
            return McpServerError(f"The MCP server {self.name} refused {what}: {getattr(leaf, 'message', leaf)}",
                                  "Check the tool's name and arguments.", server=self.name)
        with self._lock:
            if self._conn is conn:
                self._conn = None
        conn.close()
        if isinstance(leaf, NetworkBlockedError):
            return leaf
        if self.config.url and guard.is_offline():  # turned on mid-session: the SDK hides the cause
            return guard.blocked_error(urlsplit(self.config.url).hostname or "")
        stderr = conn.stderr_text(wait=1.0)
        if self.config.url:
            msg = f"The MCP server {self.name} ({safe_url(self.config.url)}) failed during {what}: {describe_failure(leaf)}."
        else:
            msg = f"The MCP server {self.name} ended during {what}" + (
                f"; its last words:\n{stderr}" if stderr else " without saying why (nothing on its stderr).")
        again = "connected to again" if self.config.url else "started again"
        return McpServerError(msg, f"It will be {again} on the next call.", server=self.name, stderr=stderr)


class _StderrTail:
    """A stdio server's stderr: a pipe read by a daemon thread, keeping the last lines."""

    def __init__(self, lines: int = STDERR_LINES) -> None:
        r, w = os.pipe()
        self.writer = os.fdopen(w, "w")
        self._reader = os.fdopen(r, "rb")
        self._lines: deque[str] = deque(maxlen=lines)
        self.ended = threading.Event()  # EOF: every holder of the pipe (the server) is gone
        threading.Thread(target=self._read, daemon=True, name="mcp-stderr").start()

    def _read(self) -> None:
        try:
            while line := self._reader.readline(8192):
                self._lines.append(line.decode("utf-8", "replace").rstrip())
        except (OSError, ValueError):
            pass
        finally:
            self.ended.set()
            self._reader.close()

    def close_writer(self) -> None:
        if not self.writer.closed:
            self.writer.close()

    def text(self, wait: float = 0.0) -> str:
        if wait:
            self.ended.wait(wait)
        return "\n".join(line for line in list(self._lines) if line.strip())


class _Connection:
    """One live connection: the loop thread, the SDK client, and (stdio) the stderr tail."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=f"mcp-{config.name}")
        self.stderr = _StderrTail() if not config.url else None
        self.ready: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.ended = threading.Event()
        self.client: Any = None
        self._stop: asyncio.Event | None = None
        self._serve: concurrent.futures.Future[None] | None = None
        self.confined = False  # started without network access (no_network, or in Offline mode)
        self._stderr_closed_alive = False  # a server that closed its own stderr, and answers

    @classmethod
    def open(cls, config: ServerConfig, timeout_s: float, cancel: threading.Event | None = None) -> _Connection:
        confined = False
        if config.url:
            _refuse_offline(config)
        elif config.no_network:
            ok, why = sandbox_available()
            if not ok:
                raise McpServerError(
                    f"The MCP server {config.name} is set to start without network access, but {why}.",
                    "Turn off \"no network\" for it to start it with network access.", server=config.name)
            confined = True
        elif guard.is_offline():  # Offline mode reaches into the server's process where the system allows
            confined = sandbox_available()[0]
        conn = cls(config)
        conn.confined = confined
        conn.thread.start()
        conn._serve = asyncio.run_coroutine_threadsafe(conn._run(), conn.loop)
        deadline = time.monotonic() + timeout_s
        try:
            while conn.client is None:
                try:
                    conn.client = conn.ready.result(_POLL_S)
                except concurrent.futures.TimeoutError:
                    if cancel is not None and cancel.is_set():
                        raise ToolCancelledError(f"The start of the MCP server {config.name} was stopped.", "") from None
                    if time.monotonic() >= deadline:
                        raise
        except ToolCancelledError:
            conn.close()
            raise
        except concurrent.futures.TimeoutError:
            conn.close()
            raise McpServerError(
                f"The MCP server {config.name} did not answer within {timeout_s:g} s of starting "
                f"({config.describe()}).", "Check the server's command or address.", server=config.name) from None
        except BaseException as exc:
            conn.close()
            raise conn._start_error(exc) from None
        return conn

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                from mcp import Client

                client = Client(await self._transport(stack), mode="auto")
                try:
                    await stack.enter_async_context(client)
                finally:
                    if self.stderr is not None:
                        self.stderr.close_writer()  # the process holds its own copy
                self.ready.set_result(client)
                await self._stop.wait()
        except BaseException as exc:
            if not self.ready.done():
                self.ready.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self.ended.set()

    async def _transport(self, stack: AsyncExitStack) -> Any:
        cfg = self.config
        if cfg.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            from assistant.network.transports import async_httpx_client

            http = async_httpx_client(f"MCP server: {cfg.name}", httpx_module=httpx2, headers=dict(cfg.headers),
                                      timeout=httpx2.Timeout(30.0, read=300.0))
            stack.push_async_callback(http.aclose)
            return streamable_http_client(cfg.url, http_client=http, max_sse_event_size=_MAX_SSE_EVENT)
        from mcp.client.stdio import StdioServerParameters, stdio_client

        command, args = cfg.command, list(cfg.args)
        if self.confined:
            # a missing command is said as such, not as unshare's failure to run it
            if shutil.which(command, path=(cfg.env or {}).get("PATH")) is None and not os.path.exists(command):
                raise FileNotFoundError(command)
            command, args = sandboxed_command(command, args)
        params = StdioServerParameters(command=command, args=args, env=dict(cfg.env) or None, cwd=cfg.cwd or None)
        assert self.stderr is not None
        return stdio_client(params, errlog=self.stderr.writer)

    def stale(self) -> bool:
        """Started with network access, and Offline mode is on now: start it again without."""
        return not self.confined and not self.config.url and guard.is_offline() and sandbox_available()[0]

    def alive(self, probe: bool = True) -> bool:
        """Connected, and (stdio) the process is there. Its stderr's end says the process
        ended, unless the server closed its stderr itself: `probe` asks it once."""
        if self.ended.is_set():
            return False
        if self.stderr is None or not self.stderr.ended.is_set() or self._stderr_closed_alive:
            return True
        if not probe or self.client is None:
            return False
        try:
            # ping is gone from the 2026 protocol: a fresh tools/list is the question
            probe_list = self.client.list_tools(cache_mode="refresh")
            asyncio.run_coroutine_threadsafe(probe_list, self.loop).result(PROBE_TIMEOUT_S)
        except Exception:
            return False
        self._stderr_closed_alive = True
        return True

    def stderr_text(self, wait: float = 0.0) -> str:
        return self.stderr.text(wait) if self.stderr is not None else ""

    def close(self) -> None:
        """End the connection (the SDK stops a stdio server: stdin closed, then signals)
        and the loop thread."""
        if self.loop.is_closed():
            return
        stop = self._stop
        if self._serve is not None and not self.ended.is_set():
            if self.ready.done() and stop is not None:
                self.loop.call_soon_threadsafe(stop.set)
            else:  # still starting: cancel the start (the SDK stops the process, shielded)
                self._serve.cancel()
            self.ended.wait(STOP_TIMEOUT_S)
        if self.stderr is not None:
            self.stderr.close_writer()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(STOP_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()

    def _start_error(self, exc: BaseException) -> Exception:
        cfg, leaf = self.config, _leaf(exc)
        if isinstance(leaf, NetworkBlockedError):
            return leaf
        if cfg.url:
            return McpServerError(
                f"The MCP server {cfg.name} at {safe_url(cfg.url)} could not be reached: {describe_failure(leaf)}.",
                "Check its address, and that it is running.", server=cfg.name)
        if isinstance(leaf, FileNotFoundError):
            return McpServerError(
                f"The MCP server {cfg.name} could not start: the command {cfg.command!r} was not found.",
                "Install it, or give its full path as \"command\" in mcp.json.", server=cfg.name)
        if isinstance(leaf, OSError):
            return McpServerError(
                f"The MCP server {cfg.name} could not start the command {cfg.command!r}: {leaf.strerror or leaf}.",
                "Check the command in mcp.json.", server=cfg.name)
        stderr = self.stderr_text(wait=1.0)
        said = f" Its last words:\n{stderr}" if stderr else " It wrote nothing on its stderr."
        return McpServerError(f"The MCP server {cfg.name} ({cfg.describe()}) ended while starting.{said}",
                              "Check the command and its arguments in mcp.json.", server=cfg.name, stderr=stderr)


def _refuse_offline(config: ServerConfig) -> None:
    if not guard.is_offline():
        return
    parts = urlsplit(config.url)
    host = parts.hostname or ""
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    safe_record(NetworkEntry(time.time(), host, port, f"MCP server: {config.name}", outcome=BLOCKED))
    raise guard.blocked_error(host)


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside exception groups (anyio's task groups wrap them)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc

