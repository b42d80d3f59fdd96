"""Labels and buttons that elide their text to the room they get, with the full text
in the tooltip; their minimum width is small, so a long name never widens a layout."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget

MIN_CHARS = 4


class ElidedLabel(QLabel):
    """A one-line label; text() stays the full text, only the painting is elided."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, min_chars: int = 4) -> None:
        super().__init__(text, parent)
        self._mode = mode
        self._min_chars = min_chars  # kept whole up to this many characters before it is cut
        self._tooltip = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_tooltip(self, tooltip: str) -> None:
        """A tooltip of its own (else the full text when it does not fit)."""
        self._tooltip = tooltip
        self._sync_tooltip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        super().setText(text)
        self._sync_tooltip()
        self.updateGeometry()

    def elided_text(self) -> str:
        return self.fontMetrics().elidedText(self.text(), self._mode, max(0, self.contentsRect().width()))

    def _sync_tooltip(self) -> None:
        cut = self.elided_text() != self.text()
        self.setToolTip("\n".join(t for t in (self.text() if cut else "", self._tooltip) if t))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        fm = self.fontMetrics()
        m = self.contentsMargins()
        width = min(fm.horizontalAdvance(self.text()) + 2, fm.averageCharWidth() * max(MIN_CHARS, self._min_chars))
        return QSize(width + m.left() + m.right(), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._sync_tooltip()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        self.style().drawItemText(
            p, self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
            self.palette(), self.isEnabled(), self.elided_text(), self.foregroundRole(),
        )


class ElidedButton(QPushButton):
    """A push button whose text is cut in the middle when it gets less room than it asks."""

    def __init__(self, text: str = "", parent: QWidget | None = None, max_chars: int = 28) -> None:
        super().__init__(text, parent)
        self._max_chars = max_chars
        self._tooltip = ""

    def set_tooltip(self, tooltip: str) -> None:
        self._tooltip = tooltip
        self.setToolTip(tooltip)

    def _room(self) -> int:
        # the padding around the text (the style's minimum width of a button aside)
        text = self.fontMetrics().horizontalAdvance(self.text())
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        full = self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, opt, opt.fontMetrics.size(0, self.text()), self)
        return max(0, self.width() - max(0, full.width() - text))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().sizeHint()
        if len(self.text()) <= self._max_chars:  # short enough: all of it
            return hint
        cap = self.fontMetrics().averageCharWidth() * self._max_chars
        text = self.fontMetrics().horizontalAdvance(self.text())
        return QSize(hint.width() - max(0, text - cap), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        hint = super().minimumSizeHint()
        text = self.fontMetrics().horizontalAdvance(self.text())
        small = self.fontMetrics().averageCharWidth() * (MIN_CHARS + 2)
        return QSize(max(small, hint.width() - max(0, text - small)), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        full = self.text()
        room = self._room()
        fits = self.fontMetrics().horizontalAdvance(full) <= room + 2  # elidedText cuts at the exact width
        shown = full if fits else self.fontMetrics().elidedText(full, Qt.TextElideMode.ElideMiddle, room)
        if shown == full:
            super().paintEvent(event)
            return
        opt = QStyleOptionButton()
        self.initStyleOption(opt)
        opt.text = shown
        p = QPainter(self)
        self.style().drawControl(QStyle.ControlElement.CE_PushButton, opt, p, self)
        if not self.toolTip():
            self.setToolTip(full)
