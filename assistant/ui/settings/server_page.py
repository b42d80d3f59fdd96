"""Settings → Server: the local API server (off by default), where it listens, and its token."""

from __future__ import annotations

import copy

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from assistant import keys
from assistant.server import auth
from assistant.server.runner import LAN_WARNING
from assistant.settings import Settings
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.server.host import ServerState

EXPLANATION = (
    "Editors, scripts and agents on this computer can use your models through an "
    "OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models) and the "
    "Anthropic Messages API (/v1/messages). Every request needs the token below."
)


class ServerSettingsPage(QWidget):
    edited = Signal()
    token_renewed = Signal()  # a running server must take the new token

    def __init__(self, state: ServerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        layout = QVBoxLayout(self)
        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        layout.addWidget(intro)

        box = QGroupBox("Local API server")
        form = QFormLayout(box)
        self.enabled = QCheckBox("&Answer API requests")
        self.enabled.setAccessibleName("Answer API requests")
        self.enabled.toggled.connect(self._on_value_changed)
        form.addRow(self.enabled)
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setAccessibleName("Port")
        self.port.setMaximumWidth(self.fontMetrics().averageCharWidth() * 12)
        self.port.valueChanged.connect(self._on_value_changed)
        form.addRow("&Port:", self.port)
        self.parallel = self._spin(1, 16, "Answers at once", "Requests answered together; the chat takes one too")
        form.addRow("Answers at &once:", self.parallel)
        self.queue = self._spin(0, 256, "Waiting requests", "More than this get “busy, try again” (429)")
        form.addRow("&Waiting requests:", self.queue)
        self.idle = self._spin(0, 1440, "Unload after minutes idle",
                               "A model loaded for requests (not by the chat) is unloaded after this long without one; 0: never")
        self.idle.setSuffix(" min")
        self.idle.setSpecialValueText("never")  # 0
        form.addRow("&Unload when idle:", self.idle)
        self.lan = QCheckBox("Also listen on the &local network")
        self.lan.setAccessibleName("Also listen on the local network")
        self.lan.toggled.connect(self._on_value_changed)
        form.addRow(self.lan)
        self.lan_warning = QLabel(f"⚠ {LAN_WARNING}")
        self.lan_warning.setWordWrap(True)
        self.lan_warning.setAccessibleName("Local network warning")
        form.addRow(self.lan_warning)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Server status")
        form.addRow("Status:", self.status)
        layout.addWidget(box)

        tbox = QGroupBox("Token")
        tlay = QVBoxLayout(tbox)
        row = QHBoxLayout()
        self.token = QLineEdit()
        self.token.setReadOnly(True)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("API token")
        self.token.setPlaceholderText("Made when the server first starts")
        row.addWidget(self.token, 1)
        self.show_token = dialog_button("&Show", "Show the token")
        self.show_token.setCheckable(True)
        self.show_token.toggled.connect(self._on_show_toggled)
        self.copy_token = dialog_button("&Copy", "Copy the token")
        self.copy_token.clicked.connect(self._on_copy_clicked)
        self.renew_token = dialog_button("&New token", "Make a new token")
        self.renew_token.setToolTip("Clients that use the old token get 401 from now on")
        self.renew_token.clicked.connect(self._on_renew_clicked)
        for b in (self.show_token, self.copy_token, self.renew_token):
            row.addWidget(b)
        tlay.addLayout(row)
        self.token_note = QLabel("Kept in the system keyring. Clients send it as “Authorization: Bearer TOKEN” "
                                 "(OpenAI SDKs) or “x-api-key: TOKEN” (Anthropic SDKs).")
        self.token_note.setWordWrap(True)
        tlay.addWidget(self.token_note)
        layout.addWidget(tbox)
        layout.addStretch(1)
        self.show_state(state)
        self._read_token()

    def _spin(self, low: int, high: int, name: str, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setAccessibleName(name)
        box.setToolTip(tip)
        box.setMaximumWidth(self.fontMetrics().averageCharWidth() * 12)
        box.valueChanged.connect(self._on_value_changed)
        return box

    # -- SettingsPage -------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        s = settings.server
        widgets = (self.enabled, self.port, self.lan, self.parallel, self.queue, self.idle)
        for w in widgets:
            w.blockSignals(True)
        self.enabled.setChecked(s.enabled)
        self.port.setValue(s.port)
        self.lan.setChecked(s.local_network)
        self.parallel.setValue(s.parallel)
        self.queue.setValue(s.queue)
        self.idle.setValue(round(s.idle_unload_minutes))
        for w in widgets:
            w.blockSignals(False)
        self._sync()

    def apply_to(self, settings: Settings) -> Settings:
        out = copy.deepcopy(settings)
        out.server.enabled = self.enabled.isChecked()
        out.server.port = self.port.value()
        out.server.local_network = self.lan.isChecked()
        out.server.parallel = self.parallel.value()
        out.server.queue = self.queue.value()
        out.server.idle_unload_minutes = float(self.idle.value())
        return out

    # -- state ------------------------------------------------------------------------
    def show_state(self, state: ServerState) -> None:
        self.status.setText(state.text)
        if state.running and not self.token.text():
            self._read_token()  # the first start made it

    def _sync(self) -> None:
        self.lan_warning.setVisible(self.lan.isChecked())
        has = bool(self.token.text())
        self.copy_token.setEnabled(has)
        self.show_token.setEnabled(has)

    def _on_value_changed(self, *_args: object) -> None:
        self._sync()
        self.edited.emit()

    # -- the token (keyring calls off the GUI thread) --------------------------------------
    def _read_token(self) -> None:
        self._start(lambda: keys.get_key(auth.KEY_ID) or "")

    def _on_renew_clicked(self) -> None:
        self._start(auth.new_token, renewed=True)

    def _start(self, fn, renewed: bool = False) -> None:  # type: ignore[no-untyped-def]
        def done(token: str) -> None:
            self.token.setText(token)
            self._sync()
            if renewed:
                self.token_note.setText("A new token is in use: give it to your clients.")
                self.token_renewed.emit()

        def failed(error: Exception) -> None:
            self.token_note.setText(f"The token could not be read: {getattr(error, 'message', error)}")

        self._jobs.append(run_job(fn, done, failed, on_end=self._jobs.remove, owner=self))

    def _on_show_toggled(self, on: bool) -> None:
        self.token.setEchoMode(QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password)
        self.show_token.setText("&Hide" if on else "&Show")

    def _on_copy_clicked(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None and self.token.text():
            clipboard.setText(self.token.text())
            self.token_note.setText("Copied.")
