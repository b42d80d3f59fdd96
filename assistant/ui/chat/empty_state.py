"""What a first start with no model shows: a friendly way to get one."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

COLUMN_CHARS = 66

PARAGRAPHS = (
    "The assistant runs an AI model right here on your computer: your words never leave it.",
    "To start, download one of the recommended models (the library shows which ones run well "
    "on this computer), or add a model file in the <b>GGUF</b> format that you already have.",
)


class EmptyState(QWidget):
    add_model_requested = Signal()
    library_requested = Signal()

    def __init__(self, models_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        column = self._column = QWidget(self)
        # a fixed text width (in characters, so it scales with the font): a centred
        # word-wrapped label otherwise gets the height of a wider one and is cut off;
        # narrower when the window is (resizeEvent), so it never widens the window
        column.setFixedWidth(column.fontMetrics().averageCharWidth() * COLUMN_CHARS)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        col = QVBoxLayout(column)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(10)
        title = QLabel("<h2>Welcome! Let's get you a model</h2>", column)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(title)
        breakable = html.escape(models_dir).replace("/", "/\u200b").replace("\\", "\\\u200b")  # a long path wraps
        for text in (*PARAGRAPHS, f"You can also put model files in:<br><code>{breakable}</code>"):
            label = QLabel(text, column)
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            col.addWidget(label)
        self.library_button = QPushButton("Choose a recommended model…", column)
        self.library_button.setAccessibleName("Choose a recommended model")
        self.library_button.setDefault(True)
        self.library_button.clicked.connect(self.library_requested)
        self.button = QPushButton("Add a model file…", column)
        self.button.setAccessibleName("Add a model file")
        self.button.clicked.connect(self.add_model_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.library_button)
        buttons.addWidget(self.button)
        buttons.addStretch(1)
        col.addSpacing(8)
        col.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(2)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        want = self._column.fontMetrics().averageCharWidth() * COLUMN_CHARS
        self._column.setFixedWidth(max(200, min(want, self.width() - 24)))
