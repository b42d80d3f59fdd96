"""What an image file is, read from its bytes: format, size in pixels and frames.

No decoding: the headers and the container's structure only (PNG chunks, JPEG segments,
GIF blocks, RIFF chunks, the BMP header), so a 20,000 × 20,000 picture costs nothing to
look at and a file cut short or damaged is refused before any decoder sees it. The
engines downscale to what their projector needs. Known but refused: HEIC/HEIF and AVIF
(no decoder in the engines), TIFF, SVG and PDF.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import NamedTuple

from assistant.errors import ImageError

MAX_IMAGE_BYTES = 50 * 1024 * 1024  # larger files are refused before they are read
MAX_SIDE = 65_535  # pixels; a header that claims more is damaged (or hostile)
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp", "bmp": "image/bmp"}
EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp", "bmp": "bmp"}
_USE = "Use a PNG, JPEG, GIF, WebP or BMP image."


class ImageInfo(NamedTuple):
    format: str  # png / jpeg / gif / webp / bmp
    width: int
    height: int
    frames: int  # more than 1: animated (models see the first frame)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def note(self) -> str:
        """Said to the user when an image is attached ("" when nothing needs saying)."""
        if self.frames > 1:
            return f"An animated {self.format.upper()} ({self.frames} frames): models see its first frame."
        return ""


def image_info(path: Path | str) -> ImageInfo:
    """The format, size and frames of an image file; ImageError for anything unusable."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise too_big(p.name, size)
        data = p.read_bytes()
    except OSError as exc:
        raise ImageError(f"The image {p.name} cannot be read ({exc.strerror or exc}).",
                         "Check that the file exists and is readable.") from exc
    return info_of(data, p.name)


def too_big(name: str, size: int) -> ImageError:
    return ImageError(f"The image {name} is {size / 1e6:.0f} MB; the most an image may be is {MAX_IMAGE_BYTES / 1e6:.0f} MB"
                      f" ({MAX_IMAGE_BYTES // (1024 * 1024)} MiB).",
                      "Save a smaller copy (a JPEG, or fewer pixels) and attach that.")


def info_of(data: bytes, name: str = "the image") -> ImageInfo:
    """`image_info` for bytes in memory (`name` is only for messages)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise too_big(name, len(data))
    kind = sniff(data)
    readers = {"png": _png, "jpeg": _jpeg, "gif": _gif, "webp": _webp, "bmp": _bmp}
    if kind not in readers:
        if not data:
            raise ImageError(f"{name} is empty.", _USE)
        refused = _refused(data)
        if refused:
            raise ImageError(f"{name} is not supported: {refused}; convert it to JPEG or PNG.",
                             "Most photo apps export JPEG (on an iPhone: Settings → Camera → Formats → Most Compatible).")
        raise ImageError(f"{name} is not an image this app reads.", _USE)
    try:
        width, height, frames = readers[kind](data)
    except (struct.error, IndexError, ValueError) as exc:
        why = str(exc) if type(exc) is ValueError else "it ends too soon"
        raise damaged(name, kind, why) from None
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise damaged(name, kind, f"its header says {width} × {height} pixels")
    return ImageInfo(kind, width, height, max(1, frames))


def head_info(head: bytes, name: str = "the image") -> ImageInfo:
    """Format and size from a file's first bytes only (a file too large to read whole,
    which is scaled down by core/image_shrink.py; its reader checks the rest). Frames
    are not counted: 1."""
    kind = sniff(head)
    if kind is None:
        return info_of(head, name)  # what it is, said the usual way
    try:
        if kind == "bmp":
            width, height, _ = _bmp(head, whole=False)
        elif kind == "png":
            if head[12:16] != b"IHDR":
                raise ValueError("it does not begin with its header chunk")
            width, height = struct.unpack(">II", head[16:24])
        elif kind == "jpeg":
            width, height = _jpeg_size(head)
        elif kind == "gif":
            width, height = struct.unpack("<HH", head[6:10])
        else:
            width, height, _ = _webp(head, whole=False)
    except (struct.error, IndexError, ValueError) as exc:
        why = str(exc) if type(exc) is ValueError else "it ends too soon"
        raise damaged(name, kind, why) from None
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise damaged(name, kind, f"its header says {width} × {height} pixels")
    return ImageInfo(kind, width, height, 1)


def damaged(name: str, kind: str, why: str) -> ImageError:
    return ImageError(f"{name} is a damaged or incomplete {kind.upper()} file ({why}).",
                      "Open it in an image viewer and save it again, or attach another copy.")


def sniff(data: bytes) -> str | None:
    """The format by its magic bytes (None: not one of ours)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    return None


def _refused(data: bytes) -> str:
    """A format people attach that the engines cannot read, named ("" when unknown)."""
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:5] == b"%PDF-":
        return "PDF"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return ""


def _png(d: bytes) -> tuple[int, int, int]:
    pos, width, height, frames, ended = 8, 0, 0, 1, False
    while pos < len(d):
        if pos + 12 > len(d):
            raise ValueError("a chunk is cut short")
        length, kind = struct.unpack(">I4s", d[pos:pos + 8])
        end = pos + 12 + length
        if end > len(d):
            raise ValueError(f"the {kind.decode('latin-1')} chunk is cut short")
        body = d[pos + 8:pos + 8 + length]
        if pos == 8:
            if kind != b"IHDR" or length != 13:
                raise ValueError("it does not begin with its header chunk")
            if zlib.crc32(kind + body) != struct.unpack(">I", d[end - 4:end])[0]:
                raise ValueError("its header's checksum is wrong")
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"acTL":
            frames = struct.unpack(">I", body[:4])[0]
        elif kind == b"IEND":
            ended = True
            break
        pos = end
    if not ended:
        raise ValueError("it ends before its last chunk")
    return width, height, frames


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(d: bytes) -> tuple[int, int]:
    """The size in the first frame header (the segments before it walked, not the rest)."""
    return _jpeg(d, whole=False)[:2]


def _jpeg(d: bytes, whole: bool = True) -> tuple[int, int, int]:
    pos, size = 2, None
    while True:
        while pos < len(d) and d[pos] == 0xFF and pos + 1 < len(d) and d[pos + 1] == 0xFF:
            pos += 1  # fill bytes
        if pos + 4 > len(d) or d[pos] != 0xFF:
            raise ValueError("its segments are cut short")
        marker = d[pos + 1]
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        (length,) = struct.unpack(">H", d[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > len(d):
            raise ValueError("a segment is cut short")
        if marker in _SOF:
            height, width = struct.unpack(">HH", d[pos + 5:pos + 9])
            size = (width, height)
            if not whole:
                return width, height, 1
        if marker == 0xDA:  # start of scan: the picture data follows, up to the end marker
            if size is None:
                raise ValueError("it has no frame header")
            if d.rfind(b"\xff\xd9") < pos + 2 + length:
                raise ValueError("its picture data is cut short")
            return size[0], size[1], 1
        pos += 2 + length


def _gif(d: bytes) -> tuple[int, int, int]:
    width, height, flags = struct.unpack("<HHB", d[6:11])
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0

    def skip_blocks(p: int) -> int:
        while True:
            n = d[p]
            if n == 0:
                return p + 1
            p += n + 1

    while True:
        tag = d[pos]
        if tag == 0x3B:  # trailer
            break
        if tag == 0x21:
            pos = skip_blocks(pos + 2)
        elif tag == 0x2C:
            flags = d[pos + 9]
            pos += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
            d[pos]  # noqa: B018 - the LZW code size (IndexError when cut short)
            pos = skip_blocks(pos + 1)
            frames += 1
        else:
            raise ValueError("an unknown block")
    if not frames:
        raise ValueError("it holds no picture")
    return width, height, frames


def _webp(d: bytes, whole: bool = True) -> tuple[int, int, int]:
    (riff_size,) = struct.unpack("<I", d[4:8])
    if whole and riff_size + 8 > len(d):
        raise ValueError("it is shorter than its header says")
    kind = d[12:16]
    if kind == b"VP8X":
        flags = d[20]
        width = 1 + int.from_bytes(d[24:27], "little")
        height = 1 + int.from_bytes(d[27:30], "little")
        frames = 0
        if flags & 0x02 and whole:
            pos = 12
            while pos + 8 <= riff_size + 8:
                name, size = d[pos:pos + 4], struct.unpack("<I", d[pos + 4:pos + 8])[0]
                frames += name == b"ANMF"
                pos += 8 + size + (size & 1)
        return width, height, frames or 1
    if kind == b"VP8 ":
        if d[23:26] != b"\x9d\x01\x2a":
            raise ValueError("its frame header is wrong")
        w, h = struct.unpack("<HH", d[26:30])
        return w & 0x3FFF, h & 0x3FFF, 1
    if kind == b"VP8L":
        if d[20] != 0x2F:
            raise ValueError("its lossless header is wrong")
        bits = int.from_bytes(d[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 1
    raise ValueError("an unknown WebP kind")


def _bmp(d: bytes, whole: bool = True) -> tuple[int, int, int]:
    (file_size,) = struct.unpack("<I", d[2:6])
    (offset,) = struct.unpack("<I", d[10:14])
    (header,) = struct.unpack("<I", d[14:18])
    if header == 12:
        width, height = struct.unpack("<HH", d[18:22])
    elif header >= 40:
        width, height = struct.unpack("<ii", d[18:26])
    else:
        raise ValueError("an unknown header")
    if (whole and len(d) < max(file_size, offset + 1)) or offset < 14 + header:
        raise ValueError("it is shorter than its header says")
    return width, abs(height), 1
