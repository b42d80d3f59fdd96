"""Settings → Hugging Face: the Hub's address (a mirror or proxy) and the user's token.

The address is a setting (OK/Apply). The token goes straight to the OS keyring when
Save is pressed, on the thread pool (a keyring prompt can take its time); the field is
cleared at once and the token is only ever shown masked. It is sent to the Hub's own
address only (library/hub_access.py).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from assistant import keys
from assistant.library.hub_access import DEFAULT_ENDPOINT, HF_TOKEN_PROVIDER, endpoint_from_setting, valid_endpoint
from assistant.settings import Settings
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.jobs import Job, run_job

TOKEN_HELP = ("Needed only for gated models (accept the licence on the model's page first) and private ones. "
              "Make a read token at huggingface.co/settings/tokens. It is kept in the system keyring and sent "
              "only to the Hub address above.")
ENDPOINT_HELP = "Leave empty for huggingface.co. A mirror or a self-hosted proxy works too (like HF_ENDPOINT)."


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class HubPage(QWidget):
    """A SettingsPage: load / apply_to / edited."""

    edited = Signal()
    token_changed = Signal(bool)  # a token is stored now

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        hub = QGroupBox("Hugging Face Hub")
        form = QFormLayout(hub)
        self.endpoint_edit = QLineEdit()
        self.endpoint_edit.setPlaceholderText(DEFAULT_ENDPOINT)
        self.endpoint_edit.setAccessibleName("Hub address")
        self.endpoint_edit.textChanged.connect(self._on_endpoint_edited)
        form.addRow("Hub &address:", self.endpoint_edit)
        self.endpoint_note = _note(ENDPOINT_HELP)
        form.addRow(self.endpoint_note)

        token_box = QGroupBox("Access token")
        v = QVBoxLayout(token_box)
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("hf_… then Save")
        self.token_edit.setAccessibleName("Hugging Face token")
        self.save_token_button = dialog_button("&Save token", "Save the token")
        self.save_token_button.clicked.connect(self._on_save_token_clicked)
        self.delete_token_button = dialog_button("&Remove token", "Remove the token")
        self.delete_token_button.clicked.connect(self._on_delete_token_clicked)
        self.delete_token_button.setEnabled(False)  # until the keyring says a token is there
        row = QHBoxLayout()
        row.addWidget(self.token_edit, 1)
        row.addWidget(self.save_token_button)
        row.addWidget(self.delete_token_button)
        v.addLayout(row)
        self.token_status = _note("")
        self.token_status.setAccessibleName("Token status")
        v.addWidget(self.token_status)
        v.addWidget(_note(TOKEN_HELP))

        lay = QVBoxLayout(self)
        lay.addWidget(hub)
        lay.addWidget(token_box)
        lay.addStretch(1)
        self._looked = False  # the keyring is read when this tab is first shown, not on every Settings

    def showEvent(self, event: QShowEvent) -> None:
        # reading the keyring may ask to unlock it: only when the user comes to this tab
        if not self._looked:
            self._looked = True
            self.token_status.setText("Looking in the keyring…")
            self._run(lambda: keys.get_key(HF_TOKEN_PROVIDER), self._on_token_read)
        super().showEvent(event)

    # -- SettingsPage ------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.endpoint_edit.setText(settings.hub_endpoint)

    def apply_to(self, settings: Settings) -> Settings:
        import copy

        out = copy.deepcopy(settings)
        text = self.endpoint_edit.text().strip()
        if valid_endpoint(text) is None:  # a half-typed address is not saved
            out.hub_endpoint = endpoint_from_setting(text) or ""
        return out

    # -- slots -------------------------------------------------------------------------
    def _run(self, fn: Any, done: Any) -> None:
        self._jobs.append(run_job(fn, done, self._on_keyring_failed,
                                  on_end=lambda job: self._jobs.remove(job) if job in self._jobs else None, owner=self))

    def _on_endpoint_edited(self, text: str) -> None:
        problem = valid_endpoint(text)
        self.endpoint_note.setText(f"⚠ {problem}" if problem else ENDPOINT_HELP)
        self.edited.emit()

    def _on_token_read(self, token: str | None) -> None:
        self._show_token(token)

    def _show_token(self, token: str | None) -> None:
        self.token_status.setText(f"✓ A token is saved ({keys.mask(token)})." if token else "No token saved.")
        self.delete_token_button.setEnabled(bool(token))

    def _on_save_token_clicked(self) -> None:
        token = self.token_edit.text().strip()
        self.token_edit.clear()  # never left in the field
        if not token:
            self.token_status.setText("Paste the token first.")
            return
        self.token_status.setText(f"Saving {keys.mask(token)}…")

        def save() -> str:
            keys.set_key(HF_TOKEN_PROVIDER, token)
            return token

        self._run(save, self._on_token_saved)

    def _on_token_saved(self, token: str) -> None:
        self._show_token(token)
        self.token_changed.emit(True)

    def _on_delete_token_clicked(self) -> None:
        self.token_status.setText("Removing the token…")
        self._run(lambda: keys.delete_key(HF_TOKEN_PROVIDER), self._on_token_deleted)

    def _on_token_deleted(self, _result: object) -> None:
        self._show_token(None)
        self.token_changed.emit(False)

    def _on_keyring_failed(self, exc: Exception) -> None:
        self.token_status.setText(f"⚠ {exc}")
