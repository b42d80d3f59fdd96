"""The window's side of Settings → Server and Settings → Your servers: the two tabs, the
API server started to match the settings, and a model rescan when the servers change
(their models are in the chat's picker)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject

from assistant.settings import Settings
from assistant.ui.server.host import ServerHost, ServerState
from assistant.ui.settings.dialog import SettingsDialog
from assistant.ui.settings.private_servers_page import PrivateServersPage
from assistant.ui.settings.server_page import ServerSettingsPage


class Window(Protocol):
    settings: Settings

    def _save_settings(self) -> None: ...

    def rescan_models(self) -> None: ...


class ServerControls(QObject):
    def __init__(self, window: Window, host: ServerHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self.host = host
        self.server_page: ServerSettingsPage | None = None
        self.servers_page: PrivateServersPage | None = None
        host.state_changed.connect(self._on_state_changed)
        host.apply(window.settings)  # off by default: nothing starts unless the user turned it on

    def add_settings_tabs(self, dialog: SettingsDialog) -> None:
        self.server_page = ServerSettingsPage(self.host.state)
        self.server_page.token_renewed.connect(self._on_token_renewed)
        dialog.add_tab(self.server_page, "Ser&ver", scrollable=True)
        self.servers_page = PrivateServersPage()
        dialog.add_tab(self.servers_page, "&Your servers", scrollable=True)
        dialog.settings_changed.connect(self._on_settings_applied)

    def _on_settings_applied(self, new: Settings) -> None:
        s = self._window.settings
        servers_changed = new.private_servers != s.private_servers
        s.server, s.private_servers = new.server, new.private_servers
        self._window._save_settings()
        self.host.apply(s)
        if servers_changed:
            self._window.rescan_models()

    def _on_token_renewed(self) -> None:
        self.host.restart(self._window.settings)

    def _on_state_changed(self, state: ServerState) -> None:
        if self.server_page is not None:
            try:
                self.server_page.show_state(state)
            except RuntimeError:  # the dialog is gone
                self.server_page = None

    def shutdown(self) -> None:
        self.host.shutdown()
