"""Labels, buttons and combo boxes that elide their text to the room they get, with the full
text in the tooltip; their minimum width is small, so a long name never widens a layout.
Names are cut, figures never: a label can name the part of its text that may be cut
(`set_elidable`: "gemma-3-27…m · llama.cpp · 94.8 tokens/s", not "gemma-3-270m-q…4.8 tokens/s")."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

MIN_CHARS = 4


class ElidedLabel(QLabel):
    """A one-line label; text() stays the full text, only the painting is elided."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle, min_chars: int = 4) -> None:
        super().__init__(text, parent)
        self._mode = mode
        self._min_chars = min_chars  # kept whole up to this many characters before it is cut
        self._tooltip = ""
        self._elidable = ""  # the part that may be cut ("": any of it)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_tooltip(self, tooltip: str) -> None:
        """A tooltip of its own (else the full text when it does not fit)."""
        self._tooltip = tooltip
        self._sync_tooltip()

    def setText(self, text: str) -> None:  # noqa: N802 (Qt override)
        super().setText(text)
        self._sync_tooltip()
        self.updateGeometry()

    def set_elidable(self, part: str) -> None:
        """Only `part` of the text (a name) is cut when it does not fit; the rest stays whole."""
        self._elidable = part
        self._sync_tooltip()
        self.update()

    def elided_text(self) -> str:
        fm, text, room = self.fontMetrics(), self.text(), max(0, self.contentsRect().width())
        if fm.horizontalAdvance(text) <= room:
            return text
        part = self._elidable
        if part and part in text:
            left = room - fm.horizontalAdvance(text.replace(part, "", 1))
            cut = fm.elidedText(part, Qt.TextElideMode.ElideMiddle, left) if left > 0 else ""
            if cut:  # "" when not even "…" fits in the name's place
                return text.replace(part, cut, 1)
        return fm.elidedText(text, self._mode, room)

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


class ElidedComboBox(QComboBox):
    """A combo box whose shown item is cut in the middle, with an ellipsis, when it gets
    less room than its text (Qt's styles clip it: "gemma-3-270m-q4" read as a whole name)."""

    def _option(self) -> QStyleOptionComboBox:
        opt = QStyleOptionComboBox()
        self.initStyleOption(opt)
        return opt

    def shown_text(self, opt: QStyleOptionComboBox | None = None) -> str:
        """What the box shows now: the current text, cut to its field."""
        opt = opt or self._option()
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, self)
        room = field.width() - (opt.iconSize.width() + 4 if not opt.currentIcon.isNull() else 0) - 2
        return self.fontMetrics().elidedText(opt.currentText, Qt.TextElideMode.ElideMiddle, max(0, room))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QStylePainter(self)
        opt = self._option()
        p.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, opt)
        opt.currentText = self.shown_text(opt)
        p.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, opt)
