"""A block under a message that folds to one line: an arrow button with a title, and a
selectable text below it that shows when opened (a reasoning model's thinking, the tool
calls of an answer)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget


class CollapsedBlock(QWidget):
    def __init__(self, name: str, what: str, parent: QWidget | None = None) -> None:
        """`name`: the object name (the style sheet's `#name`, `#nameToggle`, `#nameText`);
        `what`: the text's accessible name ("the model's thinking")."""
        super().__init__(parent)
        self._what = what
        self.setObjectName(name)
        self.toggle = QToolButton(self)
        self.toggle.setObjectName(f"{name}Toggle")
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setCheckable(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QLabel(self)
        self.body.setObjectName(f"{name}Text")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.body.setAccessibleName(what[:1].upper() + what[1:])
        self.body.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.body)

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def _on_toggled(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.toggle.setAccessibleName(f"Hide {self._what}" if on else f"Show {self._what}")
        self.body.setVisible(on)
