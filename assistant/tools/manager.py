"""The app's MCP servers together: one McpServer per entry of mcp.json, their tools in one
registry, and one model's call run end to end (resolved, approved or not, run with its
limits) into the text of the tool message the model reads next.

The window, the CLI and the API server's tool loop hold one `McpTools`; Stop is the
`cancel` event, which ends a running call at once (ToolCancelledError: the loop stops).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from assistant.core.types import ToolCall
from assistant.errors import McpServerError, NetworkBlockedError, ToolError, ToolTimeoutError
from assistant.settings import ToolSettings
from assistant.tools.approval import ApprovalPolicy, ApprovalRequest, Approver, Decision, declined_text
from assistant.tools.mcp_client import McpServer
from assistant.tools.mcp_config import McpConfig
from assistant.tools.mcp_results import ToolResult
from assistant.tools.registry import EnabledTools, ToolInfo, ToolRegistry

OK, ERROR, DECLINED, TIMEOUT = "ok", "error", "declined", "timeout"


@dataclass(frozen=True)
class CallOutcome:
    """One call's end: `text` is the tool message's content; `status` ok / error /
    declined / timeout; `result` the tool's own result when it ran."""

    call: ToolCall
    text: str
    status: str
    tool: ToolInfo | None = None
    result: ToolResult | None = None


class McpTools:
    def __init__(self, config: McpConfig, policy: ApprovalPolicy, settings: ToolSettings | None = None) -> None:
        self.settings = settings or ToolSettings()
        self.policy = policy
        self.registry = ToolRegistry()
        self.servers = {name: McpServer(c, max_result_bytes=self.settings.max_result_kb * 1024)
                        for name, c in config.servers.items()}
        self._lock = threading.Lock()

    def refresh(self, names: list[str] | None = None) -> dict[str, str]:
        """List the tools of these servers (all by default), starting them as needed.
        Returns a problem in words for each server that failed; its tools are dropped."""
        problems: dict[str, str] = {}
        for name in names if names is not None else list(self.servers):
            server = self.servers[name]
            try:
                tools = server.list_tools()
            except (ToolError, NetworkBlockedError) as exc:
                problems[name] = exc.message
                tools = []
            with self._lock:
                self.registry.set_server_tools(name, tools)
        return problems

    def run(self, call: ToolCall, approver: Approver, cancel: threading.Event | None = None,
            timeout_s: float | None = None) -> CallOutcome:
        """Resolve, ask, run. Every failure of the call becomes text the model reads,
        except Stop: ToolCancelledError propagates (the loop ends)."""
        try:
            tool, arguments = self.registry.resolve(call)
        except ToolError as exc:
            return CallOutcome(call, f"Error: {exc}", ERROR)
        request = ApprovalRequest(tool.server, tool.name, arguments, tool.description)
        if self.policy.decide(request, approver) is Decision.DENY:
            return CallOutcome(call, declined_text(request), DECLINED, tool)
        limit = timeout_s if timeout_s is not None else self.settings.call_timeout_s
        try:
            result = self.servers[tool.server].call_tool(tool.name, arguments, limit, cancel)
        except ToolTimeoutError as exc:
            return CallOutcome(call, f"Error: {exc.message}", TIMEOUT, tool)
        except (McpServerError, NetworkBlockedError) as exc:
            return CallOutcome(call, f"Error: {exc.message}", ERROR, tool)
        return CallOutcome(call, result.text, ERROR if result.is_error else OK, tool, result)

    # the registry as the chat's thread reads it while a refresh may run on another
    def listed(self) -> list[ToolInfo]:
        with self._lock:
            return self.registry.tools()

    def tool(self, name: str) -> ToolInfo | None:
        with self._lock:
            return self.registry.get(name)

    def openai_tools(self, enabled: EnabledTools) -> list[dict[str, Any]]:
        with self._lock:
            return self.registry.openai_tools(enabled)

    def close(self) -> None:
        for server in self.servers.values():
            server.stop()
