"""Item models of Settings → Tools: the servers of mcp.json (what each runs, its secrets
masked), the always-allowed tools, and the servers another app's file offers to import."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from assistant.tools.mcp_config import ImportSource, McpConfig, ServerConfig, safe_url

Index = QModelIndex | QPersistentModelIndex
HIDDEN = "••••"
_SECRET_FLAG = re.compile(r"(?i)key|token|secret|passw|auth|cred|session|cookie|bearer")


def mask(value: str) -> str:
    """A secret's first characters only, so the user can tell two apart: `ghp_••••`."""
    return value[:4] + HIDDEN if len(value) >= 12 else HIDDEN


def _token_like(value: str) -> bool:
    return (len(value) >= 20 and not any(c in value for c in " /\\:.")
            and any(c.isdigit() for c in value) and any(c.isalpha() for c in value))


def masked_args(config: ServerConfig) -> list[str]:
    """The command line with every value that may be a token masked: a value after a flag
    named like a secret (--api-key X, --token=X), anything that looks like a key, and any
    value of the entry's env or headers that appears in it."""
    secrets = config.secrets()

    def secret(value: str) -> bool:
        return _token_like(value) or any(s in value for s in secrets)

    out: list[str] = []
    after_flag = False
    for arg in [config.command, *config.args]:
        if arg.startswith("-") and "=" in arg:
            flag, value = arg.split("=", 1)
            out.append(f"{flag}={mask(value)}" if _SECRET_FLAG.search(flag) or secret(value) else arg)
        elif (after_flag and not arg.startswith("-")) or secret(arg):
            out.append(mask(arg))
        else:
            out.append(arg)
        after_flag = arg.startswith("-") and "=" not in arg and bool(_SECRET_FLAG.search(arg))
    return out


def target(config: ServerConfig) -> str:
    """What the server runs or where it is, never a token in full: the URL without its
    query or user info, header and env names without their values."""
    if config.url:
        text = safe_url(config.url)
        if config.headers:
            text += "  (headers: " + ", ".join(f"{k}: {HIDDEN}" for k in config.headers) + ")"
        return text
    text = " ".join(masked_args(config))
    if config.env:
        text += "  (env: " + ", ".join(f"{k}={HIDDEN}" for k in config.env) + ")"
    return text


class McpServersModel(QAbstractListModel):
    """The servers of mcp.json, in the file's order."""

    NameRole = Qt.ItemDataRole.UserRole + 1
    TransportRole = Qt.ItemDataRole.UserRole + 2  # "stdio" / "http"
    TargetRole = Qt.ItemDataRole.UserRole + 3  # the command line or address, secrets masked
    NoNetworkRole = Qt.ItemDataRole.UserRole + 4

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ServerConfig] = []

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802 (Qt override)
        return {self.NameRole: b"name", self.TransportRole: b"transport", self.TargetRole: b"target",
                self.NoNetworkRole: b"noNetwork"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        s = self._rows[index.row()]
        kind = "command" if s.transport == "stdio" else "Streamable HTTP"
        if role == Qt.ItemDataRole.DisplayRole:
            how = "command" + (", no network" if s.no_network else "") if s.transport == "stdio" else "Streamable HTTP"
            return f"{s.name}  ({how})\n    {target(s)}"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{s.name}, {kind}: {target(s)}" + (", runs without network access" if s.no_network else "")
        return {self.NameRole: s.name, self.TransportRole: s.transport, self.TargetRole: target(s),
                self.NoNetworkRole: s.no_network}.get(role)

    def set_servers(self, servers: list[ServerConfig]) -> None:
        self.beginResetModel()
        self._rows = list(servers)
        self.endResetModel()

    def server_at(self, row: int) -> ServerConfig | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, name: str) -> int:
        return next((i for i, s in enumerate(self._rows) if s.name == name), -1)


class AllowedToolsModel(QAbstractListModel):
    """The tools whose calls run without asking, as (server, tool)."""

    ServerRole = Qt.ItemDataRole.UserRole + 1
    ToolRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802 (Qt override)
        return {self.ServerRole: b"server", self.ToolRole: b"tool"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802 (Qt override)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        server, tool = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            return f"{tool} (MCP server {server})"
        return {self.ServerRole: server, self.ToolRole: tool}.get(role)

    def set_tools(self, pairs: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._rows = list(pairs)
        self.endResetModel()


class ImportModel(QStandardItemModel):
    """Another app's files with their servers under them, each server a checkbox (on,
    unless the same server is here already)."""

    ServerRole = Qt.ItemDataRole.UserRole + 1
    SourceRole = Qt.ItemDataRole.UserRole + 2  # the row of its file
    PresentRole = Qt.ItemDataRole.UserRole + 3  # the same entry is in mcp.json already

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.sources: list[tuple[ImportSource, McpConfig]] = []

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802 (Qt override)
        names = dict(super().roleNames())
        names.update({self.ServerRole: b"server", self.SourceRole: b"source", self.PresentRole: b"present"})
        return names

    def set_sources(self, sources: list[tuple[ImportSource, McpConfig]], existing: McpConfig) -> None:
        self.clear()
        self.sources = list(sources)
        for i, (source, config) in enumerate(sources):
            top = QStandardItem(f"{source.app} — {source.path}")
            top.setEditable(False)
            top.setData(i, self.SourceRole)
            for name, server in config.servers.items():
                present = any(s.same_as(server) for s in existing.servers.values())
                item = QStandardItem(f"{name} — {target(server)}" + ("  (already here)" if present else ""))
                item.setEditable(False)
                item.setCheckable(True)
                item.setCheckState(Qt.CheckState.Unchecked if present else Qt.CheckState.Checked)
                item.setData(name, self.ServerRole)
                item.setData(i, self.SourceRole)
                item.setData(present, self.PresentRole)
                top.appendRow(item)
            for problem in config.problems:
                note = QStandardItem(f"Left out: {problem}")
                note.setEditable(False)
                note.setEnabled(False)
                top.appendRow(note)
            self.appendRow(top)

    def chosen(self) -> list[tuple[ImportSource, McpConfig, list[str]]]:
        out = []
        for i, (source, config) in enumerate(self.sources):
            top = self.item(i)
            names = [top.child(r).data(self.ServerRole) for r in range(top.rowCount())
                     if top.child(r).isCheckable() and top.child(r).checkState() == Qt.CheckState.Checked]
            if names:
                out.append((source, config, names))
        return out
