"""The model library (Ctrl+L): Recommended, Search Hugging Face, Downloads, Installed.

Each tab is its own widget in ui/library/tabs/, given the LibraryContext
(ui/library/context.py) for what they share: paths and settings, jobs on the thread
pool, the licence confirmation, queueing a download. This dialog holds the offline
banner, the tabs and Close, and wires the tabs to its public signals. Nothing touches
the network while Offline mode is on: the Search tab says so and makes no call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from assistant import network
from assistant.paths import Paths
from assistant.settings import Settings
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.window_size import remember_size, restore_size
from assistant.ui.library.context import LibraryContext
from assistant.ui.library.tabs.downloads import DownloadsTab
from assistant.ui.library.tabs.installed import InstalledTab
from assistant.ui.library.tabs.recommended import RecommendedTab
from assistant.ui.library.tabs.search import SearchTab

OFFLINE_BANNER = "Offline mode is on: the library shows what is on this computer and makes no network call."


class LibraryWindow(QDialog):
    model_use_requested = Signal(object)  # ModelRef
    model_settings_requested = Signal(object)  # ModelRef
    models_changed = Signal()  # installed, imported or deleted: the picker should rescan

    def __init__(self, paths: Paths, settings: Settings, downloads: Callable[[], Any],
                 parent: QWidget | None = None, endpoint: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model library")
        self.setObjectName("library")
        self.context = LibraryContext(paths, settings, downloads, endpoint, self)

        self.banner = QLabel(OFFLINE_BANNER, self)
        self.banner.setAccessibleName("Offline notice")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("padding: 6px; border-radius: 4px; background: palette(alternate-base);")
        self.recommended_tab = RecommendedTab(self.context)
        self.search_tab = SearchTab(self.context)
        self.downloads_tab = DownloadsTab(self.context)
        self.installed_tab = InstalledTab(self.context)
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Library sections")
        self.tabs.addTab(self.recommended_tab, "&Recommended")
        self.tabs.addTab(self.search_tab, "&Search Hugging Face")
        self.tabs.addTab(self.downloads_tab, "&Downloads")
        self.tabs.addTab(self.installed_tab, "&Installed")
        lay = QVBoxLayout(self)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        close = dialog_button("Close", "Close the library")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        QShortcut(QKeySequence.StandardKey.Close, self, activated=self.close)

        self.recommended_tab.hardware_detected.connect(self.search_tab.set_hardware)
        self.context.download_queued.connect(self._on_download_queued)
        self.downloads_tab.download_finished.connect(self._on_download_finished)
        self.installed_tab.import_started.connect(self._on_import_started)
        self.installed_tab.model_use_requested.connect(self.model_use_requested)
        self.installed_tab.model_settings_requested.connect(self.model_settings_requested)
        self.installed_tab.models_changed.connect(self.models_changed)
        self.refresh_offline()
        self.load_catalog()
        self.refresh_installed()
        restore_size(self, settings, "library", QSize(1000, 640))  # never larger than its screen

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt override)
        remember_size(self, self.context.settings, "library")
        super().hideEvent(event)

    @property
    def busy(self) -> bool:
        """True while any tab's background job runs."""
        return self.context.busy

    @property
    def license_box(self) -> QMessageBox | None:
        """The licence confirmation while it is shown."""
        return self.context.license_box

    def refresh_offline(self) -> None:
        self.banner.setVisible(network.is_offline())
        self.search_tab.refresh_offline()

    # -- what the app and the tools call -----------------------------------------------
    def load_catalog(self) -> None:
        self.recommended_tab.load_catalog()

    def download_catalog_file(self, entry: Any, file: Any) -> str | None:
        return self.recommended_tab.download_catalog_file(entry, file)

    def search(self) -> None:
        self.search_tab.search()

    def refresh_installed(self) -> None:
        self.installed_tab.refresh_installed()

    def import_path(self, src: Path) -> None:
        self.installed_tab.import_path(src)

    # -- tab signals ---------------------------------------------------------------------
    def _on_download_queued(self, _host: Any, _dl_id: str) -> None:
        self.tabs.setCurrentWidget(self.downloads_tab)

    def _on_download_finished(self, _dl_id: str, _path: Path) -> None:
        self.refresh_installed()
        self.models_changed.emit()

    def _on_import_started(self) -> None:
        self.tabs.setCurrentWidget(self.installed_tab)
