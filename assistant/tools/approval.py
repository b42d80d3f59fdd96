"""The approval policy: every tool call asks first, unless the user chose "always allow"
for that tool (its server and its name, remembered in settings.tools.always_allowed and
revocable). The asking itself is an `Approver`, a callback: the window shows a dialog,
the CLI asks in the terminal (`terminal_approver`), and `--yes` is `approve_all`.

A declined call still answers the model: `declined_text` is the tool result it reads.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from assistant.settings import AllowedTool, Settings


class Decision(enum.Enum):
    ALLOW_ONCE = enum.auto()
    ALWAYS = enum.auto()  # allow, and never ask again for this tool
    DENY = enum.auto()


@dataclass(frozen=True)
class ApprovalRequest:
    """What the user is asked about: the tool, its server and the exact arguments."""

    server: str
    tool: str
    arguments: dict[str, Any]
    description: str = ""

    @property
    def arguments_text(self) -> str:
        """The arguments exactly, as indented JSON."""
        return json.dumps(self.arguments, indent=2, ensure_ascii=False, sort_keys=True)


class Approver(Protocol):
    def __call__(self, request: ApprovalRequest) -> Decision: ...


def approve_all(request: ApprovalRequest) -> Decision:
    """`--yes`: every call runs, nothing is remembered."""
    return Decision.ALLOW_ONCE


def declined_text(request: ApprovalRequest) -> str:
    """The tool result the model reads when the user said no."""
    return (f"The user declined this call of {request.tool} (MCP server {request.server}); it was not run. "
            "Do not call it again with the same arguments unless the user asks.")


class ApprovalPolicy:
    """Asks the approver unless the tool is always allowed; remembers "always".

    `save` is called after each change of the settings (the window and the CLI save
    settings.json there)."""

    def __init__(self, settings: Settings, save: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._save = save

    def decide(self, request: ApprovalRequest, approver: Approver) -> Decision:
        """ALLOW_ONCE or ALWAYS: run the call; DENY: answer with `declined_text`."""
        if self.is_always_allowed(request.server, request.tool):
            return Decision.ALWAYS
        decision = approver(request)
        if decision is Decision.ALWAYS:
            self.allow_always(request.server, request.tool)
        return decision

    def is_always_allowed(self, server: str, tool: str) -> bool:
        return (server, tool) in self.always_allowed()

    def always_allowed(self) -> list[tuple[str, str]]:
        """The always-allowed tools as (server, tool), for Settings → Tools."""
        pairs = [(e.get("server", ""), e.get("tool", "")) for e in self._settings.tools.always_allowed]
        return [p for p in pairs if p[0] and p[1]]  # an entry a hand edit broke counts for nothing

    def allow_always(self, server: str, tool: str) -> None:
        if not self.is_always_allowed(server, tool):
            self._settings.tools.always_allowed.append(AllowedTool(server=server, tool=tool))
            self._saved()

    def revoke(self, server: str, tool: str) -> bool:
        """Ask again for this tool from now on. False if it was not always allowed."""
        entries = self._settings.tools.always_allowed
        kept = [e for e in entries if (e.get("server", ""), e.get("tool", "")) != (server, tool)]
        if len(kept) == len(entries):
            return False
        self._settings.tools.always_allowed = kept
        self._saved()
        return True

    def _saved(self) -> None:
        if self._save is not None:
            self._save()


def terminal_approver(stdin: TextIO, stdout: TextIO) -> Approver:
    """Asks in a terminal: the tool, its server and the arguments, then
    [o]nce / [a]lways / [d]eny. End of input, or anything else, is deny."""

    def ask(request: ApprovalRequest) -> Decision:
        stdout.write(f"\nThe model wants to call {request.tool} (MCP server {request.server}) with:\n")
        stdout.write(request.arguments_text + "\n")
        stdout.write("Allow? [o]nce, [a]lways for this tool, [d]eny: ")
        stdout.flush()
        answer = stdin.readline().strip().lower()
        if answer in ("o", "once", "y", "yes"):
            return Decision.ALLOW_ONCE
        if answer in ("a", "always"):
            return Decision.ALWAYS
        return Decision.DENY

    return ask
