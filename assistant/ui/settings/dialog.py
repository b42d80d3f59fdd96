"""The settings dialog: a tab per area, General first.

The dialog edits a copy of the Settings; OK and Apply emit `settings_changed` with a
new copy and the main window applies and saves it (nothing is previewed here). Cancel
and Escape discard.

Adding a tab: `dialog.add_tab(widget, title)`. A tab that edits settings implements
the `SettingsPage` protocol (`load`, `apply_to` and an `edited` signal); any other
widget is shown as it is.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Callable, Protocol, runtime_checkable

from PySide6.QtCore import QSize, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from assistant.paths import Paths
from assistant.settings import Settings
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.theme import MAX_FONT_PT, MIN_FONT_PT
from assistant.ui.settings.hub_page import HubPage

UrlOpener = Callable[[QUrl], bool]

THEME_CHOICES = (("light", "Light"), ("dark", "Dark"), ("system", "Follow the system"))
OFFLINE_EXPLANATION = "While on, the app opens no network connection of any kind."


@runtime_checkable
class SettingsPage(Protocol):
    """A tab that edits part of the settings. It also has `edited = Signal()`."""

    def load(self, settings: Settings) -> None: ...

    def apply_to(self, settings: Settings) -> Settings:
        """Return `settings` with this page's values (a new object, `settings` untouched)."""
        ...


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


class _PageScroll(QScrollArea):
    """A scroll area that asks for its whole page; the dialog caps that to the screen."""

    def sizeHint(self) -> QSize:
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        frame = 2 * self.frameWidth()
        return inner.sizeHint() + QSize(frame, frame)


class GeneralPage(QWidget):
    """Appearance, chat, privacy and data."""

    edited = Signal()
    network_activity_requested = Signal()

    def __init__(self, paths: Paths, open_url: UrlOpener, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._paths = paths
        self._open_url = open_url
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_appearance())
        layout.addWidget(self._build_chat(), 1)
        layout.addWidget(self._build_privacy())
        layout.addWidget(self._build_data())
        layout.addStretch(0)
        self._set_tab_order()

    def sizeHint(self) -> QSize:
        # wide enough for a paragraph of prompt, in characters so it follows the font size
        hint = super().sizeHint()
        return hint.expandedTo(QSize(self.fontMetrics().averageCharWidth() * 70, 0))

    # -- building ---------------------------------------------------------------

    def _build_appearance(self) -> QGroupBox:
        box = QGroupBox("Appearance")
        form = QFormLayout(box)
        self.theme_combo = QComboBox()
        for key, label in THEME_CHOICES:
            self.theme_combo.addItem(label, key)
        self.theme_combo.setAccessibleName("Theme")
        self.theme_combo.currentIndexChanged.connect(self._on_value_changed)
        form.addRow("&Theme:", self.theme_combo)

        self.font_spin = QSpinBox()
        self.font_spin.setRange(MIN_FONT_PT, MAX_FONT_PT)
        self.font_spin.setSuffix(" pt")
        self.font_spin.setAccessibleName("Font size")
        self.font_spin.setAccessibleDescription(f"Text size in points, {MIN_FONT_PT} to {MAX_FONT_PT}")
        # the spin box's inner editor is a widget of its own for tools that walk the tree
        inner = self.font_spin.findChild(QLineEdit)
        if inner is not None:
            inner.setAccessibleName("Font size")
        self.font_spin.valueChanged.connect(self._on_value_changed)
        form.addRow("&Font size:", self.font_spin)
        return box

    def _build_chat(self) -> QGroupBox:
        box = QGroupBox("Chat")
        v = QVBoxLayout(box)
        label = QLabel("Default system &prompt:")
        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setAccessibleName("Default system prompt")
        self.prompt_edit.setAccessibleDescription("Instructions given to the model at the start of every new chat")
        self.prompt_edit.setTabChangesFocus(True)  # Tab moves on, so keyboard users are not trapped
        # a few lines tall, in text lines rather than pixels so it scales with the font
        lines = self.prompt_edit.fontMetrics().lineSpacing()
        self.prompt_edit.setMinimumHeight(lines * 4)
        self.prompt_edit.textChanged.connect(self._on_value_changed)
        label.setBuddy(self.prompt_edit)
        self.reset_prompt_button = dialog_button("&Reset to default", "Reset system prompt to default")
        self.reset_prompt_button.clicked.connect(self._on_reset_prompt_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.reset_prompt_button)
        v.addWidget(label)
        v.addWidget(self.prompt_edit, 1)
        v.addLayout(row)
        return box

    def _build_privacy(self) -> QGroupBox:
        box = QGroupBox("Privacy")
        v = QVBoxLayout(box)
        self.offline_check = QCheckBox("&Offline mode")
        self.offline_check.setAccessibleName("Offline mode")
        self.offline_check.setAccessibleDescription(OFFLINE_EXPLANATION)
        self.offline_check.toggled.connect(self._on_value_changed)
        self.offline_note = _note(OFFLINE_EXPLANATION)
        self.network_button = dialog_button("&Network activity…", "Network activity")
        self.network_button.setAccessibleDescription("Show every network connection the app has made")
        self.network_button.clicked.connect(self.network_activity_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.network_button)
        v.addWidget(self.offline_check)
        v.addWidget(self.offline_note)
        v.addLayout(row)
        return box

    def _build_data(self) -> QGroupBox:
        box = QGroupBox("Data")
        v = QVBoxLayout(box)
        label = QLabel("&Data folder:")
        self.data_path_edit = QLineEdit(str(self._paths.data_dir))
        self.data_path_edit.setReadOnly(True)  # selectable and copyable, not editable
        self.data_path_edit.setCursorPosition(0)
        self.data_path_edit.setToolTip(str(self._paths.data_dir))
        self.data_path_edit.setAccessibleName("Data folder")
        label.setBuddy(self.data_path_edit)
        self.open_folder_button = dialog_button("Op&en folder", "Open data folder")
        self.open_folder_button.clicked.connect(self._on_open_folder_clicked)
        row = QHBoxLayout()
        row.addWidget(self.data_path_edit, 1)
        row.addWidget(self.open_folder_button)
        self.data_note = _note("Your conversations and downloaded models are kept here.")
        self.open_error = _note("")
        self.open_error.setVisible(False)
        v.addWidget(label)
        v.addLayout(row)
        v.addWidget(self.data_note)
        v.addWidget(self.open_error)
        return box

    def _set_tab_order(self) -> None:
        chain = [
            self.theme_combo, self.font_spin, self.prompt_edit, self.reset_prompt_button,
            self.offline_check, self.network_button, self.data_path_edit, self.open_folder_button,
        ]
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)

    # -- SettingsPage -----------------------------------------------------------

    def load(self, settings: Settings) -> None:
        keys = [key for key, _ in THEME_CHOICES]
        self.theme_combo.setCurrentIndex(keys.index(settings.theme) if settings.theme in keys else keys.index("system"))
        self.font_spin.setValue(settings.font_size)
        self.prompt_edit.setPlainText(settings.system_prompt)
        self.offline_check.setChecked(settings.offline_mode)

    def apply_to(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings,
            theme=str(self.theme_combo.currentData()),
            font_size=self.font_spin.value(),
            system_prompt=self.prompt_edit.toPlainText(),
            offline_mode=self.offline_check.isChecked(),
        )

    # -- slots ------------------------------------------------------------------

    def _on_value_changed(self, *_: object) -> None:
        self.edited.emit()

    def _on_reset_prompt_clicked(self) -> None:
        self.prompt_edit.setPlainText(Settings().system_prompt)

    def _on_open_folder_clicked(self) -> None:
        folder = self._paths.data_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)  # a file manager cannot open a missing folder
        except OSError:
            pass
        ok = self._open_url(QUrl.fromLocalFile(str(folder)))
        # a message under the path, not a modal box: the path above is the way out
        self.open_error.setText("" if ok else "The folder could not be opened. Copy its path above to open it yourself.")
        self.open_error.setVisible(not ok)


class SettingsDialog(QDialog):
    settings_changed = Signal(object)  # Settings, a new copy
    network_activity_requested = Signal()
    model_settings_requested = Signal()

    def __init__(
        self,
        settings: Settings,
        paths: Paths,
        parent: QWidget | None = None,
        open_url: UrlOpener = QDesktopServices.openUrl,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = copy.deepcopy(settings)  # what OK/Apply compare against
        self._pages: list[SettingsPage] = []
        self._sized = False

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Settings sections")
        self.general = GeneralPage(paths, open_url)
        self.general.network_activity_requested.connect(self.network_activity_requested)
        self.add_tab(self.general, "&General", scrollable=True)
        self.hub_page = HubPage()  # the Hub's address and the Hugging Face token
        self.add_tab(self.hub_page, "&Hugging Face", scrollable=True)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply
        )
        for which, name in (("Ok", "OK"), ("Cancel", "Cancel"), ("Apply", "Apply")):
            self.buttons.button(getattr(QDialogButtonBox.StandardButton, which)).setAccessibleName(name)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        # per-model values (context, sampling, GPU) live in the model's own settings
        self.model_settings_button = dialog_button("&Model settings…", "Model settings")
        self.model_settings_button.setAccessibleDescription("Settings of the loaded model only")
        self.buttons.addButton(self.model_settings_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.model_settings_button.clicked.connect(self.model_settings_requested)
        self.apply_button.setEnabled(False)
        self.buttons.accepted.connect(self._on_ok_clicked)
        self.buttons.rejected.connect(self.reject)  # Escape and the close button also reject
        self.apply_button.clicked.connect(self._on_apply_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.buttons)

    def add_tab(self, widget: QWidget, title: str, scrollable: bool = False) -> int:
        """Add a tab. A SettingsPage is loaded from the settings and joins OK/Apply.

        `scrollable` wraps a tall form in a scroll area, so it stays usable at 200%
        scaling on a small screen; pages with their own scrolling views leave it off.
        """
        page: QWidget = widget
        if scrollable:
            scroll = _PageScroll()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(widget)
            page = scroll
        index = self.tabs.addTab(page, title)
        if isinstance(widget, SettingsPage):
            self._pages.append(widget)
            widget.load(self._settings)
            edited = getattr(widget, "edited", None)
            if edited is not None:
                edited.connect(self._on_page_edited)
        return index

    def sizeHint(self) -> QSize:
        """Room for the whole page, but never more than 90% of the screen (200% scaling)."""
        hint = super().sizeHint()
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return hint
        avail = screen.availableGeometry().size()
        return hint.boundedTo(QSize(avail.width() * 9 // 10, avail.height() * 9 // 10))

    def showEvent(self, event: QShowEvent) -> None:
        # Qt's automatic first size stops at 2/3 of the screen, which clips the General
        # page on a laptop; size to the capped hint once, then the user's size stands
        if not self._sized:
            self._sized = True
            self.resize(self.sizeHint().expandedTo(self.minimumSizeHint()))
        super().showEvent(event)

    def current_settings(self) -> Settings:
        """The settings as the dialog's controls show them (a new copy)."""
        result = copy.deepcopy(self._settings)
        for page in self._pages:
            result = page.apply_to(result)
        return result

    def _commit(self) -> None:
        new = self.current_settings()
        if new != self._settings:
            self._settings = copy.deepcopy(new)
            self.settings_changed.emit(new)
        self.apply_button.setEnabled(False)

    def _on_page_edited(self) -> None:
        self.apply_button.setEnabled(self.current_settings() != self._settings)

    def _on_apply_clicked(self) -> None:
        self._commit()

    def _on_ok_clicked(self) -> None:
        self._commit()
        self.accept()
