"""The tool calls an answer made, under it in the chat: collapsed to one line ("Used 2
tools: add, get_current_time"), opened with its arrow to show each call's tool, server,
status, exact arguments and what it returned (long results shortened; the whole is
copied with the block's text)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QWidget

from assistant.tools.loop import DENIED, DONE, FAILED, SKIPPED, STOPPED, ToolRecord
from assistant.ui.common.collapsed import CollapsedBlock

RESULT_CHARS = 1200  # shown per result; a longer one ends with how much was left out
_STATUS = {DONE: "", DENIED: "declined", FAILED: "failed", STOPPED: "stopped", SKIPPED: "not run (round limit)"}


def tool_label(r: ToolRecord) -> str:
    """The tool's own name: an MCP tool's call names it `server__tool` (registry.qualified_name)."""
    prefix = f"{r.server}__"
    return r.call.name[len(prefix):] if r.server and r.call.name.startswith(prefix) else r.call.name


def summary(records: list[ToolRecord], *, running: bool = False) -> str:
    if running:
        return f"Using {tool_label(records[-1])}…" if records else "Using a tool…"
    names = list(dict.fromkeys(tool_label(r) for r in records))
    noun = "tool" if len(records) == 1 else "tools"
    bad = sum(1 for r in records if r.status != DONE)
    tail = f" ({bad} not run or failed)" if bad else ""
    return f"Used {len(records)} {noun}: {', '.join(names)}{tail}"


def _arguments(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def details(records: list[ToolRecord]) -> str:
    parts = []
    for r in records:
        where = f" (MCP server {r.server})" if r.server else " (built into the app)"
        status = _STATUS.get(r.status, r.status)
        head = f"{tool_label(r)}{where}" + (f" — {status}" if status else f" — {r.seconds:.1f} s")
        result = r.result if len(r.result) <= RESULT_CHARS else \
            r.result[:RESULT_CHARS] + f"… ({len(r.result) - RESULT_CHARS:,} more characters)"
        parts.append(f"{head}\nArguments:\n{_arguments(r.call.arguments)}\nResult:\n{result}")
    return "\n\n".join(parts)


class ToolCallsBlock(CollapsedBlock):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("toolCalls", "the tool calls", parent)
        self.body.setAccessibleName("The tool calls and their results")
        self.records: list[ToolRecord] = []
        self._on_toggled(False)
        self.hide()

    def set_records(self, data: list[dict[str, Any]]) -> None:
        self.records = [ToolRecord.from_dict(d) for d in data]
        self.setVisible(bool(self.records))
        self.toggle.setText(summary(self.records))
        self.body.setText(details(self.records))
