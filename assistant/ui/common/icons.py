"""The app icon, from assistant/resources/icons (also inside the frozen bundle)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

ICON_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def icon_path(size: int) -> Path:
    return ICON_DIR / f"assistant-{size}.png"


def app_icon() -> QIcon:
    icon = QIcon()
    for size in SIZES:
        p = icon_path(size)
        if p.exists():
            icon.addFile(str(p))
    svg = ICON_DIR / "assistant.svg"
    if icon.isNull() and svg.exists():
        icon.addFile(str(svg))
    return icon
