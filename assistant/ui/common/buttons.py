"""The push button of the app's dialogs and panels."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton


def dialog_button(text: str, name: str) -> QPushButton:
    """A button with an accessible name that Enter never presses: Enter in a dialog means OK."""
    b = QPushButton(text)
    b.setAccessibleName(name)
    b.setAutoDefault(False)
    return b
