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

from assistant.core import image_format
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
    """`probe` on bytes already read (the engine reads the file once and decodes these).
    What the file is comes from core/image_format.py (the one header reader: format by
    signature, size, frames, a file cut short or damaged, HEIC and the like named); here
    are the local engines' own limits on top: what stb_image reads, and a memory bound."""
    name = path.name
    if not data:
        raise ImageError(f"The image {name} is empty.", "Attach the image again.")
    if image_format.sniff(data) == "webp":  # said as such, whatever state the file is in
        raise ImageError(f"{name} is a WebP image, which the model's image reader does not support.", _CONVERT)
    info = image_format.info_of(data, name)
    if info.format == "jpeg" and _jpeg_coding(data) not in _SOF_READ:
        raise ImageError(f"{name} is a lossless or arithmetic-coded JPEG, which the model's image reader does not "
                         "support.", _CONVERT)
    if info.format == "bmp" and not _bmp_whole(data):
        raise ImageError(f"The image {name} is truncated: the file ends before the image does.",
                         "Download or copy it again, and attach the whole file.")
    width, height = info.width, info.height
    if width * height > MAX_PIXELS:
        raise ImageError(f"The image {name} is {width:,} x {height:,} pixels; images up to "
                         f"{MAX_PIXELS // 1_000_000} megapixels can be read (the model sees far fewer: its "
                         "projector scales every image down).",
                         "Scale it down (for example to 4000 pixels on its longer side) and attach it again.")
    note = f"It is an animated {info.format.upper()}: the model sees its first frame only." if info.frames > 1 else ""
    return ImageInfo(path, info.format, width, height, len(data), note)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SOF_READ = {0xC0, 0xC1, 0xC2}  # baseline, extended, progressive (stb_image's)


def _jpeg_coding(data: bytes) -> int | None:
    """The JPEG's frame marker (its coding), found by walking its segments."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF or marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 1 if marker == 0xFF else 2
            continue
        if marker in _SOF:
            return marker
        if marker == 0xDA:
            return None
        i += 2 + struct.unpack(">H", data[i + 2: i + 4])[0]
    return None


def _bmp_whole(data: bytes) -> bool:
    (declared,) = struct.unpack("<I", data[2:6])
    return declared == 0 or len(data) >= declared
