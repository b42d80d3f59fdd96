"""The main window. A placeholder until the desktop chat window lands."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow

from ..paths import Paths
from ..settings import Settings


class MainWindow(QMainWindow):
    def __init__(self, paths: Paths, settings: Settings) -> None:
        super().__init__()
        self.setWindowTitle("Assistant")
        self.resize(900, 600)
        label = QLabel(
            "<h2>Assistant</h2><p>The chat window is on its way.</p>"
            "<p>Meanwhile, chat in a terminal:<br><code>assistant chat --model PATH_TO_MODEL.gguf</code></p>"
            f"<p>Models folder: <code>{paths.models_dir}</code></p>"
        )
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAccessibleName("Welcome")
        self.setCentralWidget(label)
