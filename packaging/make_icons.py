"""Render the app icon from its SVG into every file the packages use.

    uv run python packaging/make_icons.py          (or .venv/bin/python packaging/make_icons.py)

Reads   assistant/resources/icons/assistant.svg
Writes  assistant/resources/icons/assistant-{16,24,32,48,64,128,256,512}.png
        assistant/resources/icons/assistant.ico   (Windows: 16-256)
        packaging/macos/assistant.icns            (macOS: 16-1024)

Only PySide6 (QtSvg) is needed: Qt renders the SVG, antialiased, onto a transparent
image, and the ICO and ICNS containers are written here byte by byte. The ICO holds
32-bit BMP entries below 256 px (read by every Windows tool, resource compilers
included) and a PNG entry at 256 px (Windows Vista and later). The ICNS holds PNG
entries, as iconutil writes them, with the artwork scaled to Apple's grid (the
rounded square takes about 824 of 1024 px) so it sits well in the Dock.
Output is deterministic: running it twice gives the same bytes.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
ICON_DIR = ROOT / "assistant" / "resources" / "icons"
SVG = ICON_DIR / "assistant.svg"
ICNS = ROOT / "packaging" / "macos" / "assistant.icns"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS entry type -> pixel size (the @2x types hold the same pixels as the next size up)
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
    (b"ic09", 512), (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256),
    (b"ic14", 512),
)
# share of the canvas the SVG covers in the macOS icon: its rounded square (480 of
# 512 units) then spans ~824 of 1024 px, as on Apple's icon grid
MAC_SCALE = (824 / 1024) / (480 / 512)


def render(renderer: QSvgRenderer, size: int, scale: float = 1.0) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    side = size * scale
    offset = (size - side) / 2
    renderer.render(painter, QRectF(offset, offset, side, side))
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise RuntimeError("PNG encoding failed")
    buf.close()
    return bytes(data.data())


def bmp_entry(image: QImage) -> bytes:
    """An ICO image entry as a DIB: BITMAPINFOHEADER, BGRA rows bottom-up, AND mask."""
    img = image.convertToFormat(QImage.Format.Format_ARGB32)  # straight alpha, BGRA in memory
    w, h = img.width(), img.height()
    header = struct.pack("<IiiHHIIiiII", 40, w, h * 2, 1, 32, 0, w * h * 4, 0, 0, 0, 0)
    rows = []
    mask_stride = ((w + 31) // 32) * 4
    mask_rows = []
    for y in range(h - 1, -1, -1):
        line = bytes(img.constScanLine(y))[: w * 4]
        rows.append(line)
        bits = bytearray(mask_stride)  # 1 = transparent, for readers that ignore alpha
        for x in range(w):
            if line[x * 4 + 3] == 0:
                bits[x // 8] |= 0x80 >> (x % 8)
        mask_rows.append(bytes(bits))
    return header + b"".join(rows) + b"".join(mask_rows)


def write_ico(path: Path, images: dict[int, QImage]) -> None:
    entries = [(size, png_bytes(images[size]) if size >= 256 else bmp_entry(images[size]))
               for size in ICO_SIZES]
    out = bytearray(struct.pack("<HHH", 0, 1, len(entries)))  # reserved, type 1 = icon, count
    offset = 6 + 16 * len(entries)
    for size, data in entries:
        dim = 0 if size >= 256 else size  # 0 means 256
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    for _size, data in entries:
        out += data
    path.write_bytes(bytes(out))


def write_icns(path: Path, renderer: QSvgRenderer) -> None:
    pngs: dict[int, bytes] = {}
    body = bytearray()
    for kind, size in ICNS_TYPES:
        if size not in pngs:
            pngs[size] = png_bytes(render(renderer, size, MAC_SCALE))
        body += kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + bytes(body))


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no window is opened
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (Qt needs one)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    images = {size: render(renderer, size) for size in sorted(set(PNG_SIZES) | set(ICO_SIZES))}
    for size in PNG_SIZES:
        out = ICON_DIR / f"assistant-{size}.png"
        out.write_bytes(png_bytes(images[size]))
        print(out.relative_to(ROOT))
    ico = ICON_DIR / "assistant.ico"
    write_ico(ico, images)
    print(ico.relative_to(ROOT))
    ICNS.parent.mkdir(parents=True, exist_ok=True)
    write_icns(ICNS, renderer)
    print(ICNS.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
