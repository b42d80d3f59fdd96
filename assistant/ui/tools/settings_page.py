"""Settings → Tools: the MCP servers of mcp.json (add, remove, import from Claude Desktop,
Cursor or LM Studio, run a stdio server without network access, open the file), the
tools that run without asking (revoke), and the limits of tool calling.

Server changes are written to mcp.json at once (the file is the servers' one home, as in
the other apps) and the host reads it again; a revoke is saved at once through the
approval policy. The limits follow OK / Apply like every other setting (`apply_to`).
Secrets in mcp.json (env values, headers, a token in the command line) are never shown.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from assistant.errors import McpConfigError
from assistant.settings import Settings
from assistant.tools.mcp_config import (
    ImportSource,
    McpConfig,
    ServerConfig,
    candidate_sources,
    import_sources,
    load_config,
    merge_servers,
    save_config,
)
from assistant.tools.mcp_sandbox import sandbox_available
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.tools.host import ToolsHost
from assistant.ui.tools.models import AllowedToolsModel, McpServersModel
from assistant.ui.tools.server_dialogs import AddServerDialog, ImportDialog

UrlOpener = Callable[[QUrl], bool]
INTRO = ("MCP servers give the model tools (files, a browser, your calendar…). A chat uses the ones you switch on "
         "in its Tools dialog; every call asks you first.")
CHECKING = "Checking whether this system can start a server without network access…"


class _Note(QLabel):
    """A message under the list, out of the way while it has nothing to say."""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        super().setText(text)
        self.setVisible(bool(text))


class ToolsSettingsPage(QWidget):
    edited = Signal()

    def __init__(self, host: ToolsHost, parent: QWidget | None = None, open_url: UrlOpener = QDesktopServices.openUrl,
                 find_sources: Callable[[], list[ImportSource]] = import_sources,
                 looked_at: Callable[[], list[ImportSource]] = candidate_sources) -> None:
        super().__init__(parent)
        self.host = host
        self._open_url = open_url
        self._find_sources = find_sources
        self._looked_at = looked_at
        self._jobs: list[Job] = []
        self.sandbox: tuple[bool, str] | None = None  # (possible, why not), once checked
        self.add_dialog: AddServerDialog | None = None
        self.import_dialog: ImportDialog | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._build_servers())
        layout.addWidget(self._build_allowed())
        layout.addWidget(self._build_limits())
        layout.addStretch(1)
        host.config_changed.connect(self._on_config_changed)
        self._show_servers()
        self._show_allowed()
        self._jobs.append(run_job(sandbox_available, self._on_sandbox_checked, lambda _e: self._on_sandbox_checked(
            (False, "the check could not be run")), on_end=self._jobs.remove, owner=self))

    # -- building ----------------------------------------------------------------------
    def _build_servers(self) -> QGroupBox:
        box = QGroupBox("MCP servers (mcp.json)")
        v = QVBoxLayout(box)
        label = QLabel("&Servers:")
        self.servers_model = McpServersModel(self)
        self.servers = QListView()
        self.servers.setModel(self.servers_model)
        self.servers.setAccessibleName("MCP servers")
        self.servers.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # the whole line in the tooltip
        self.servers.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.servers.setFixedHeight(self.fontMetrics().lineSpacing() * 7)  # three servers of two lines
        self.servers.selectionModel().currentChanged.connect(self._on_server_selected)
        label.setBuddy(self.servers)
        v.addWidget(label)
        v.addWidget(self.servers)
        row = QHBoxLayout()
        self.add_button = dialog_button("&Add…", "Add an MCP server")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.remove_button = dialog_button("R&emove", "Remove the selected server")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        self.import_button = dialog_button("&Import from…", "Import servers from Claude Desktop, Cursor or LM Studio")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.open_button = dialog_button("Open mcp.&json", "Open mcp.json")
        self.open_button.setToolTip(str(self.host.config_path))
        self.open_button.clicked.connect(self._on_open_clicked)
        for b in (self.add_button, self.remove_button, self.import_button, self.open_button):
            row.addWidget(b)
        row.addStretch(1)
        v.addLayout(row)
        self.no_network = QCheckBox("Run the selected server without &network access")
        self.no_network.setAccessibleName("Run without network access")
        self.no_network.toggled.connect(self._on_no_network_toggled)
        v.addWidget(self.no_network)
        self.sandbox_note = QLabel(CHECKING)
        self.sandbox_note.setWordWrap(True)
        self.sandbox_note.setAccessibleName("Network access note")
        v.addWidget(self.sandbox_note)
        self.note = _Note()
        self.note.setWordWrap(True)
        self.note.setAccessibleName("MCP servers status")
        self.note.setText("")
        v.addWidget(self.note)
        return box

    def _build_allowed(self) -> QGroupBox:
        box = QGroupBox("Tools that run without asking")
        v = QVBoxLayout(box)
        label = QLabel("Al&ways allowed (chosen with “Always allow” when a tool asked):")
        label.setWordWrap(True)
        self.allowed_model = AllowedToolsModel(self)
        self.allowed = QListView()
        self.allowed.setModel(self.allowed_model)
        self.allowed.setAccessibleName("Always allowed tools")
        self.allowed.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        label.setBuddy(self.allowed)
        v.addWidget(label)
        row = QHBoxLayout()
        row.addWidget(self.allowed, 1)
        self.revoke_button = dialog_button("Revo&ke", "Ask again before this tool's calls")
        self.revoke_button.setToolTip("The selected tool asks again before each call")
        self.revoke_button.clicked.connect(self._on_revoke_clicked)
        row.addWidget(self.revoke_button)
        v.addLayout(row)
        self.allowed.selectionModel().currentChanged.connect(lambda *_: self._sync_buttons())
        return box

    def _build_limits(self) -> QGroupBox:
        box = QGroupBox("Limits")
        form = QFormLayout(box)
        self.rounds = self._spin(1, 100, "", "Tool rounds in one answer", "After this many rounds of calls the model must answer")
        form.addRow("Tool &rounds in one answer:", self.rounds)
        self.timeout = self._spin(1, 3600, " s", "Time limit for one call", "A call still running then is cancelled")
        form.addRow("Time &limit for one call:", self.timeout)
        self.result_kb = self._spin(1, 100 * 1024, " KB", "Largest result",
                                    "A longer result is cut, with a note saying so, before the model reads it")
        form.addRow("Largest res&ult:", self.result_kb)
        return box

    def _spin(self, low: int, high: int, suffix: str, name: str, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setSuffix(suffix)
        box.setAccessibleName(name)
        box.setToolTip(tip)
        box.setMaximumWidth(self.fontMetrics().averageCharWidth() * 14)
        box.valueChanged.connect(self._on_value_changed)
        return box

    # -- SettingsPage ------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        t = settings.tools
        for box, value in ((self.rounds, t.max_rounds), (self.timeout, round(t.call_timeout_s)), (self.result_kb, t.max_result_kb)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)

    def apply_to(self, settings: Settings) -> Settings:
        out = copy.deepcopy(settings)
        out.tools.max_rounds = self.rounds.value()
        out.tools.call_timeout_s = float(self.timeout.value())
        out.tools.max_result_kb = self.result_kb.value()
        return out

    def _on_value_changed(self, *_: object) -> None:
        self.edited.emit()

    # -- the servers -------------------------------------------------------------------
    def _show_servers(self) -> None:
        current = self._selected()
        self.servers_model.set_servers(list(self.host.config.servers.values()))
        row = self.servers_model.row_of(current.name) if current is not None else -1
        self.servers.setCurrentIndex(self.servers_model.index(max(row, 0)))
        problems = self.host.problems()
        if problems:
            self.note.setText("\n".join(problems))
        elif not self.host.config.servers:
            self.note.setText("No servers yet: add one, or import them from another app.")
        self._sync_buttons()

    def _selected(self) -> ServerConfig | None:
        return self.servers_model.server_at(self.servers.currentIndex().row())

    def _sync_buttons(self) -> None:
        server = self._selected()
        broken = bool(self.host.config_problem)  # a file that cannot be read is fixed by hand, not overwritten
        for b in (self.add_button, self.import_button):
            b.setEnabled(not broken)
        self.remove_button.setEnabled(server is not None and not broken)
        self.revoke_button.setEnabled(self.allowed.currentIndex().isValid())
        possible, why = self.sandbox if self.sandbox is not None else (False, "")
        stdio = server is not None and server.transport == "stdio"
        self.no_network.blockSignals(True)
        self.no_network.setChecked(server is not None and server.no_network)
        self.no_network.blockSignals(False)
        self.no_network.setEnabled(possible and stdio and not broken)
        if self.sandbox is None:
            tip = CHECKING
        elif not possible:
            tip = f"Not possible here: {why}."
        elif server is not None and not stdio:
            tip = "Only a server started on this computer (a command) can be cut off from the network."
        else:
            tip = "The server starts in a network namespace of its own: no connection can leave it, not even to this computer."
        self.no_network.setToolTip(tip)
        self.sandbox_note.setText(tip if self.sandbox is None or not possible else "")
        self.sandbox_note.setVisible(bool(self.sandbox_note.text()))

    def _on_sandbox_checked(self, result: tuple[bool, str]) -> None:
        self.sandbox = result
        self._sync_buttons()

    def _on_server_selected(self, *_: object) -> None:
        self._sync_buttons()

    def _edit_config(self, change: Callable[[McpConfig], str]) -> bool:
        """Read mcp.json, change it, write it, have the host read it again. False (and the
        reason under the list) when the file cannot be read or written."""
        try:
            config = load_config(self.host.config_path)
            said = change(config)
            save_config(config, self.host.config_path)
        except McpConfigError as exc:
            self.note.setText(f"{exc.message} {exc.hint}".strip())
            return False
        except OSError as exc:
            self.note.setText(f"mcp.json could not be written ({exc.strerror or exc}). Check that you may write "
                              f"to {self.host.config_path.parent}.")
            return False
        self.host.reload_config()  # config_changed: the list is shown again
        self.note.setText(said)
        return True

    def add_server(self, server: ServerConfig) -> bool:
        def change(config: McpConfig) -> str:
            config.servers[server.name] = server
            return f"Added {server.name}. Switch its tools on in a chat's Tools dialog."

        ok = self._edit_config(change)
        self.servers.setCurrentIndex(self.servers_model.index(self.servers_model.row_of(server.name)))
        return ok

    def _on_add_clicked(self) -> None:
        dlg = self.add_dialog = AddServerDialog(set(self.host.config.servers), self)
        dlg.accepted.connect(lambda: self.add_server(dlg.server) if dlg.server is not None else None)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()

    def _on_remove_clicked(self) -> None:
        server = self._selected()
        if server is None:
            return
        self._edit_config(lambda c: (c.servers.pop(server.name, None), f"Removed {server.name} from mcp.json.")[1])

    def _on_no_network_toggled(self, on: bool) -> None:
        server = self._selected()
        if server is None:
            return

        def change(config: McpConfig) -> str:
            if server.name in config.servers:
                config.servers[server.name] = replace(config.servers[server.name], no_network=on)
            return (f"{server.name} will start without network access." if on
                    else f"{server.name} will start with network access.")

        self._edit_config(change)

    def _on_import_clicked(self) -> None:
        dlg = self.import_dialog = ImportDialog(self._find_sources(), self._looked_at(), self.host.config, self)
        dlg.accepted.connect(lambda: self.import_chosen(dlg.chosen()))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()

    def import_chosen(self, chosen: list[tuple[ImportSource, McpConfig, list[str]]]) -> bool:
        if not chosen:
            return False

        def change(config: McpConfig) -> str:
            lines = []
            for source, incoming, names in chosen:
                merged = merge_servers(config, incoming.servers, names, source.suffix)
                added = merged.added + [f"{old} (as {new})" for old, new in merged.renamed.items()]
                if added:
                    lines.append(f"From {source.app}: added {', '.join(added)}.")
                if merged.unchanged:
                    lines.append(f"From {source.app}: already here: {', '.join(merged.unchanged)}.")
            return " ".join(lines) or "Nothing new to import."

        return self._edit_config(change)

    def _on_open_clicked(self) -> None:
        path = self.host.config_path
        if not path.exists():
            try:
                save_config(McpConfig(), path)  # an editor cannot open a missing file
            except OSError as exc:
                self.note.setText(f"mcp.json could not be made ({exc.strerror or exc}).")
                return
        if not self._open_url(QUrl.fromLocalFile(str(path))):
            self.note.setText(f"mcp.json could not be opened. Its path: {path}")
        else:
            self.note.setText("After editing mcp.json, come back here: the list is read again when this page opens.")

    def _on_config_changed(self) -> None:
        self._show_servers()

    # -- always allowed ----------------------------------------------------------------
    def _show_allowed(self) -> None:
        self.allowed_model.set_tools(self.host.policy.always_allowed())
        self._sync_buttons()

    def _on_revoke_clicked(self) -> None:
        index = self.allowed.currentIndex()
        if not index.isValid():
            return
        server, tool = index.data(AllowedToolsModel.ServerRole), index.data(AllowedToolsModel.ToolRole)
        self.host.policy.revoke(server, tool)
        self._show_allowed()
        self.note.setText(f"{tool} ({server}) will ask again before each call.")


def add_settings_tab(dialog: QDialog, host: ToolsHost, select: bool = False) -> ToolsSettingsPage:
    """Add Settings → Tools to the settings dialog; OK / Apply put its limits into the live
    settings (the host saves them through `save_settings`). `select` shows the tab."""
    from assistant.ui.settings.dialog import SettingsDialog

    assert isinstance(dialog, SettingsDialog)
    host.reload_config()  # mcp.json may have been edited by hand since
    page = ToolsSettingsPage(host)
    index = dialog.add_tab(page, "&Tools", scrollable=True)
    if select:
        dialog.tabs.setCurrentIndex(index)

    def applied(new: Settings) -> None:
        host.apply_settings(new.tools)
        host.save_settings()

    dialog.settings_changed.connect(applied)
    return page
