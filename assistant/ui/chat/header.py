"""The chat header: the model picker, what the model runs on, and load progress."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
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

from assistant.core.types import ModelRef
from assistant.ui.chat.models.installed import InstalledModelsModel


class ChatHeader(QWidget):
    model_chosen = Signal(object)  # ModelRef
    add_model_requested = Signal()
    library_requested = Signal()  # "Get more models…"
    model_settings_requested = Signal()

    def __init__(self, models: InstalledModelsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.models = models
        label = self.picker_label = QLabel("&Model:", self)
        self.picker = QComboBox(self)
        self.picker.setModel(models)
        self.picker.setAccessibleName("Model")
        self.picker.setToolTip("The model that answers in this chat, and what it runs on")
        self.picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.picker.setMinimumContentsLength(18)
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
        self.status = QLabel(self)
        self.status.setAccessibleName("Model status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the status gives way first in a narrow window (its full reason is in the tooltip)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)  # llama.cpp gives no load progress: an indeterminate bar
        self.progress.setMaximumWidth(120)
        self.progress.setAccessibleName("Loading the model")
        self.progress.setTextVisible(False)
        self.progress.hide()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        lay.addWidget(label)
        lay.addWidget(self.picker)
        lay.addWidget(self.settings_button)
        lay.addWidget(self.progress)
        lay.addWidget(self.status, 1)
        lay.addWidget(self.add_button)
        lay.addWidget(self.library_button)

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
        self.status.setText(f"Loading {model.display_name}…")
        self.picker.setEnabled(False)

    def show_ready(self, text: str, tooltip: str = "") -> None:
        self.progress.hide()
        self.status.setText(text)
        self.status.setToolTip(tooltip)
        self.picker.setEnabled(True)
