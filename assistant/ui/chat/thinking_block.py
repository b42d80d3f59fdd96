"""A reasoning model's thinking above its answer: collapsed by default ("Thought for 12 s"),
opened with its arrow, growing live while the model thinks ("Thinking…")."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget


def thinking_title(streaming: bool, seconds: float | None) -> str:
    if streaming:
        return "Thinking…"
    if seconds is None:
        return "Thoughts"
    if seconds < 1:
        return "Thought for less than a second"
    return f"Thought for {seconds:.0f} s" if seconds < 90 else f"Thought for {seconds / 60:.0f} min"


class ThinkingBlock(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinking")
        self.toggle = QToolButton(self)
        self.toggle.setObjectName("thinkingToggle")
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setCheckable(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QLabel(self)
        self.body.setObjectName("thinkingText")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.body.setAccessibleName("The model's thinking")
        self.body.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.body)
        self._text = ""
        self._shown = ""  # what the label holds: only filled while open (long thinking is costly to lay out)
        self._on_toggled(False)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def text(self) -> str:
        return self._text

    def set_thinking(self, text: str, *, streaming: bool, seconds: float | None) -> None:
        self._text = text.strip()
        self.setVisible(bool(self._text) or streaming and bool(text))
        self.toggle.setText(thinking_title(streaming, seconds))
        if self.expanded:
            self._fill()

    def _fill(self) -> None:
        if self._shown != self._text:
            self._shown = self._text
            self.body.setText(self._text)

    def _on_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName("Hide the thinking" if on else "Show the thinking")
        if on:
            self._fill()
        self.body.setVisible(on)
