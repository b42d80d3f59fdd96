"""Buttons beside the message box that fold to their icon when the row has no room for
their words (Documents, Tools; the Image… button does the same on its own): the tooltip,
the accessible name and the shortcut stay."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QBoxLayout, QToolButton, QWidget


def _canvas(widget: QWidget) -> tuple[QPixmap, QPainter, int]:
    s = max(16, widget.fontMetrics().height()) * 2  # drawn at twice the size: sharp on a high-DPI screen
    pix = QPixmap(s, s)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(widget.palette().color(QPalette.ColorRole.ButtonText), max(2, s // 12)))
    return pix, p, s


def page_icon(widget: QWidget) -> QIcon:
    """A page with lines of text, in the widget's text colour: Documents."""
    pix, p, s = _canvas(widget)
    p.drawRoundedRect(QRectF(s * 0.22, s * 0.1, s * 0.56, s * 0.8), s * 0.05, s * 0.05)
    for y in (0.32, 0.48, 0.64):
        p.drawLine(int(s * 0.34), int(s * y), int(s * 0.66), int(s * y))
    p.end()
    return QIcon(pix)


def tool_icon(widget: QWidget) -> QIcon:
    """A spanner (a ring and its handle), in the widget's text colour: Tools."""
    pix, p, s = _canvas(widget)
    p.drawEllipse(QRectF(s * 0.52, s * 0.12, s * 0.34, s * 0.34))
    p.drawLine(int(s * 0.56), int(s * 0.42), int(s * 0.16), int(s * 0.84))
    p.end()
    return QIcon(pix)


class RowFit(QObject):
    def __init__(self, row: QBoxLayout, view: QWidget, buttons: list[tuple[QToolButton, QIcon]]) -> None:
        super().__init__(view)
        self.row, self.view, self.buttons = row, view, buttons
        for b, icon in buttons:
            b.setIcon(icon)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        view.installEventFilter(self)

    def fit(self) -> None:
        """Words on every button when they fit; else icons, the first buttons first."""
        for b, _ in self.buttons:
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for b, _ in self.buttons:
            self.row.invalidate()  # the sizes the layout keeps are those before the style changed
            if self.row.minimumSize().width() <= self.view.width():
                return
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self.view and event.type() == QEvent.Type.Resize:
            self.fit()
        return False
