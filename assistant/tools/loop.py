"""The tool loop of a chat turn, shared by the window and the command line: the model
answers; when the answer ends in calls, each call is approved (or denied), run, and its
result stored with the answer; the model then answers again with the results, until it
answers without calls, the round limit is reached, or Stop.

What a call returned goes back to the model as a tool message, and is stored with the
answer that made it (chat history's message_tools) so the window shows it as a collapsed
block and the next turn's context carries it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from assistant.core.types import GenParams, ToolCall
from assistant.errors import AssistantError

# What a call's status means, in the words the window and the terminal show.
DONE, DENIED, FAILED, STOPPED, SKIPPED = "done", "denied", "failed", "stopped", "skipped"
DENIED_RESULT = "The user declined to run this tool."
SKIPPED_RESULT = "Not run: the limit of tool rounds for one answer was reached."
STOPPED_RESULT = "Not run: the user stopped the answer."
DEFAULT_MAX_ROUNDS = 8


@dataclass
class ToolRecord:
    """One call of one answer, and what came of it."""

    call: ToolCall
    server: str  # the MCP server's name; "" for a tool built into the app
    status: str  # done / denied / failed / stopped / skipped
    result: str  # what went back to the model
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.call.id, "name": self.call.name, "arguments": self.call.arguments, "server": self.server,
                "status": self.status, "result": self.result, "seconds": round(self.seconds, 3)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ToolRecord":
        return cls(ToolCall(str(d.get("name", "")), str(d.get("arguments", "{}")), str(d.get("id", ""))),
                   str(d.get("server", "")), str(d.get("status", DONE)), str(d.get("result", "")),
                   float(d.get("seconds", 0.0)))


class ToolBox(Protocol):
    """The tools a chat may use (MCP servers' tools and the app's own), by name."""

    def specs(self) -> list[dict[str, Any]]:
        """The tools in OpenAI's shape, for the engine."""
        ...

    def server_of(self, name: str) -> str:
        """The server that offers a tool ("" for one built into the app)."""
        ...

    def call(self, name: str, arguments: dict[str, Any], cancel: threading.Event) -> str:
        """Runs one tool; its result as text. AssistantError when it fails."""
        ...


# Asks the user (a dialog, a terminal prompt, --yes); True runs the call.
Approve = Callable[[ToolCall, str], bool]


@dataclass
class ToolSession:
    """The tools of one turn and how calls are approved."""

    box: ToolBox
    approve: Approve
    max_rounds: int = DEFAULT_MAX_ROUNDS
    tool_choice: str = "auto"
    # told of each call as it starts (record None) and ends: the window's block, the terminal's line
    on_call: Callable[[ToolCall, ToolRecord | None], None] | None = None

    def params(self, params: GenParams) -> GenParams:
        specs = self.box.specs()
        return replace(params, tools=specs, tool_choice=self.tool_choice if specs else "auto")

    def execute(self, calls: list[ToolCall], cancel: threading.Event) -> list[ToolRecord]:
        """Each call approved then run, in order; a denied or failed call's result says so."""
        out: list[ToolRecord] = []
        for call in calls:
            server = self.box.server_of(call.name)
            if cancel.is_set():
                out.append(ToolRecord(call, server, STOPPED, STOPPED_RESULT))
                continue
            if self.on_call is not None:
                self.on_call(call, None)
            record = self._run_one(call, server, cancel)
            out.append(record)
            if self.on_call is not None:
                self.on_call(call, record)
        return out

    def _run_one(self, call: ToolCall, server: str, cancel: threading.Event) -> ToolRecord:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError:
            return ToolRecord(call, server, FAILED, "The call's arguments are not valid JSON.")
        if not isinstance(arguments, dict):
            return ToolRecord(call, server, FAILED, "The call's arguments are not a JSON object.")
        if not self.approve(call, server):
            return ToolRecord(call, server, DENIED, DENIED_RESULT)
        if cancel.is_set():
            return ToolRecord(call, server, STOPPED, STOPPED_RESULT)
        t0 = time.perf_counter()
        try:
            result = self.box.call(call.name, arguments, cancel)
        except AssistantError as exc:
            status = STOPPED if cancel.is_set() else FAILED
            return ToolRecord(call, server, status, f"Error: {exc.message}", time.perf_counter() - t0)
        return ToolRecord(call, server, DONE, result, time.perf_counter() - t0)


def skipped(calls: list[ToolCall], box: ToolBox) -> list[ToolRecord]:
    """Calls made after the last allowed round: stored, not run."""
    return [ToolRecord(c, box.server_of(c.name), SKIPPED, SKIPPED_RESULT) for c in calls]
