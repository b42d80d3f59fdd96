"""‹ 1/2 ›: which version of an answer (Regenerate, Retry) or of a question (Edit) is shown,
and buttons to the others."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class VersionBar(QWidget):
    step_requested = Signal(int)  # -1: the previous version, +1: the next one

    def __init__(self, parent: QWidget | None = None, noun: str = "answer") -> None:
        super().__init__(parent)
        self.prev_button = self._button("‹", f"Previous version of this {noun}", -1)
        self.next_button = self._button("›", f"Next version of this {noun}", +1)
        self.label = QLabel(self)
        self.label.setObjectName("details")
        self.label.setAccessibleName(f"{noun.capitalize()} version")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.prev_button)
        lay.addWidget(self.label)
        lay.addWidget(self.next_button)
        self.set_versions(None)

    def _button(self, text: str, name: str, step: int) -> QPushButton:
        b = QPushButton(text, self)
        b.setFlat(True)
        b.setAccessibleName(name)
        b.setToolTip(name)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(lambda: self.step_requested.emit(step))
        return b

    def set_versions(self, versions: tuple[int, int] | None) -> None:
        """(shown, count), or None: nothing to show."""
        self.setVisible(versions is not None)
        if versions is None:
            return
        shown, count = versions
        self.label.setText(f"{shown}/{count}")
        self.label.setAccessibleDescription(f"Version {shown} of {count}")
        self.prev_button.setEnabled(shown > 1)
        self.next_button.setEnabled(shown < count)

    def set_enabled(self, enabled: bool, versions: tuple[int, int] | None) -> None:
        if versions is not None:
            self.prev_button.setEnabled(enabled and versions[0] > 1)
            self.next_button.setEnabled(enabled and versions[0] < versions[1])
