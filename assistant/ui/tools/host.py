"""The window's one `McpTools`: the MCP servers of mcp.json, their tools listed off the
GUI thread, each server's state in words, mcp.json read again after a change, and the
servers stopped at quit.

Starting a server and listing its tools can take seconds (a stdio server is a process of
its own; an HTTP one is a connection), so `refresh` runs on the thread pool and answers
with `tools_refreshed(problems)`. The chat's worker reads `host.mcp` when an answer
starts (`ChatTools(host.mcp, enabled)`): after `reload_config` it is a new object, and
servers whose entry did not change are carried over running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from assistant import network
from assistant.errors import McpConfigError
from assistant.settings import Settings, ToolSettings
from assistant.tools.approval import ApprovalPolicy
from assistant.tools.manager import McpTools
from assistant.tools.mcp_client import McpServer
from assistant.tools.mcp_config import McpConfig, config_path, load_config
from assistant.tools.registry import ToolInfo
from assistant.ui.common.jobs import Job, run_job

log = logging.getLogger(__name__)

NOT_STARTED, STARTING, READY, FAILED, OFFLINE = "not started", "starting", "ready", "failed", "offline"
CLOSE_WAIT_S = 10.0


@dataclass(frozen=True)
class ServerState:
    """One server's state for the picker: not started / starting / ready / failed /
    offline (an HTTP server while Offline mode is on), and the problem in words."""

    state: str = NOT_STARTED
    problem: str = ""
    tools: int = 0

    @property
    def text(self) -> str:
        if self.state == READY:
            return f"ready, {self.tools} tool{'s' if self.tools != 1 else ''}"
        if self.state == STARTING:
            return "starting…"
        if self.state == OFFLINE:
            return "blocked: Offline mode is on (an HTTP server needs the network)"
        if self.state == FAILED:
            return f"failed: {self.problem}"
        return "not started yet"


class ToolsHost(QObject):
    tools_refreshed = Signal(object)  # {server: problem in words} of the refresh that ended
    config_changed = Signal()  # mcp.json was read again: other servers, a new `mcp`
    states_changed = Signal()  # a server began starting (the picker shows "starting…")

    def __init__(self, settings: Settings, save_settings: Callable[[], None] | None = None,
                 path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._save_settings = save_settings
        self.config_path = path or config_path()
        self.policy = ApprovalPolicy(settings, save_settings)
        self.config_problem = ""  # mcp.json could not be read at all
        self.config = self._load()
        self.mcp = McpTools(self.config, self.policy, settings.tools)
        self._states: dict[str, ServerState] = {}
        self._listed: list[ToolInfo] = []  # the registry as last read under its lock (GUI thread only)
        self._jobs: list[Job] = []

    # -- config ------------------------------------------------------------------------
    def _load(self) -> McpConfig:
        try:
            config = load_config(self.config_path)
        except McpConfigError as exc:
            self.config_problem = f"{exc.message} {exc.hint}".strip()
            return McpConfig()
        self.config_problem = ""
        return config

    def problems(self) -> list[str]:
        """What is wrong with mcp.json: the file as a whole, or servers it left out."""
        return ([self.config_problem] if self.config_problem else []) + list(self.config.problems)

    def reload_config(self) -> None:
        """Read mcp.json again. Servers whose entry is unchanged keep running with their
        tools; the others are stopped on the thread pool."""
        old = self.mcp
        before = (self.config, self.config_problem)
        self.config = self._load()
        if _same(before[0], self.config) and before[1] == self.config_problem:
            return
        new = McpTools(self.config, self.policy, self.settings.tools)
        listed = self._listed
        stale: list[McpServer] = []
        for name, server in old.servers.items():
            if name in new.servers and new.servers[name].config.same_as(server.config):
                new.servers[name] = server
                new.registry.set_server_tools(name, [t for t in listed if t.server == name])
            else:
                stale.append(server)
                self._states.pop(name, None)
        self.mcp = new
        self._listed = [t for t in listed if t.server in new.servers and new.servers[t.server] is old.servers.get(t.server)]
        if stale:
            self._jobs.append(run_job(lambda: _stop_all(stale), lambda _r: None, _log_failure,
                                      on_end=self._jobs.remove))
        self.config_changed.emit()

    def apply_settings(self, tools: ToolSettings) -> None:
        """Settings → Tools changed the limits: into the live settings (the McpTools reads them)."""
        live = self.settings.tools
        live.max_rounds, live.call_timeout_s, live.max_result_kb = tools.max_rounds, tools.call_timeout_s, tools.max_result_kb
        for server in self.mcp.servers.values():
            server.max_result_bytes = live.max_result_kb * 1024

    def save_settings(self) -> None:
        if self._save_settings is not None:
            self._save_settings()

    # -- states ------------------------------------------------------------------------
    def state(self, name: str) -> ServerState:
        if name in self.config.servers and self.config.servers[name].transport == "http" and network.is_offline():
            return ServerState(OFFLINE)
        return self._states.get(name, ServerState())

    def refresh_all(self) -> None:
        self.refresh(list(self.mcp.servers))

    def refresh_unlisted(self) -> None:
        """Start and list the servers never listed yet (the picker opening needs them)."""
        self.refresh([n for n in self.mcp.servers if n not in self._states])

    def refresh(self, names: list[str]) -> None:
        """Start these servers as needed and list their tools, on the thread pool."""
        mcp = self.mcp
        names = [n for n in names if n in mcp.servers and self._states.get(n, ServerState()).state != STARTING]
        if not names:
            return
        for n in names:
            self._states[n] = ServerState(STARTING)
        self.states_changed.emit()

        def work() -> tuple[dict[str, str], list[ToolInfo]]:
            problems = mcp.refresh(names)
            with mcp._lock:  # manager.refresh writes the registry under this lock; another refresh may run
                return problems, mcp.registry.tools()

        def done(result: tuple[dict[str, str], list[ToolInfo]]) -> None:
            problems, listed = result
            if mcp is not self.mcp:  # mcp.json changed meanwhile: those states are gone
                return
            self._listed = listed
            counts: dict[str, int] = {}
            for t in listed:
                counts[t.server] = counts.get(t.server, 0) + 1
            for n in names:
                self._states[n] = (ServerState(FAILED, problems[n]) if n in problems
                                   else ServerState(READY, tools=counts.get(n, 0)))
            self.tools_refreshed.emit(problems)

        def failed(error: Exception) -> None:  # a bug: every server of this refresh failed
            done(({n: str(getattr(error, "message", error)) for n in names}, self._listed))

        self._jobs.append(run_job(work, done, failed, on_end=self._jobs.remove))

    def tools(self) -> list[ToolInfo]:
        """Every listed tool, sorted by server and name, as the last refresh left them. Read
        this, not `mcp.registry`, on the GUI thread: a refresh may be writing the registry."""
        return list(self._listed)

    def busy(self) -> bool:
        return any(s.state == STARTING for s in self._states.values())

    # -- quit --------------------------------------------------------------------------
    def close(self) -> None:
        """At quit: stop every server (processes end), together, waiting at most ~10 s."""
        _stop_all(list(self.mcp.servers.values()))


def _same(a: McpConfig, b: McpConfig) -> bool:
    return (list(a.servers) == list(b.servers) and a.problems == b.problems
            and all(a.servers[n].same_as(b.servers[n]) for n in a.servers))


def _stop_all(servers: list[McpServer]) -> None:
    threads = [threading.Thread(target=s.stop, name=f"mcp-stop-{s.name}", daemon=True) for s in servers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + CLOSE_WAIT_S
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))


def _log_failure(error: Exception) -> None:
    log.warning("stopping MCP servers failed: %s", error)
