"""Qt's saved window and splitter states as text, for the settings file."""

from __future__ import annotations

import base64

from PySide6.QtCore import QByteArray


def state_to_text(data: QByteArray) -> str:
    return base64.b64encode(bytes(data.data())).decode("ascii")


def state_from_text(text: str) -> QByteArray:
    try:
        return QByteArray(base64.b64decode(text.encode("ascii")))
    except ValueError:  # a hand-edited or damaged value: start with the default layout
        return QByteArray()
