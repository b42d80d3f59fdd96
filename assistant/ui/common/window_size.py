"""Windows sized to the screen they open on, and their size remembered.

A window asks for the size it would like (or the one the user left it at, kept in
`settings.window_sizes` by name); it gets at most the screen's free area, less room for
the title bar and frame, so its buttons are never off-screen on a small display, and it
opens centred over its parent (or the screen)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from assistant.settings import Settings

FRAME_ROOM = QSize(16, 48)  # the window manager's frame and title bar, around the client area


def screen_of(w: QWidget) -> QScreen:
    parent = w.parentWidget()
    return (parent.screen() if parent is not None else None) or w.screen() or QGuiApplication.primaryScreen()


def room_on_screen(w: QWidget) -> QRect:
    """The client area the window may take on its screen."""
    avail = screen_of(w).availableGeometry()
    return QRect(avail.topLeft(), QSize(max(200, avail.width() - FRAME_ROOM.width()),
                                        max(150, avail.height() - FRAME_ROOM.height())))


def fit_to_screen(w: QWidget, wanted: QSize) -> QSize:
    """Resize `w` to `wanted`, cut to its screen, and centre it over its parent or the screen."""
    room = room_on_screen(w)
    size = QSize(min(wanted.width(), room.width()), min(wanted.height(), room.height()))
    w.resize(size)
    parent = w.parentWidget()
    centre = parent.window().geometry().center() if parent is not None else room.center()
    x = min(max(room.left(), centre.x() - size.width() // 2), room.right() - size.width() + 1 + FRAME_ROOM.width() // 2)
    y = min(max(room.top(), centre.y() - size.height() // 2), room.bottom() - size.height() + 1)
    if w.isWindow():
        w.move(QPoint(max(room.left(), x), max(room.top(), y)))
    return size


def restore_size(w: QWidget, settings: Settings, name: str, default: QSize) -> QSize:
    """The size this window was left at (else `default`), fitted to the screen it opens on."""
    saved = settings.window_sizes.get(name)
    wanted = default
    if isinstance(saved, list) and len(saved) == 2 and all(isinstance(v, int) and 100 <= v <= 20000 for v in saved):
        wanted = QSize(saved[0], saved[1])
    return fit_to_screen(w, wanted)


def remember_size(w: QWidget, settings: Settings, name: str) -> None:
    settings.window_sizes[name] = [w.width(), w.height()]
