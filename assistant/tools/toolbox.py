"""One chat's tools, as the tool loop (tools/loop.py) takes them: the MCP servers' tools
the chat has switched on (registry.EnabledTools) and the app's own tools (builtin.py),
and the approval of each call through the policy (approval.py) and the asker the window,
the CLI or `--yes` gives.

The app's own tools read only what is on this computer and run without asking; every MCP
call asks unless its tool is always allowed.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from assistant.core.types import ToolCall
from assistant.errors import ToolError
from assistant.tools.approval import ApprovalPolicy, ApprovalRequest, Approver, Decision
from assistant.tools.builtin import DocumentsTool
from assistant.tools.loop import Approve
from assistant.tools.manager import McpTools
from assistant.tools.registry import EnabledTools, ToolInfo


class ChatTools:
    def __init__(self, mcp: McpTools | None, enabled: EnabledTools | None = None,
                 builtins: list[DocumentsTool] | None = None) -> None:
        self.mcp = mcp
        self.enabled = enabled or EnabledTools()
        self.builtins = {b.name: b for b in builtins or []}
        self.problems: dict[str, str] = {}  # servers that failed to start when the tools were listed

    def servers(self) -> list[str]:
        """The MCP servers this chat uses a tool of (a server switched on, or one of its tools)."""
        names = set(self.enabled.servers) | {s for s, _ in self.enabled.tools}
        return sorted(n for n in names if self.mcp is not None and n in self.mcp.servers)

    def ensure_listed(self) -> dict[str, str]:
        """Start and list the servers this chat uses whose tools are not known yet (on the
        thread that answers: it may take seconds). Returns a problem per server that failed."""
        if self.mcp is None:
            return {}
        known = {t.server for t in self.mcp.listed()}
        missing = [n for n in self.servers() if n not in known]
        return self.mcp.refresh(missing) if missing else {}

    def specs(self) -> list[dict[str, Any]]:
        self.problems = self.ensure_listed()
        mcp = self.mcp.openai_tools(self.enabled) if self.mcp is not None else []
        return mcp + [b.spec() for b in self.builtins.values()]

    def info(self, name: str) -> ToolInfo | None:
        """The MCP tool a call names, if it is one the chat has switched on."""
        tool = self.mcp.tool(name) if self.mcp is not None else None
        return tool if tool is not None and self.enabled.is_on(tool) else None

    def server_of(self, name: str) -> str:
        tool = self.info(name)
        return tool.server if tool is not None else ""

    def call(self, name: str, arguments: dict[str, Any], cancel: threading.Event) -> str:
        if name in self.builtins:
            return self.builtins[name].call(arguments, cancel)
        tool = self.info(name)
        if tool is None or self.mcp is None:
            raise ToolError(f"There is no tool named {name!r}.", "Call one of the tools listed, by its exact name.")
        result = self.mcp.servers[tool.server].call_tool(tool.name, arguments, self.mcp.settings.call_timeout_s, cancel)
        if result.is_error:
            raise ToolError(result.text or f"{tool.name} failed.", "")
        return result.text

    def approval(self, policy: ApprovalPolicy, approver: Approver) -> Approve:
        """The loop's yes/no for a call: the app's own tools run; an MCP tool asks (or is always allowed)."""

        def approve(call: ToolCall, server: str) -> bool:
            tool = self.info(call.name)
            if tool is None:
                return call.name in self.builtins
            try:
                arguments = json.loads(call.arguments or "{}")
            except ValueError:
                arguments = {}
            request = ApprovalRequest(tool.server, tool.name, arguments if isinstance(arguments, dict) else {},
                                      tool.description)
            return policy.decide(request, approver) is not Decision.DENY

        return approve
