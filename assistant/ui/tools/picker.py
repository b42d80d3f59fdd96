"""A chat's tools: the MCP servers and their tools as a tree, a checkbox to switch a
whole server or single tools on or off for this chat (registry.EnabledTools), each
server's state in words, and the app's own "Search my documents".

OK hands the choice to `on_save(EnabledTools)` (the window stores it with the chat:
`store.set_enabled_tools(conv_id, enabled.to_json())`). "Settings…" saves the choice
too, then asks for Settings → Tools (`settings_requested`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from assistant.tools.registry import EnabledTools, ToolInfo
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.window_size import fit_to_screen
from assistant.ui.tools.host import FAILED, OFFLINE, ToolsHost

Index = QModelIndex | QPersistentModelIndex
SERVER, TOOL, BUILTIN = "server", "tool", "builtin"
DOCUMENTS_TOOL = "Search my documents"
INTRO = ("The tools this chat's model may call. Every call asks you first, showing the tool and its exact "
         "arguments, unless you chose “Always allow” for that tool.")
NO_SERVERS = ("No MCP servers yet. Add them in Settings → Tools, or import them there from Claude Desktop, "
              "Cursor or LM Studio.")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class ToolsModel(QStandardItemModel):
    """Servers with their tools under them; the app's own tool last. Column 0 is the
    name with its checkbox, column 1 the server's state or the tool's description."""

    KindRole = Qt.ItemDataRole.UserRole + 1  # "server" / "tool" / "builtin"
    ServerRole = Qt.ItemDataRole.UserRole + 2
    ToolRole = Qt.ItemDataRole.UserRole + 3
    DescriptionRole = Qt.ItemDataRole.UserRole + 4
    OnRole = Qt.ItemDataRole.UserRole + 5
    AlwaysAllowedRole = Qt.ItemDataRole.UserRole + 6
    StateRole = Qt.ItemDataRole.UserRole + 7  # the server's state in words

    choices_changed = Signal()

    def __init__(self, host: ToolsHost, enabled: EnabledTools, collections: list[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.host = host
        self.enabled = copy.deepcopy(enabled)
        self.collections = list(collections)
        self._syncing = False
        self.setHorizontalHeaderLabels(["Tool", "About"])
        self.rebuild()

    def roleNames(self) -> dict[int, bytes]:  # noqa: N802 (Qt override)
        names = dict(super().roleNames())
        names.update({self.KindRole: b"kind", self.ServerRole: b"server", self.ToolRole: b"tool",
                      self.DescriptionRole: b"description", self.OnRole: b"on",
                      self.AlwaysAllowedRole: b"alwaysAllowed", self.StateRole: b"state"})
        return names

    # -- building ----------------------------------------------------------------------
    def rebuild(self) -> None:
        self.removeRows(0, self.rowCount())
        tools = self.host.tools()
        for name in self.host.mcp.servers:
            state = self.host.state(name)
            item = self._item(name, SERVER, name)
            item.setData(state.text, self.StateRole)
            about = QStandardItem(state.text)
            about.setToolTip(state.text)
            about.setEditable(False)
            for tool in (t for t in tools if t.server == name):
                item.appendRow(self._tool_row(tool))
            self.appendRow([item, about])
        on = bool(self.collections)
        builtin = self._item(DOCUMENTS_TOOL, BUILTIN, "")
        builtin.setCheckable(False)
        builtin.setData(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
        note = (f"The app's own tool, on while this chat has document collections ({', '.join(self.collections)})"
                if on else "The app's own tool: on when this chat has document collections (Documents beside the message box)")
        builtin.setData(note, self.DescriptionRole)
        about = QStandardItem(note)
        about.setToolTip(note)
        about.setEditable(False)
        self.appendRow([builtin, about])
        self._sync_checks()

    def _item(self, text: str, kind: str, server: str) -> QStandardItem:
        item = QStandardItem(text)
        item.setEditable(False)
        item.setCheckable(True)
        item.setData(kind, self.KindRole)
        item.setData(server, self.ServerRole)
        item.setData(text, Qt.ItemDataRole.AccessibleTextRole)
        return item

    def _tool_row(self, tool: ToolInfo) -> list[QStandardItem]:
        always = self.host.policy.is_always_allowed(tool.server, tool.name)
        item = self._item(tool.name + ("  (always allowed)" if always else ""), TOOL, tool.server)
        item.setData(tool.name, self.ToolRole)
        item.setData(tool.description, self.DescriptionRole)
        item.setData(always, self.AlwaysAllowedRole)
        item.setToolTip(tool.description or tool.name)
        about = QStandardItem(_first_line(tool.description))
        about.setToolTip(tool.description)
        about.setEditable(False)
        return [item, about]

    # -- checkboxes --------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == self.OnRole and index.isValid():
            state = super().data(self.index(index.row(), 0, index.parent()), Qt.ItemDataRole.CheckStateRole)
            return state is not None and Qt.CheckState(state) != Qt.CheckState.Unchecked
        return super().data(index, role)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or self._syncing:
            return super().setData(index, value, role)
        on = Qt.CheckState(value) != Qt.CheckState.Unchecked
        kind, server = index.data(self.KindRole), index.data(self.ServerRole)
        if kind == SERVER:
            self.enabled.switch_server(server, on)
        elif kind == TOOL:
            self.enabled.switch(ToolInfo(server, index.data(self.ToolRole)), on)
        else:
            return False
        self._sync_checks()
        self.choices_changed.emit()
        return True

    def _sync_checks(self) -> None:
        """Every checkbox from `enabled`: a server is checked when on as a whole with none
        of its tools off, partly when some of its tools are on."""
        self._syncing = True
        try:
            for r in range(self.rowCount()):
                server_item = self.item(r, 0)
                if server_item is None or server_item.data(self.KindRole) != SERVER:
                    continue
                name = server_item.data(self.ServerRole)
                states = []
                for c in range(server_item.rowCount()):
                    child = server_item.child(c, 0)
                    on = self.enabled.is_on(ToolInfo(name, child.data(self.ToolRole)))
                    states.append(on)
                    child.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                whole = name in self.enabled.servers
                if whole and all(states):
                    state = Qt.CheckState.Checked
                elif any(states) or whole:
                    state = Qt.CheckState.PartiallyChecked
                else:
                    state = Qt.CheckState.Unchecked
                server_item.setCheckState(state)
        finally:
            self._syncing = False

    def server_row(self, name: str) -> int:
        return next((r for r in range(self.rowCount()) if self.item(r, 0).data(self.ServerRole) == name
                     and self.item(r, 0).data(self.KindRole) == SERVER), -1)


class ToolsDialog(QDialog):
    tools_chosen = Signal(object)  # EnabledTools, on OK (and before "Settings…")
    settings_requested = Signal()

    def __init__(self, host: ToolsHost, enabled: EnabledTools, collections: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tools for this chat")
        self.host = host
        self.model = ToolsModel(host, enabled, collections or [], self)
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.empty_note = QLabel(NO_SERVERS)
        self.empty_note.setWordWrap(True)
        layout.addWidget(self.empty_note)
        label = QLabel("&Servers and tools:")
        layout.addWidget(label)
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Servers and tools")
        self.tree.setAccessibleDescription("Space switches the selected server or tool on or off for this chat")
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        label.setBuddy(self.tree)
        layout.addWidget(self.tree, 1)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setAccessibleName("Problems")
        layout.addWidget(self.problems)

        row = QHBoxLayout()
        self.refresh_button = dialog_button("&Refresh", "Refresh the servers' tools")
        self.refresh_button.setToolTip("Start the servers again as needed and list their tools")
        self.refresh_button.clicked.connect(self._on_refresh_clicked)
        self.settings_button = dialog_button("Se&ttings…", "Tools settings")
        self.settings_button.setToolTip("Settings → Tools: add, import or remove MCP servers; always-allowed tools; limits")
        self.settings_button.clicked.connect(self._on_settings_clicked)
        row.addWidget(self.refresh_button)
        row.addWidget(self.settings_button)
        row.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._on_ok_clicked)
        self.buttons.rejected.connect(self.reject)
        row.addWidget(self.buttons)
        layout.addLayout(row)

        host.tools_refreshed.connect(self._on_host_changed)
        host.states_changed.connect(self._on_host_changed)
        host.config_changed.connect(self._on_host_changed)
        self._show()
        host.refresh_unlisted()  # servers start when first needed: listing their tools is a need
        fit_to_screen(self, QSize(self.fontMetrics().averageCharWidth() * 90, self.fontMetrics().lineSpacing() * 28))

    @property
    def enabled(self) -> EnabledTools:
        return self.model.enabled

    def _show(self) -> None:
        current = self.tree.currentIndex()
        where = (current.data(ToolsModel.ServerRole), current.data(ToolsModel.ToolRole)) if current.isValid() else None
        self.model.rebuild()
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, min(self.tree.columnWidth(0), self.fontMetrics().averageCharWidth() * 36))
        self.empty_note.setVisible(not self.host.mcp.servers)
        lines = list(self.host.problems())
        for name in self.host.mcp.servers:
            state = self.host.state(name)
            if state.state in (FAILED, OFFLINE):
                lines.append(f"{name}: {state.text}")
        self.problems.setText("\n".join(lines))
        self.problems.setVisible(bool(lines))
        self.refresh_button.setEnabled(bool(self.host.mcp.servers) and not self.host.busy())
        if where is not None:
            self._select(*where)

    def _select(self, server: str, tool: str | None) -> None:
        r = self.model.server_row(server)
        if r < 0:
            return
        index = self.model.index(r, 0)
        if tool:
            for c in range(self.model.rowCount(index)):
                child = self.model.index(c, 0, index)
                if child.data(ToolsModel.ToolRole) == tool:
                    index = child
                    break
        self.tree.setCurrentIndex(index)

    def _on_host_changed(self, *_: object) -> None:
        self._show()

    def _on_refresh_clicked(self) -> None:
        self.host.refresh_all()

    def _on_ok_clicked(self) -> None:
        self.tools_chosen.emit(copy.deepcopy(self.model.enabled))
        self.accept()

    def _on_settings_clicked(self) -> None:
        self.tools_chosen.emit(copy.deepcopy(self.model.enabled))
        self.accept()
        self.settings_requested.emit()

    def done(self, result: int) -> None:
        for sig in (self.host.tools_refreshed, self.host.states_changed, self.host.config_changed):
            try:
                sig.disconnect(self._on_host_changed)
            except (RuntimeError, TypeError):
                pass
        super().done(result)


def open_tools_picker(parent: QWidget, host: ToolsHost, enabled: EnabledTools, collections: list[str],
                      on_save: Callable[[EnabledTools], None],
                      open_settings: Callable[[], None] | None = None) -> ToolsDialog:
    """Open the chat's Tools dialog (window-modal, not a nested event loop). `on_save`
    gets the chat's new choice on OK; `open_settings` runs after "Settings…"."""
    dlg = ToolsDialog(host, enabled, collections, parent)
    dlg.tools_chosen.connect(on_save)
    if open_settings is not None:
        dlg.settings_requested.connect(open_settings)
    dlg.finished.connect(dlg.deleteLater)
    dlg.open()
    return dlg
