"""The chat header: the model picker, what the model runs on, and load progress."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from assistant.core.names import short_model_name
from assistant.core.types import ModelRef
from assistant.ui.chat.models.installed import InstalledModelsModel
from assistant.ui.common.elided import ElidedComboBox, ElidedLabel


class ChatHeader(QWidget):
    model_chosen = Signal(object)  # ModelRef
    add_model_requested = Signal()
    library_requested = Signal()  # "Get more models…"
    model_settings_requested = Signal()
    load_cancel_requested = Signal()  # "Cancel" while a model loads

    def __init__(self, models: InstalledModelsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        label = self.picker_label = QLabel("M&odel:", self)  # Alt+O: Alt+M is the Models menu
        self.picker = ElidedComboBox(self)  # a long name is cut in the middle, with an ellipsis
        self.picker.setModel(models)
        self.picker.setAccessibleName("Model")
        self.picker.setToolTip("The model that answers in this chat, and what it runs on")
        # as wide as the (short) model names, at most 40 characters and at least 12 in a
        # narrow header: a long model name never widens the header
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._size_picker()
        self.picker.view().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        label.setBuddy(self.picker)
        self.picker.activated.connect(self._on_activated)
        self.add_button = QPushButton("Add file…", self)
        self.add_button.setToolTip("Add a model file from this computer (Ctrl+O)")
        self.add_button.setAccessibleName("Add a model file")
        self.add_button.clicked.connect(self.add_model_requested)
        self.library_button = QPushButton("More models…", self)
        self.library_button.setAccessibleName("Get more models")
        self.library_button.setToolTip("Open the model library (Ctrl+L)")
        self.library_button.clicked.connect(self.library_requested)
        self.settings_button = QToolButton(self)
        self.settings_button.setText("⚙")
        self.settings_button.setAccessibleName("Model settings")
        self.settings_button.setToolTip("Settings of this model")
        self.settings_button.clicked.connect(self.model_settings_requested)
        # the status gives way first in a narrow window, elided; the full text and reason in the tooltip
        self.status = ElidedLabel("", self, Qt.TextElideMode.ElideRight, min_chars=30)  # "CPU · 4,096 tokens" whole
        self.status.setAccessibleName("Model status")
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)  # its minimum counts
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # llama.cpp gives no load progress: an indeterminate bar
        self.progress.setMaximumWidth(120)
        self.progress.setAccessibleName("Loading the model")
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel loading the model")
        self.cancel_button.setToolTip("Stop loading this model (its process is ended)")
        self.cancel_button.clicked.connect(self.load_cancel_requested)
        self.cancel_button.hide()
        self._models_shown = True
        self._compact = False  # a narrow header leaves "Add file…" to the File menu (Ctrl+O)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        lay.addWidget(label)
        lay.addWidget(self.picker)
        lay.addWidget(self.settings_button)
        lay.addWidget(self.progress)
        lay.addWidget(self.cancel_button)
        lay.addWidget(self.status, 1)
        lay.addWidget(self.add_button)
        lay.addWidget(self.library_button)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._size_picker()
            self._fit()

    def _size_picker(self) -> None:
        chars = self.fontMetrics().averageCharWidth()
        self.picker.setMinimumWidth(chars * 12)
        self.picker.setMaximumWidth(chars * 40)

    def set_models_shown(self, shown: bool) -> None:
        """The picker and its buttons, shown when there are models to pick from."""
        self._models_shown = shown
        for w in (self.picker_label, self.picker, self.settings_button):
            w.setVisible(shown)
        self._fit()

    def _foldable(self) -> list[QWidget]:
        """The buttons that fold away, in this order, before the status is cut (both are in
        the menus: File -> Add a model file, Ctrl+O; Models -> Model library, Ctrl+L)."""
        return [self.add_button, self.library_button]

    def _room(self, w: QWidget) -> int:
        return w.sizeHint().width() + max(0, self.layout().spacing())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        hint.setWidth(hint.width() - sum(self._room(w) for w in self._foldable() if w.isVisible()))
        return hint

    def _fit(self) -> None:
        need = self.minimumSizeHint().width()
        if self.picker.isVisibleTo(self):  # the model's name in full comes before the extra buttons
            need += max(0, min(self.picker.sizeHint().width(), self.picker.maximumWidth()) - self.picker.minimumWidth())
        shown = 0
        for w in self._foldable():
            need += self._room(w)
            fits = self.width() >= need
            w.setVisible(fits and (self._models_shown or w is self.library_button))
            shown += fits
        self._compact = shown < len(self._foldable())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def _on_activated(self, row: int) -> None:
        entry = self.models.entry_at(row)
        if entry is not None and entry.can_run:
            self.model_chosen.emit(entry.ref)

    def select_path(self, path: str) -> None:
        row = self.models.row_of_path(path)
        if row >= 0:
            self.picker.setCurrentIndex(row)

    def show_loading(self, model: ModelRef) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.status.setText(f"Loading {short_model_name(model.display_name)}…")
        self.status.set_tooltip(str(model.path))
        self.picker.setEnabled(False)

    def show_ready(self, text: str, tooltip: str = "") -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.status.setText(text)
        self.status.set_tooltip(tooltip)
        self.picker.setEnabled(True)
