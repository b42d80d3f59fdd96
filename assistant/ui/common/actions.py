"""Menu actions whose shortcuts work wherever the focus is in their window."""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget


def add_action(window: QWidget, menu: QMenu, text: str, slot: Callable[[], object], shortcut: object = None) -> QAction:
    act = QAction(text, window)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
    act.triggered.connect(slot)
    menu.addAction(act)
    window.addAction(act)  # the window, not the menu: shortcuts work wherever the focus is
    return act
