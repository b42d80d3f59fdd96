"""The cloud's controls in the main window, kept out of main_window.py.

"Ask <cloud model>" next to Send (shown only when a cloud model is set up), the
chat's routing menu with "Never send this chat to the cloud", Retry with the cloud /
Retry locally, the consent dialog, the Cloud settings tab and the month's spending.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QBoxLayout, QLabel, QMenu, QPushButton, QStatusBar, QWidget

from assistant.chat import cost
from assistant.chat.cloud_route import MODES, cloud_configured, cloud_label, short_cloud_label
from assistant.chat.dispatch import ConsentRequest
from assistant.chat.store import ChatStore
from assistant.core.names import short_model_name
from assistant.settings import Settings
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.input_box import PromptEdit
from assistant.ui.chat.session import ChatSession
from assistant.ui.cloud.consent_dialog import ConsentDialog
from assistant.ui.cloud.settings_page import CloudSettingsPage
from assistant.ui.common.actions import add_action
from assistant.ui.common.elided import ElidedButton
from assistant.ui.settings.dialog import SettingsDialog


@dataclass(frozen=True)
class CloudControlsHost:
    """What the controls need from the window, handed over explicitly."""

    window: QWidget  # parent of the dialogs; owner of the shortcuts
    session: ChatSession
    store: ChatStore
    chat_menu: QMenu  # the window's Chat menu: Ask, Retry, routing go at its end
    input_row: QBoxLayout  # "Ask <cloud>" goes before the Send button
    send_button: QPushButton
    prompt: PromptEdit
    chat: ChatView
    status_bar: QStatusBar
    save_settings: Callable[[], None]
    config_dir: Path  # where the user's copy of the price table lives


class CloudControls(QObject):
    def __init__(self, host: CloudControlsHost) -> None:
        super().__init__(host.window)
        self.h = host
        window, s = host.window, host.session
        s.config_dir = host.config_dir
        self.consent_dialog: ConsentDialog | None = None

        self.ask_button = ElidedButton("Ask cloud", window, max_chars=22)
        self.ask_button.setToolTip("Send this message to the cloud model (Ctrl+Shift+Enter)")
        self.ask_button.clicked.connect(self._on_ask_clicked)
        row = host.input_row
        row.insertWidget(row.indexOf(host.send_button), self.ask_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.spend_label = QLabel(window)
        self.spend_label.setAccessibleName("Cloud spending")
        host.status_bar.addPermanentWidget(self.spend_label)

        chat_menu = host.chat_menu
        chat_menu.addSeparator()
        self.ask_action = add_action(window, chat_menu, "&Ask the cloud model", self._on_ask_clicked, "Ctrl+Shift+Return")
        self.retry_cloud_action = add_action(window, chat_menu, "Retry with the &cloud model", lambda: s.regenerate("cloud"))
        self.retry_local_action = add_action(window, chat_menu, "Retry &locally", lambda: s.regenerate("local"))
        self.routing_menu = QMenu("Cloud &routing for this chat", window)
        chat_menu.addMenu(self.routing_menu)
        self.mode_group = QActionGroup(self)
        self.mode_actions: dict[str | None, QAction] = {}
        for key, label in [(None, "Use the default (Settings)"), *MODES.items()]:
            act = QAction(label, self.routing_menu, checkable=True)
            act.setData(key)
            self.mode_group.addAction(act)
            self.routing_menu.addAction(act)
            self.mode_actions[key] = act
        self.mode_group.triggered.connect(self._on_mode_triggered)
        self.routing_menu.addSeparator()
        self.never_action = QAction("&Never send this chat to the cloud", self.routing_menu, checkable=True)
        self.never_action.toggled.connect(self._on_never_toggled)
        self.routing_menu.addAction(self.never_action)

        s.consent_requested.connect(self._on_consent_requested)
        s.cloud_settings_changed.connect(self._on_cloud_settings_changed)
        s.notice.connect(lambda text: host.status_bar.showMessage(text, 8000))
        s.turn_finished.connect(lambda _r: self.refresh_spend())
        s.busy_changed.connect(self._on_busy_changed)
        s.conversation_changed.connect(self._on_conversation_changed)
        host.chat.retry_requested.connect(lambda target: s.regenerate(target))
        self.refresh()

    @property
    def _settings(self) -> Settings:
        return self.h.session.settings

    # -- state ---------------------------------------------------------------------------
    def refresh(self) -> None:
        c = self._settings.cloud
        on = cloud_configured(c)
        label = short_cloud_label(c) if on else ""  # short names on buttons and menus; in full in tooltips
        self.ask_button.setText(f"Ask {short_model_name(c.model, 18)}" if on else "Ask cloud")
        self.ask_button.setAccessibleName(f"Ask {label}" if on else "Ask the cloud model")
        full = f" ({cloud_label(c)})" if on else ""
        self.ask_button.set_tooltip(f"Send this message to the cloud model{full} (Ctrl+Shift+Enter)")
        self.ask_button.setVisible(on and not self.h.session.busy)
        for act in (self.ask_action, self.retry_cloud_action, self.routing_menu.menuAction()):
            act.setEnabled(on)
        self.ask_action.setText(f"&Ask {label}" if on else "&Ask the cloud model")
        self.retry_cloud_action.setText(f"Retry with {label}" if on else "Retry with the &cloud model")
        self.h.chat.set_cloud_label(label)
        self._sync_chat_flags()
        self.refresh_spend()

    def refresh_spend(self) -> None:
        if not cloud_configured(self._settings.cloud):
            self.spend_label.setText("")
            return
        month = cost.month_total(self.h.store)
        cid = self.h.session.conversation_id
        chat = cost.conversation_total(self.h.store, cid) if cid else 0.0
        self.spend_label.setText(f"Cloud: {cost.format_usd(chat)} this chat · {cost.format_usd(month)} this month")

    def _sync_chat_flags(self) -> None:
        cid = self.h.session.conversation_id
        conv = self.h.store.get_conversation(cid) if cid else None
        mode = conv.routing_mode if conv and conv.routing_mode in MODES else None
        self.mode_actions[mode].setChecked(True)
        self.never_action.blockSignals(True)
        self.never_action.setChecked(bool(conv and conv.never_cloud))
        self.never_action.blockSignals(False)
        for act in self.mode_actions.values():
            act.setEnabled(conv is not None)
        self.never_action.setEnabled(conv is not None)

    # -- slots ---------------------------------------------------------------------------
    def _on_conversation_changed(self, _conversation_id: int) -> None:
        self._sync_chat_flags()
        self.refresh_spend()

    def _on_busy_changed(self, busy: bool) -> None:
        self.ask_button.setVisible(cloud_configured(self._settings.cloud) and not busy)

    def _on_ask_clicked(self) -> None:
        if self.h.session.send(self.h.prompt.toPlainText(), "cloud"):
            self.h.prompt.clear()

    def _on_mode_triggered(self, act: QAction) -> None:
        cid = self.h.session.conversation_id
        if cid:
            self.h.store.set_routing_mode(cid, act.data())

    def _on_never_toggled(self, on: bool) -> None:
        cid = self.h.session.conversation_id
        if cid:
            self.h.store.set_never_cloud(cid, on)

    def _on_consent_requested(self, req: ConsentRequest) -> None:
        dlg = ConsentDialog(req.question, req.reason, req.messages, req.redacted, self.h.window)
        dlg.decided.connect(self.h.session.resolve_consent)
        dlg.decided.connect(lambda _c: self._sync_chat_flags())
        dlg.finished.connect(dlg.deleteLater)
        self.consent_dialog = dlg
        dlg.open()  # window-modal, not a nested event loop

    def _on_cloud_settings_changed(self) -> None:
        self.h.save_settings()
        self.h.status_bar.showMessage("Hard prompts now go to the cloud automatically (Settings → Cloud).", 6000)

    def add_settings_tab(self, dialog: SettingsDialog) -> None:
        self.settings_page = CloudSettingsPage(self.h.session.cloud_host, self.h.store)
        dialog.add_tab(self.settings_page, "&Cloud", scrollable=True)
        dialog.settings_changed.connect(self._on_settings_applied)

    def _on_settings_applied(self, new: object) -> None:
        self._settings.cloud = new.cloud  # type: ignore[attr-defined]
        self.h.save_settings()
        self.refresh()

