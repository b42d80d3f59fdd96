"""Settings → Your servers: OpenAI-compatible servers of your own (vLLM, llama-server,
Ollama, LM Studio, another copy of this app). Their models join the chat's model picker,
marked with the server; they are private, not the cloud: no consent, no cost. Keys go
to the keyring, on the thread pool; "Check" asks the server for its models."""

from __future__ import annotations

import copy

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
    QWidget,
)

from assistant import keys
from assistant.engines.private import PrivateServer, PrivateServerEngine, check_name, normalize_url, servers
from assistant.errors import AssistantError
from assistant.settings import Settings
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.settings.private_servers_model import PrivateServersModel

EXPLANATION = (
    "A bigger model on a machine of your own, used like a local one: its models appear in the "
    "chat's model picker. Requests go only to the address you give, and Offline mode blocks them."
)


class PrivateServersPage(QWidget):
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self.model = PrivateServersModel(self)
        layout = QVBoxLayout(self)
        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setAccessibleName("Your servers")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)  # two lines a server: where the servers part is clear
        self.list.setSpacing(2)
        self.list.setMinimumHeight(self.fontMetrics().height() * 5)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.check_button = dialog_button("C&heck", "Check the server")
        self.check_button.clicked.connect(self._on_check_clicked)
        self.remove_button = dialog_button("&Remove", "Remove the server")
        self.remove_button.clicked.connect(self._on_remove_clicked)
        row.addWidget(self.check_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)

        box = QGroupBox("Add a server")
        form = QFormLayout(box)
        self.name = QLineEdit()
        self.name.setPlaceholderText("gpu-box")
        self.name.setAccessibleName("Server name")
        form.addRow("&Name:", self.name)
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://192.168.1.20:8000")
        self.url.setAccessibleName("Server address")
        form.addRow("A&ddress:", self.url)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("optional (vLLM --api-key, llama-server --api-key)")
        self.key.setAccessibleName("Server key")
        form.addRow("&Key:", self.key)
        self.add_button = dialog_button("&Add", "Add the server")
        self.add_button.clicked.connect(self._on_add_clicked)
        form.addRow(self.add_button)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        form.addRow(self.message)
        layout.addWidget(box)

    # -- SettingsPage -------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.model.set_servers(servers(settings))

    def apply_to(self, settings: Settings) -> Settings:
        out = copy.deepcopy(settings)
        out.private_servers = [s.as_dict() for s in self.model.servers()]
        return out

    # -- actions --------------------------------------------------------------------------
    def _selected(self) -> int:
        idx = self.list.currentIndex()
        return idx.row() if idx.isValid() else -1

    def _on_add_clicked(self) -> None:
        try:
            name = check_name(self.name.text())
            url = normalize_url(self.url.text())
        except AssistantError as exc:
            self.message.setText(str(exc))
            return
        key = self.key.text().strip()
        server = PrivateServer(name, url, bool(key))
        self.model.add(server)
        self.name.clear()
        self.url.clear()
        self.key.clear()
        self.message.setText(f"Added {name}. Apply or OK keeps it.")
        self.edited.emit()
        if key:
            self._run(lambda: keys.set_key(server.key_id, key), lambda _r: self._check(server),
                      f"The key for {name} could not be stored")
        else:
            self._check(server)

    def _on_remove_clicked(self) -> None:
        server = self.model.remove(self._selected())
        if server is not None:
            self.edited.emit()
            if server.has_key:
                self._run(lambda: keys.delete_key(server.key_id), lambda _r: None, "The key could not be removed")

    def _on_check_clicked(self) -> None:
        row = self._selected()
        servers = self.model.servers()
        if 0 <= row < len(servers):
            self._check(servers[row])

    def _check(self, server: PrivateServer) -> None:
        """Ask the server for its models (its health), off the GUI thread."""
        self.model.set_health(server.name, "checking…")

        def work() -> list[str]:
            key = keys.get_key(server.key_id) if server.has_key else None
            engine = PrivateServerEngine(server, "-", key, timeout_s=10)
            try:
                return engine.list_models()
            finally:
                engine.unload()

        def done(models: list[str]) -> None:
            n = len(models)
            shown = ", ".join(models[:3]) + ("…" if n > 3 else "")
            self.model.set_health(server.name, f"answers: {n} model{'s' if n != 1 else ''}" + (f" ({shown})" if n else ""))

        def failed(error: Exception) -> None:
            self.model.set_health(server.name, getattr(error, "message", str(error)))

        self._jobs.append(run_job(work, done, failed, on_end=self._jobs.remove, owner=self))

    def _run(self, fn, done, failure: str) -> None:  # type: ignore[no-untyped-def]
        def failed(error: Exception) -> None:
            if failure:
                self.message.setText(f"{failure}: {getattr(error, 'message', error)}")

        self._jobs.append(run_job(fn, done, failed, on_end=self._jobs.remove, owner=self))
