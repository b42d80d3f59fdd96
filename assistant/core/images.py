"""Images a user attaches: what they are, read from their headers, before any decoder
sees them.

llama.cpp's image loader (stb_image in libmtmd's helper) reads PNG, JPEG (baseline and
progressive), GIF (the first frame) and BMP. It decodes the whole image into RGB in
memory before the projector's preprocessing scales it down: a 20,000 x 20,000 image is
1.2 GB there, whatever size the projector wants. And what it cannot decode it hands on
to ffmpeg as a video, where ffmpeg is installed. So an image is checked here first, from
its bytes, with no decoder: its format (by its signature, never its name), its size in
pixels against a memory bound, a file that ends before its format's end marker
(truncated), and the cases to say plainly (animated GIF: the first frame is used; HEIC,
AVIF, WebP, TIFF: not supported).

Nothing here imports Qt or the engines; the chat window may call `probe` to tell the
user before a message is sent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ImageError

MAX_BYTES = 100 * 1024 * 1024  # the file is read whole into memory before decoding
MAX_PIXELS = 50_000_000  # 150 MB as decoded RGB; a 48-megapixel phone photo (8000 x 6000) fits
_CONVERT = "Save it as PNG or JPEG (any image viewer can) and attach it again."


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    format: str  # png / jpeg / gif / bmp
    width: int
    height: int
    size: int  # bytes
    note: str = ""  # what the model will see when it is not the whole file (an animation's first frame)


def no_vision_error(model_name: str) -> ImageError:
    """A model that cannot see was given images (the engines' one message)."""
    return ImageError(f"{model_name} cannot see images: it is a text-only model, or it was loaded without its "
                      "vision projector (mmproj).",
                      "Remove the images, or choose a vision model (Gemma 3 4B or larger, Mistral Small 3.1 or "
                      "later) with its projector.")


def probe(path: str | Path) -> ImageInfo:
    """Check an image the engine is to read; ImageError with what is wrong and what to do."""
    return read(path)[0]


def read(path: str | Path) -> tuple[ImageInfo, bytes]:
    """`probe`, and the file's bytes (read once) for the decoder."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"The image {path.name} cannot be opened: {exc.strerror or exc}.",
                         "Attach it again.") from exc
    if size > MAX_BYTES:
        raise ImageError(f"The image {path.name} is {size / 1024 ** 2:.0f} MB; images up to "
                         f"{MAX_BYTES // 1024 ** 2} MB can be attached.",
                         "Scale it down or save it as JPEG, and attach it again.")
    try:
        with path.open("rb") as f:
            data = f.read()
    except OSError as exc:
        raise ImageError(f"The image {path.name} cannot be read: {exc.strerror or exc}.", "Attach it again.") from exc
    return check(data, path), data


def check(data: bytes, path: Path) -> ImageInfo:
    """`probe` on bytes already read (the engine reads the file once and decodes these)."""
    name = path.name
    if not data:
        raise ImageError(f"The image {name} is empty.", "Attach the image again.")
    kind = sniff(data)
    if kind in _UNSUPPORTED:
        raise ImageError(f"{name} is {_UNSUPPORTED[kind]}, which the model's image reader does not support.", _CONVERT)
    if kind is None:
        raise ImageError(f"{name} is not an image in a format the model can read (PNG, JPEG, GIF or BMP).", _CONVERT)
    try:
        width, height, note = _READERS[kind](data)
    except _Unreadable as exc:
        raise ImageError(f"{name} is {exc.what}, which the model's image reader does not support.", _CONVERT) from exc
    except (struct.error, IndexError, ValueError) as exc:
        raise ImageError(f"The image {name} is damaged or truncated: its header cannot be read.",
                         "Open it in an image viewer to check it, or attach another copy.") from exc
    if width <= 0 or height <= 0:
        raise ImageError(f"The image {name} is damaged: it says it is {width} x {height} pixels.",
                         "Attach another copy of it.")
    if width * height > MAX_PIXELS:
        raise ImageError(f"The image {name} is {width:,} x {height:,} pixels; images up to "
                         f"{MAX_PIXELS // 1_000_000} megapixels can be read (the model sees far fewer: its "
                         "projector scales every image down).",
                         "Scale it down (for example to 4000 pixels on its longer side) and attach it again.")
    if not _ENDS[kind](data):
        raise ImageError(f"The image {name} is truncated: the file ends before the image does.",
                         "Download or copy it again, and attach the whole file.")
    return ImageInfo(path, kind, width, height, len(data), note)


def sniff(data: bytes) -> str | None:
    """The format by its signature: a supported one, an unsupported one we can name, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM") and len(data) >= 26:
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "heic"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


_UNSUPPORTED = {"webp": "a WebP image", "heic": "a HEIC/HEIF photo (the iPhone's format)",
                "avif": "an AVIF image", "tiff": "a TIFF image"}


def _png(data: bytes) -> tuple[int, int, str]:
    if data[12:16] != b"IHDR":
        raise ValueError("no IHDR")
    width, height = struct.unpack(">II", data[16:24])
    # an animated PNG says so in an acTL chunk before its first image data
    head = data[: data.find(b"IDAT")] if b"IDAT" in data else data
    note = "It is an animated PNG: the model sees its first frame only." if b"acTL" in head else ""
    return width, height, note


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SOF_READ = {0xC0, 0xC1, 0xC2}  # baseline, extended, progressive (stb_image's)


def _jpeg(data: bytes) -> tuple[int, int, str]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2: i + 4])
        if marker in _SOF:
            if marker not in _SOF_READ:
                raise _Unreadable("a lossless or arithmetic-coded JPEG")
            height, width = struct.unpack(">HH", data[i + 5: i + 9])
            return width, height, ""
        if marker == 0xDA:  # scan data before any frame header
            break
        i += 2 + length
    raise ValueError("no frame header")


def _gif(data: bytes) -> tuple[int, int, str]:
    width, height, flags = struct.unpack("<HHB", data[6:11])
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while i < len(data) and frames < 2:
        block = data[i]
        if block == 0x3B:
            break
        if block == 0x21:  # extension: label, then sub-blocks
            i = _skip_sub_blocks(data, i + 2)
        elif block == 0x2C:  # an image: descriptor, local colour table, LZW size, sub-blocks
            frames += 1
            lflags = data[i + 9]
            i += 10 + (3 << ((lflags & 7) + 1) if lflags & 0x80 else 0)
            i = _skip_sub_blocks(data, i + 1)
        else:
            raise ValueError("bad block")
    note = "It is an animated GIF: the model sees its first frame only." if frames > 1 else ""
    return width, height, note


def _skip_sub_blocks(data: bytes, i: int) -> int:
    while True:
        n = data[i]
        i += 1 + n
        if n == 0:
            return i


def _bmp(data: bytes) -> tuple[int, int, str]:
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height), ""  # a negative height: stored top-down


_READERS = {"png": _png, "jpeg": _jpeg, "gif": _gif, "bmp": _bmp}


def _png_end(data: bytes) -> bool:
    return b"IEND" in data[-64:]


def _jpeg_end(data: bytes) -> bool:
    return b"\xff\xd9" in data[-4096:]  # some cameras write a little past the end marker


def _gif_end(data: bytes) -> bool:
    return b"\x3b" in data[-16:]


def _bmp_end(data: bytes) -> bool:
    (declared,) = struct.unpack("<I", data[2:6])
    return declared == 0 or len(data) >= declared


_ENDS = {"png": _png_end, "jpeg": _jpeg_end, "gif": _gif_end, "bmp": _bmp_end}


class _Unreadable(ValueError):
    """A format variant the reader does not decode (said as such, not as damage)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
