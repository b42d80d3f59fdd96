"""The tools a model may call: each server's tools under a name unique across servers,
the set a chat has switched on, and the OpenAI tool shape the engines take.

A tool's qualified name is `SERVER__TOOL`, in the characters OpenAI allows in a
function name (letters, digits, `_` and `-`, at most 64); two servers whose names
clean up the same, or a name too long, get a short hash of the real names, so a
qualified name always leads back to one tool.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.core.types import ToolCall
from assistant.errors import ToolError

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ToolInfo:
    """One tool of one server, as the server lists it."""

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}}, hash=False)

    @property
    def key(self) -> tuple[str, str]:
        """(server, tool): what "always allow" remembers."""
        return self.server, self.name


def qualified_name(server: str, tool: str) -> str:
    """`server__tool` in the characters a function name may hold (at most 64)."""
    base = f"{_clean(server)}__{_clean(tool)}"
    exact = base == f"{server}__{tool}"
    if exact and len(base) <= MAX_NAME:
        return base
    digest = hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:8]
    return f"{base[:MAX_NAME - 9]}_{digest}"


def _clean(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "x"


def to_openai(tool: ToolInfo) -> dict[str, Any]:
    """{"type": "function", "function": {name, description, parameters}}."""
    schema = dict(tool.input_schema) if isinstance(tool.input_schema, dict) else {}
    schema.setdefault("type", "object")
    if schema.get("type") == "object":
        schema.setdefault("properties", {})
    description = tool.description.strip() or tool.name
    return {"type": "function", "function": {
        "name": qualified_name(tool.server, tool.name),
        "description": f"{description} (from the MCP server {tool.server})",
        "parameters": schema,
    }}


class ToolRegistry:
    """Every known tool by qualified name; the servers' lists replace their own entries."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolInfo] = {}

    def set_server_tools(self, server: str, tools: Iterable[ToolInfo]) -> None:
        self.remove_server(server)
        for tool in tools:
            self._tools[qualified_name(tool.server, tool.name)] = tool

    def remove_server(self, server: str) -> None:
        self._tools = {q: t for q, t in self._tools.items() if t.server != server}

    def tools(self) -> list[ToolInfo]:
        return sorted(self._tools.values(), key=lambda t: (t.server.lower(), t.name.lower()))

    def names(self) -> list[str]:
        return sorted(self._tools)

    def get(self, name: str) -> ToolInfo | None:
        return self._tools.get(name)

    def openai_tools(self, enabled: EnabledTools) -> list[dict[str, Any]]:
        """The chat's switched-on tools in the shape GenParams.tools takes."""
        return [to_openai(t) for _, t in sorted(self._tools.items()) if enabled.is_on(t)]

    def resolve(self, call: ToolCall) -> tuple[ToolInfo, dict[str, Any]]:
        """The tool a model's call names and its arguments as a dict. ToolError when the
        name is unknown or the arguments are not a JSON object (the model is told so)."""
        tool = self._tools.get(call.name)
        if tool is None:
            raise ToolError(f"There is no tool named {call.name!r}.",
                            "Call one of the tools listed, by its exact name.")
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ToolError(f"The arguments of {call.name} are not valid JSON ({exc.msg} at column {exc.colno}).",
                            "Send the arguments as one JSON object.") from None
        if not isinstance(arguments, dict):
            raise ToolError(f"The arguments of {call.name} should be a JSON object.",
                            "Send the arguments as one JSON object.")
        return tool, arguments


@dataclass
class EnabledTools:
    """The tools one chat has switched on, by (server, tool), stored with the chat as
    `to_json()`. A server switched on as a whole covers the tools it lists later too,
    less those switched off one by one."""

    tools: set[tuple[str, str]] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)
    off: set[tuple[str, str]] = field(default_factory=set)

    def is_on(self, tool: ToolInfo) -> bool:
        return tool.key in self.tools or (tool.server in self.servers and tool.key not in self.off)

    def switch(self, tool: ToolInfo, on: bool) -> None:
        if on:
            self.tools.add(tool.key)
            self.off.discard(tool.key)
        else:
            self.tools.discard(tool.key)
            self.off.add(tool.key)

    def switch_server(self, server: str, on: bool) -> None:
        self.tools = {k for k in self.tools if k[0] != server}
        self.off = {k for k in self.off if k[0] != server}
        if on:
            self.servers.add(server)
        else:
            self.servers.discard(server)

    def to_json(self) -> dict[str, list[Any]]:
        return {"servers": sorted(self.servers), "tools": sorted(map(list, self.tools)),
                "off": sorted(map(list, self.off))}

    @classmethod
    def from_json(cls, data: Any) -> EnabledTools:
        """From `to_json()`'s dict; anything malformed in it is left out."""
        out = cls()
        if not isinstance(data, dict):
            return out
        out.servers = {s for s in data.get("servers", []) if isinstance(s, str)}
        out.tools = _pairs(data.get("tools", []))
        out.off = _pairs(data.get("off", []))
        return out


def _pairs(items: Any) -> set[tuple[str, str]]:
    if not isinstance(items, list):
        return set()
    return {(p[0], p[1]) for p in items
            if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)}
