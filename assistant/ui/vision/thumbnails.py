"""Thumbnails of attached images (in the message box: removable; in the history: under a
user message's text) and the full-size view a click opens."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QIcon,
    QImageReader,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from assistant.ui.common.flow_layout import flow_box

THUMB = 72  # pixels at the default font; scaled with the font


def thumb_size(widget: QWidget) -> int:
    return max(THUMB, widget.fontMetrics().height() * 4)


def picture_icon(widget: QWidget) -> QIcon:
    """A framed landscape (sun, hills) in the widget's text colour: the Image… button's picture."""
    size = max(16, widget.fontMetrics().height())
    pix = QPixmap(size * 2, size * 2)  # drawn at twice the size: sharp on a high-DPI screen
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = widget.palette().color(QPalette.ColorRole.ButtonText)
    s = size * 2
    p.setPen(QPen(colour, max(2, s // 12)))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRoundedRect(QRectF(s * 0.08, s * 0.16, s * 0.84, s * 0.68), s * 0.08, s * 0.08)
    p.setBrush(colour)
    p.drawEllipse(QRectF(s * 0.6, s * 0.26, s * 0.16, s * 0.16))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawPolygon(QPolygonF([QPointF(s * 0.12, s * 0.8), QPointF(s * 0.38, s * 0.46), QPointF(s * 0.58, s * 0.8)]))
    p.drawPolygon(QPolygonF([QPointF(s * 0.42, s * 0.8), QPointF(s * 0.64, s * 0.58), QPointF(s * 0.88, s * 0.8)]))
    p.end()
    return QIcon(pix)


def load_scaled(path: str | Path, box: int) -> QPixmap:
    """The picture scaled to fit `box` x `box`, decoded at that size (a big photo is not
    decoded whole for a thumbnail)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > box or size.height() > box):
        reader.setScaledSize(size.scaled(box, box, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QPixmap.fromImage(image) if not image.isNull() else QPixmap()


class Thumbnail(QWidget):
    """One picture: a click (or Enter / Space) shows it full size; × removes it (in the box)."""

    opened = Signal(str)  # path
    removed = Signal(str)  # path

    def __init__(self, path: str, name: str, removable: bool, parent: QWidget | None = None, note: str = "") -> None:
        super().__init__(parent)
        self.path, self.name = path, name
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName(f"Image {name}")
        self.setAccessibleDescription("Press Enter to see it full size")
        self.setToolTip(f"{name}{chr(10) + note if note else ''}\nClick to see it full size")
        box = thumb_size(self)
        self.picture = QLabel(self)
        self.picture.setFixedSize(box, box)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setObjectName("thumbnail")
        pix = load_scaled(path, box)
        if pix.isNull():
            self.picture.setText("?")
        else:
            self.picture.setPixmap(pix)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(0)
        lay.addWidget(self.picture)
        self.remove_button: QToolButton | None = None
        if removable:
            b = self.remove_button = QToolButton(self)
            b.setText("×")
            b.setAccessibleName(f"Remove the image {name}")
            b.setToolTip(f"Remove {name}")
            b.clicked.connect(lambda: self.removed.emit(self.path))
            lay.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self.opened.emit(self.path)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.opened.emit(self.path)
            return
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.remove_button is not None:
            self.removed.emit(self.path)
            return
        super().keyPressEvent(event)


class ThumbnailStrip(QWidget):
    """A row of thumbnails that wraps; in the history, read-only."""

    removed = Signal(str)

    def __init__(self, removable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Images")
        self._removable = removable
        self._box, self._flow = flow_box(self)
        self._flow.left_aligned = True
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._box)
        self.thumbnails: list[Thumbnail] = []

    def set_images(self, items: list[tuple[str, str, str]]) -> None:
        """(path, name, note) of each picture."""
        if [(t.path, t.name) for t in self.thumbnails] == [(p, n) for p, n, _ in items]:
            return
        for t in self.thumbnails:
            self._flow.removeWidget(t)
            t.deleteLater()
        self.thumbnails = []
        for path, name, note in items:
            t = Thumbnail(path, name, self._removable, self._box, note)
            t.opened.connect(lambda p, w=t: show_full_size(p, w.name, self))
            t.removed.connect(self.removed)
            self._flow.addWidget(t)
            t.show()  # at once, in a message already on screen (the layout would show it later)
            self.thumbnails.append(t)
        self.setVisible(bool(items))


class ImageDialog(QDialog):
    """The picture at its own size, or scaled down to fit the screen."""

    def __init__(self, path: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(name)
        self.setAccessibleName(f"Image {name}")
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() * 0.9 if screen is not None else QSize(1024, 768)
        room = QSize(max(200, room.width() - 40), max(150, room.height() - 90))
        reader = QImageReader(path)
        reader.setAutoTransform(True)
        full = reader.size()
        if full.isValid() and (full.width() > room.width() or full.height() > room.height()):
            reader.setScaledSize(full.scaled(room, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        self.label = QLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if image.isNull():
            self.label.setText(f"{name} cannot be shown: {reader.errorString()}")
        else:
            self.label.setPixmap(QPixmap.fromImage(image))
        self.label.setAccessibleName(name)
        area = QScrollArea(self)
        area.setWidget(self.label)
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        size_note = QLabel(f"{full.width():,} × {full.height():,} pixels" + (", shown smaller to fit the screen"
                          if image.size() != full and not image.isNull() else ""), self)
        size_note.setObjectName("imageSize")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(area, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(size_note, 1)
        bottom.addWidget(buttons)
        lay.addLayout(bottom)
        shown = image.size() if not image.isNull() else QSize(320, 120)
        self.resize(min(room.width() + 40, shown.width() + 40), min(room.height() + 90, shown.height() + 90))


def show_full_size(path: str, name: str, parent: QWidget | None = None) -> ImageDialog:
    d = ImageDialog(path, name, parent.window() if parent is not None else None)
    d.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    d.open()
    return d
