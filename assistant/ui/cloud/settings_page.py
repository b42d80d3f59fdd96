"""Settings → Cloud: provider, model, API key (in the keyring), routing, privacy and cost.

Key Save / Test / Delete and the model list run on the cloud worker's thread (keyring
calls with a timeout, one cheap request to the provider); the page only shows their
plain-words results. The key field is a password field, cleared once the key is
saved: after entry the key is shown masked, never in full.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from assistant import keys
from assistant.chat import cost, router_semantic, router_tradeoff
from assistant.chat.cloud_route import MODES
from assistant.chat.store import ChatStore
from assistant.engines.cloud import PROVIDERS
from assistant.paths import get_paths
from assistant.settings import CloudSettings, Settings
from assistant.ui.cloud.worker import CloudHost, KeyOpResult
from assistant.ui.common.buttons import dialog_button

PROVIDER_CHOICES = [("", "None (local only)")] + list(PROVIDERS.items())
# the address field: each provider has its own ("" for OpenAI and Anthropic: their own endpoint)
URL_PLACEHOLDER = {
    "openai-compatible": "http://127.0.0.1:8080/v1",
    "openai": "Empty: https://api.openai.com/v1",
    "anthropic": "Empty: https://api.anthropic.com",
}
URL_LABEL = {"openai-compatible": "Server &URL:"}
URL_HELP = {
    "openai": "Only for a gateway or proxy; leave it empty to use OpenAI's own server.",
    "anthropic": "Only for a gateway or proxy; leave it empty to use Anthropic's own server.",
}
MODE_HELP = {
    "local": "Nothing is ever sent to the cloud.",
    "ask": "When a prompt looks hard for the local model, you are asked first and shown what would be sent.",
    "auto": "Prompts that look hard for the local model go to the cloud without asking.",
}


class CloudSettingsPage(QWidget):
    """A SettingsPage (load / apply_to / edited) for the settings dialog."""

    edited = Signal()

    def __init__(self, host: CloudHost, store: ChatStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._host = host
        self._store = store
        self._ops: dict[int, str] = {}
        # each provider's own address and model, kept while the user switches between them
        self._urls: dict[str, str] = {}
        self._models: dict[str, str] = {}
        self._shown = ""  # the provider whose values the fields show
        host.worker.key_op_finished.connect(self._on_key_op_finished)
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_provider())
        layout.addWidget(self._build_key())
        layout.addWidget(self._build_routing())
        layout.addWidget(self._build_cost())
        layout.addStretch(1)

    # -- building ------------------------------------------------------------------
    def _build_provider(self) -> QGroupBox:
        box = QGroupBox("Cloud model")
        form = QFormLayout(box)
        self.provider_combo = QComboBox()
        self.provider_combo.setAccessibleName("Cloud provider")
        for key, label in PROVIDER_CHOICES:
            self.provider_combo.addItem(label, key)
        self.provider_combo.currentIndexChanged.connect(self._on_provider_changed)
        form.addRow("&Provider:", self.provider_combo)
        self.base_url_edit = QLineEdit()
        self.base_url_edit.setAccessibleName("Server base URL")
        self.base_url_edit.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.base_url_edit.textEdited.connect(self._on_value_changed)
        self.base_url_label = QLabel("Server &URL:")
        self.base_url_label.setBuddy(self.base_url_edit)
        form.addRow(self.base_url_label, self.base_url_edit)
        self.base_url_help = QLabel()
        self.base_url_help.setWordWrap(True)
        form.addRow("", self.base_url_help)
        self.model_combo = QComboBox()
        self.model_combo.setEditable(True)
        self.model_combo.setAccessibleName("Cloud model")
        self.model_combo.editTextChanged.connect(self._on_value_changed)
        self.models_button = dialog_button("&Fetch list", "Fetch the provider's model list")
        self.models_button.clicked.connect(lambda: self._start_op("models"))
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.models_button)
        model_label = QLabel("M&odel:")
        model_label.setBuddy(self.model_combo)
        form.addRow(model_label, row)
        return box

    def _build_key(self) -> QGroupBox:
        box = QGroupBox("API key")
        v = QVBoxLayout(box)
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setAccessibleName("API key")
        self.key_edit.setAccessibleDescription("Stored only in the system keyring, never in a file")
        self.key_edit.setPlaceholderText("Paste the key, then Save")
        self.save_key_button = dialog_button("&Save key", "Save the API key in the keyring and check it")
        self.test_key_button = dialog_button("&Test key", "Check the key typed in the box, else the saved one")
        self.delete_key_button = dialog_button("&Delete key", "Delete the API key from the keyring")
        self.save_key_button.clicked.connect(self._on_save_key_clicked)
        self.test_key_button.clicked.connect(lambda: self._start_op("test", self.key_edit.text().strip()))
        self.delete_key_button.clicked.connect(lambda: self._start_op("delete"))
        row = QHBoxLayout()
        row.addWidget(self.key_edit, 1)
        for b in (self.save_key_button, self.test_key_button, self.delete_key_button):
            row.addWidget(b)
        self.key_status = QLabel("Keys are kept only in the system keyring.")
        self.key_status.setWordWrap(True)
        self.key_status.setAccessibleName("API key status")
        v.addLayout(row)
        v.addWidget(self.key_status)
        return box

    def _build_routing(self) -> QGroupBox:
        box = QGroupBox("When to use it")
        form = QFormLayout(box)
        self.mode_combo = QComboBox()
        self.mode_combo.setAccessibleName("Routing mode")
        for key, label in MODES.items():
            self.mode_combo.addItem(label, key)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        form.addRow("&Routing:", self.mode_combo)
        self.mode_help = QLabel()
        self.mode_help.setWordWrap(True)
        form.addRow("", self.mode_help)
        self.redact_check = QCheckBox("&Hide personal data before sending")
        self.redact_check.setAccessibleName("Redact personal data before sending")
        self.redact_check.toggled.connect(self._on_value_changed)
        form.addRow("", self.redact_check)
        redact_help = QLabel("E-mail addresses, phone numbers and key-like strings are replaced before a message leaves.")
        redact_help.setWordWrap(True)  # a check box does not wrap: its text stays short
        self.redact_check.setAccessibleDescription(redact_help.text())
        form.addRow("", redact_help)
        form.addRow("Se&nd to the cloud:", self._build_send_level())
        return box

    def _build_send_level(self) -> QWidget:
        """The "rarely ... often" slider: moves the router's threshold, shows what that did
        on the held-out test prompts (chat/router_tradeoff.py has the numbers)."""
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        self.send_slider = QSlider(Qt.Orientation.Horizontal)
        self.send_slider.setRange(-2, 2)
        self.send_slider.setPageStep(1)
        self.send_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.send_slider.setTickInterval(1)
        self.send_slider.setAccessibleName("Send to the cloud: rarely to often")
        self.send_slider.valueChanged.connect(self._on_send_level_changed)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rarely"))
        row.addWidget(self.send_slider, 1)
        row.addWidget(QLabel("Often"))
        v.addLayout(row)
        self.send_level_label = QLabel(self._describe(0))
        self.send_level_label.setWordWrap(True)
        self.send_level_label.setAccessibleName("Precision and recall at this level")
        v.addWidget(self.send_level_label)
        w.setFocusProxy(self.send_slider)  # the row's Alt+N lands on the slider
        return w

    @staticmethod
    def _describe(level: int) -> str:
        """The figures of the router this process uses: with the embedding model or without."""
        return router_tradeoff.describe(level, semantic=router_semantic.active())

    def _on_send_level_changed(self, level: int) -> None:
        self.send_level_label.setText(self._describe(level))
        self.send_slider.setAccessibleDescription(self.send_level_label.text())
        self.edited.emit()

    def _build_cost(self) -> QGroupBox:
        box = QGroupBox("Cost")
        form = QFormLayout(box)
        self.limit_spin = QDoubleSpinBox()
        self.limit_spin.setRange(0, 100_000)
        self.limit_spin.setDecimals(2)
        self.limit_spin.setPrefix("$ ")
        self.limit_spin.setSpecialValueText("No limit")
        self.limit_spin.setAccessibleName("Monthly cloud limit in US dollars")
        self.limit_spin.valueChanged.connect(self._on_value_changed)
        form.addRow("Monthly &limit:", self.limit_spin)
        self.spend_label = QLabel()
        self.spend_label.setAccessibleName("Cloud spending this month")
        form.addRow("This month:", self.spend_label)
        self.prices_button = QPushButton("Edit prices…")
        self.prices_button.setAccessibleName("Edit the price table")
        self.prices_button.setToolTip("Open your copy of the price table (prices per million tokens)")
        self.prices_button.clicked.connect(self._on_edit_prices)
        form.addRow("", self.prices_button)
        return box

    def _on_edit_prices(self) -> None:
        path = cost.write_user_copy(get_paths().config_dir)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    # -- SettingsPage -------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        c = settings.cloud
        self._urls = {k: v for k, v in c.base_urls.items() if k != "openai-compatible"}
        self._urls["openai-compatible"] = c.base_url
        self._models = dict(c.models)
        if c.provider:
            self._models[c.provider] = c.model
        keys_ = [k for k, _ in PROVIDER_CHOICES]
        self._shown = ""
        self.provider_combo.blockSignals(True)
        self.provider_combo.setCurrentIndex(keys_.index(c.provider) if c.provider in keys_ else 0)
        self.provider_combo.blockSignals(False)
        self._show_provider_values()
        self.mode_combo.setCurrentIndex(max(0, list(MODES).index(c.routing_mode) if c.routing_mode in MODES else 0))
        self.redact_check.setChecked(c.redact)
        self.send_slider.setValue(max(-2, min(2, c.send_level)))
        self.send_level_label.setText(self._describe(self.send_slider.value()))
        self.limit_spin.setValue(c.monthly_limit_usd)
        self.refresh_spend()
        self._update_visibility()

    def apply_to(self, settings: Settings) -> Settings:
        return dataclasses.replace(settings, cloud=self.cloud_settings())

    def cloud_settings(self) -> CloudSettings:
        self._keep_provider_values()
        urls = {k: v.strip() for k, v in self._urls.items() if k != "openai-compatible" and v.strip()}
        provider = str(self.provider_combo.currentData() or "")
        return CloudSettings(
            provider=provider,
            model=self.model_combo.currentText().strip(),
            base_url=self._urls.get("openai-compatible", "").strip(),
            base_urls=urls,
            models={k: v.strip() for k, v in self._models.items() if k and k != provider and v.strip()},
            routing_mode=str(self.mode_combo.currentData()),
            redact=self.redact_check.isChecked(),
            send_level=int(self.send_slider.value()),
            monthly_limit_usd=float(self.limit_spin.value()),
        )

    def refresh_spend(self) -> None:
        spent = cost.month_total(self._store)
        self.spend_label.setText(f"{cost.format_usd(spent)} spent on cloud answers")

    # -- slots ----------------------------------------------------------------------------
    def _on_value_changed(self, *_: object) -> None:
        self.edited.emit()

    def _on_provider_changed(self, *_: object) -> None:
        self._keep_provider_values()
        self._show_provider_values()
        self.edited.emit()

    def _keep_provider_values(self) -> None:
        if self._shown:
            self._urls[self._shown] = self.base_url_edit.text().strip()
            self._models[self._shown] = self.model_combo.currentText().strip()

    def _show_provider_values(self) -> None:
        provider = self._shown = str(self.provider_combo.currentData() or "")
        self.base_url_edit.setText(self._urls.get(provider, ""))
        self.model_combo.setEditText(self._models.get(provider, ""))
        self.base_url_edit.setPlaceholderText(URL_PLACEHOLDER.get(provider, ""))
        self.base_url_label.setText(URL_LABEL.get(provider, "Gateway &URL:"))
        self.base_url_help.setText(URL_HELP.get(provider, ""))
        self._update_visibility()

    def _on_mode_changed(self, *_: object) -> None:
        self.mode_help.setText(MODE_HELP.get(str(self.mode_combo.currentData()), ""))
        self.edited.emit()

    def _update_visibility(self) -> None:
        provider = str(self.provider_combo.currentData() or "")
        self.base_url_edit.setVisible(bool(provider))  # every provider has its own (optional but one)
        self.base_url_label.setVisible(bool(provider))
        self.base_url_help.setVisible(bool(URL_HELP.get(provider)))
        for w in (self.model_combo, self.models_button, self.key_edit, self.save_key_button,
                  self.test_key_button, self.delete_key_button, self.mode_combo, self.redact_check,
                  self.send_slider):
            w.setEnabled(bool(provider))
        self.mode_help.setText(MODE_HELP.get(str(self.mode_combo.currentData()), ""))

    def _on_save_key_clicked(self) -> None:
        key = self.key_edit.text().strip()
        if not key:
            self.key_status.setText("Paste the key first.")
            return
        self._start_op("save", key)
        self.key_edit.clear()  # the field never holds the key once it is on its way to the keyring
        self.key_edit.setPlaceholderText(f"Saving {keys.mask(key)}…")

    def _start_op(self, kind: str, key: str = "") -> None:
        cloud = self.cloud_settings()
        if not cloud.provider:
            self.key_status.setText("Choose a provider first.")
            return
        for b in (self.save_key_button, self.test_key_button, self.delete_key_button, self.models_button):
            b.setEnabled(False)
        self.key_status.setText({"save": "Saving and checking the key…", "test": "Checking the key…",
                                 "delete": "Deleting the key…", "models": "Fetching the model list…"}[kind])
        self._ops[self._host.key_op(kind, cloud, key)] = kind

    def _on_key_op_finished(self, result: KeyOpResult) -> None:
        if self._ops.pop(result.op_id, None) is None:
            return  # another page's request
        for b in (self.save_key_button, self.test_key_button, self.delete_key_button, self.models_button):
            b.setEnabled(True)
        self.key_status.setText(("✓ " if result.ok else "⚠ ") + result.message)
        if result.kind == "save":
            self.key_edit.setPlaceholderText("A key is saved (hidden)" if result.ok else "Paste the key, then Save")
        elif result.kind == "delete" and result.ok:
            self.key_edit.setPlaceholderText("Paste the key, then Save")
        if result.kind == "models" and result.ok:
            current = self.model_combo.currentText()
            self.model_combo.clear()
            self.model_combo.addItems(list(result.models))
            self.model_combo.setEditText(current or (result.models[0] if result.models else ""))
