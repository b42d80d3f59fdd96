"""The two dialogs of Settings → Tools: add an MCP server (a command on this computer, or
the address of a Streamable HTTP server), and import servers from Claude Desktop, Cursor
or LM Studio (their files found on this computer, each server a checkbox)."""

from __future__ import annotations

import shlex

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from assistant.errors import McpConfigError
from assistant.tools.mcp_config import ImportSource, McpConfig, ServerConfig, parse_server, read_source
from assistant.ui.common.window_size import fit_to_screen
from assistant.ui.tools.models import ImportModel


class AddServerDialog(QDialog):
    """A name and a command line (stdio) or an address and an optional token (HTTP).
    OK checks the entry as mcp.json would read it; `server` is the result."""

    def __init__(self, taken: set[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add an MCP server")
        self._taken = taken
        self.server: ServerConfig | None = None
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setAccessibleName("Name")
        self.name.setPlaceholderText("files")
        form.addRow("&Name:", self.name)
        self.stdio = QRadioButton("A &command on this computer (stdio)")
        self.http = QRadioButton("An &address (Streamable HTTP)")
        self.stdio.setChecked(True)
        form.addRow(self.stdio)
        self.command = QLineEdit()
        self.command.setAccessibleName("Command and arguments")
        self.command.setPlaceholderText("npx -y @modelcontextprotocol/server-filesystem ~/Documents")
        form.addRow("Co&mmand line:", self.command)
        form.addRow(self.http)
        self.url = QLineEdit()
        self.url.setAccessibleName("Address")
        self.url.setPlaceholderText("https://example.com/mcp")
        form.addRow("A&ddress:", self.url)
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("Bearer token")
        self.token.setToolTip("Sent as “Authorization: Bearer TOKEN”; kept in mcp.json, readable by you only")
        form.addRow("&Token (optional):", self.token)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Problem")
        self.error.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._on_ok_clicked)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.stdio.toggled.connect(self._on_kind_toggled)
        self._on_kind_toggled()
        fit_to_screen(self, QSize(self.fontMetrics().averageCharWidth() * 80, self.sizeHint().height()))

    def _on_kind_toggled(self, *_: object) -> None:
        stdio = self.stdio.isChecked()
        self.command.setEnabled(stdio)
        self.url.setEnabled(not stdio)
        self.token.setEnabled(not stdio)

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(True)

    def _on_ok_clicked(self) -> None:
        name = self.name.text().strip()
        if not name:
            return self._fail("Give the server a name (it is shown with its tools).")
        if name in self._taken:
            return self._fail(f"There is a server called {name!r} already: choose another name.")
        if self.stdio.isChecked():
            try:
                words = shlex.split(self.command.text())
            except ValueError as exc:
                return self._fail(f"The command line cannot be read ({exc}): check its quotes.")
            if not words:
                return self._fail("Type the command that starts the server, with its arguments.")
            entry: dict[str, object] = {"command": words[0], "args": words[1:]}
        else:
            entry = {"url": self.url.text().strip()}
            if self.token.text().strip():
                entry["headers"] = {"Authorization": f"Bearer {self.token.text().strip()}"}
        try:
            self.server = parse_server(name, entry)
        except McpConfigError as exc:
            return self._fail(exc.message.replace(" was left out", " cannot be added"))
        self.accept()


def read_sources(sources: list[ImportSource]) -> tuple[list[tuple[ImportSource, McpConfig]], list[str]]:
    """Each found file's servers, and a problem in words for each file that cannot be read."""
    read, problems = [], []
    for source in sources:
        try:
            read.append((source, read_source(source)))
        except McpConfigError as exc:
            problems.append(f"{exc.message} {exc.hint}".strip())
    return read, problems


class ImportDialog(QDialog):
    """The servers of the other apps' files, ticked to be added (those here already are not)."""

    def __init__(self, sources: list[ImportSource], looked_at: list[ImportSource], existing: McpConfig,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import MCP servers")
        self.model = ImportModel(self)
        read, problems = read_sources(sources)
        self.model.set_sources(read, existing)
        layout = QVBoxLayout(self)
        if read:
            intro = QLabel("Tick the servers to add to this app's mcp.json. A server whose name is taken here "
                           "comes in with the app's name after it.")
        else:
            where = "\n".join(f"• {s.app}: {s.path}" for s in looked_at)
            intro = QLabel(f"No other app's MCP servers were found on this computer. Looked for:\n{where}")
        intro.setWordWrap(True)
        self.intro = intro
        layout.addWidget(intro)
        self.tree = QTreeView()
        self.tree.setHeaderHidden(True)
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Servers to import")
        self.tree.expandAll()
        self.tree.setVisible(bool(read))
        layout.addWidget(self.tree, 1)
        self.problems = QLabel("\n".join(problems))
        self.problems.setWordWrap(True)
        self.problems.setVisible(bool(problems))
        layout.addWidget(self.problems)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("&Import")
        ok.setEnabled(bool(read))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)
        fm = self.fontMetrics()
        fit_to_screen(self, QSize(fm.averageCharWidth() * 90, fm.lineSpacing() * 22))

    def chosen(self) -> list[tuple[ImportSource, McpConfig, list[str]]]:
        return self.model.chosen()
