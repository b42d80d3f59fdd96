"""The window's tools in three calls: `ToolsControls(settings, save_settings, open_settings)`
once (it holds the app's ToolsHost), `add_settings_tab(dialog)` where the settings dialog
is built, `open_picker(...)` from the chat, `approver(...)` for the tool loop's worker, and
`shutdown()` at quit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from assistant.settings import Settings
from assistant.tools.registry import EnabledTools
from assistant.ui.tools.approval_dialog import GuiApprover
from assistant.ui.tools.host import ToolsHost
from assistant.ui.tools.picker import ToolsDialog, open_tools_picker
from assistant.ui.tools.settings_page import ToolsSettingsPage, add_settings_tab


class ToolsControls(QObject):
    def __init__(self, settings: Settings, save_settings: Callable[[], None], open_settings: Callable[[], None],
                 path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = ToolsHost(settings, save_settings, path, self)  # starts nothing: servers start when needed
        self._open_settings = open_settings
        self._select_tab = False
        self.settings_page: ToolsSettingsPage | None = None
        self.picker: ToolsDialog | None = None

    def add_settings_tab(self, dialog: QWidget) -> None:
        """Settings → Tools; shown first when the picker's "Settings…" asked for it."""
        self.settings_page = add_settings_tab(dialog, self.host, select=self._select_tab)  # type: ignore[arg-type]
        self._select_tab = False

    def open_picker(self, parent: QWidget, enabled: EnabledTools, collections: list[str],
                    on_save: Callable[[EnabledTools], None]) -> ToolsDialog:
        """The chat's Tools dialog; `on_save(enabled)` stores the choice with the chat."""
        self.picker = open_tools_picker(parent, self.host, enabled, collections, on_save, self._on_settings_requested)
        return self.picker

    def approver(self, parent: QWidget, cancel: threading.Event | None = None) -> GuiApprover:
        """The Approver the chat's worker thread passes to the tool loop: each call asked in a
        dialog over `parent`; Stop (`cancel`) withdraws the question (Deny). Make it on the
        GUI thread."""
        return GuiApprover(parent, cancel)

    def _on_settings_requested(self) -> None:
        self._select_tab = True
        QTimer.singleShot(0, self._open_settings)  # after the picker has closed

    def shutdown(self) -> None:
        self.host.close()
