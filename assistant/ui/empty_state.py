"""What a first start with no model shows: a friendly way to get one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    add_model_requested = Signal()

    def __init__(self, models_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("<h2>Welcome! Let's get you a model</h2>", self)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "<p>The assistant runs an AI model right here on your computer: your words never "
            "leave it.</p>"
            "<p>To start, add a model file in the <b>GGUF</b> format (for example a small one "
            "such as Qwen 3 0.6B, Gemma 3 1B or Llama 3.2 1B, a download of about 1 GB).</p>"
            f"<p>You can also put model files in:<br><code>{models_dir}</code></p>",
            self,
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text.setMaximumWidth(560)
        self.button = QPushButton("Add a model file…", self)
        self.button.setAccessibleName("Add a model file")
        self.button.setDefault(True)
        self.button.clicked.connect(self.add_model_requested)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(title)
        lay.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(12)
        lay.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(2)
