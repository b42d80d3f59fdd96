"""The prompt box: Enter sends, Shift+Enter starts a new line."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy, QWidget

PLACEHOLDER = "Message the assistant (Enter to send, Shift+Enter for a new line)"
SHORT_PLACEHOLDER = "Message the assistant"  # a narrow box: the keys are in the tooltip


class PromptEdit(QPlainTextEdit):
    prompt_submitted = Signal(str)
    paths_pasted = Signal(list)  # the pasted text named files (str paths): offered as attachments
    image_pasted = Signal(QImage)  # a picture from the clipboard (ui/vision attaches it)

    MAX_LINES = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(PLACEHOLDER)
        self.setToolTip("Enter sends; Shift+Enter adds a new line")
        self.setAccessibleName("Message")
        self.setAccessibleDescription("Type a message. Enter sends it; Shift+Enter adds a new line.")
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self.updateGeometry)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            room = self.viewport().width() - 2 * int(self.document().documentMargin())
            fits = self.fontMetrics().horizontalAdvance(PLACEHOLDER) <= 2 * room
            self.setPlaceholderText(PLACEHOLDER if fits else SHORT_PLACEHOLDER)
            if self.document().isEmpty():
                self.updateGeometry()  # the placeholder may take one line more or less

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier):
            self.submit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 (Qt override)
        return source.hasImage() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt override)
        if source.hasImage() and not source.hasUrls():  # vision: a picture, not text
            self.image_pasted.emit(QImage(source.imageData()))
            return
        super().insertFromMimeData(source)
        if source.hasUrls():
            paths = [u.toLocalFile() for u in source.urls() if u.isLocalFile()]
        else:
            lines = [ln.strip().strip('"\'') for ln in source.text().splitlines() if ln.strip()]
            paths = [str(Path(ln).expanduser()) for ln in lines[:20] if len(ln) < 4096]
        paths = [p for p in paths if _is_file(p)]
        if paths:
            self.paths_pasted.emit(paths)

    def submit(self) -> None:
        text = self.toPlainText()
        if text.strip():
            self.prompt_submitted.emit(text)

    def sizeHint(self) -> QSize:
        return QSize(self.minimumSizeHint().width(), self._height())

    def _height(self) -> int:
        # grow with the text, from one line up to MAX_LINES
        line = self.fontMetrics().lineSpacing()
        lines = max(1, min(self.MAX_LINES, int(self.document().size().height())))
        if self.document().isEmpty() and self.placeholderText():  # the placeholder wraps too
            room = max(1, self.viewport().width() - 2 * int(self.document().documentMargin()))
            lines = max(lines, min(2, -(-self.fontMetrics().horizontalAdvance(self.placeholderText()) // room)))
        margins = self.contentsMargins()
        extra = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom() + 2 * self.frameWidth() + 2
        return lines * line + extra

    def minimumSizeHint(self) -> QSize:
        # room for a few words: the buttons beside it elide before it gets narrower
        return QSize(max(100, self.fontMetrics().averageCharWidth() * 22), self._height())


def _is_file(path: str) -> bool:
    try:
        return Path(path).is_absolute() and Path(path).is_file()
    except (OSError, ValueError):
        return False
