"""Images attached to a message: checked, converted where the model's reader cannot read
them, kept in the data folder by content, and which models can see them.

Every image is checked with `core/images.probe` when it is attached, so what is wrong
(corrupt, truncated, too big, HEIC...) is said before anything is sent. WebP and TIFF,
which libmtmd's stb_image cannot read, are converted to PNG with Qt on the way in; a pasted
picture (the clipboard's QImage) is saved as PNG.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QImage, QImageReader

from assistant.core import image_format, images
from assistant.core.projectors import projector_for
from assistant.core.types import ModelRef
from assistant.errors import ImageError

# names a drop or a paste treats as pictures (the probe decides by the bytes, never the name)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".gif", ".bmp", ".webp", ".heic", ".heif", ".avif",
                            ".tif", ".tiff"})
_EXT = {"png": "png", "jpeg": "jpg", "gif": "gif", "bmp": "bmp"}


@dataclass(frozen=True)
class Attached:
    path: Path  # the file the model will read (a WebP's PNG copy, a paste's PNG)
    name: str  # the name the user knows it by
    note: str = ""  # what the model sees when not the whole picture (an animation's first frame; a conversion)


def is_image_name(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def staging_dir() -> Path:
    """Where converted and pasted pictures wait until the message is sent."""
    d = Path(tempfile.gettempdir()) / "assistant-images"
    d.mkdir(parents=True, exist_ok=True)
    return d


def prepare(path: str | Path) -> Attached:
    """Check an image for attaching; ImageError says what is wrong and what to do."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise ImageError(f"The image {path.name} cannot be opened: {exc.strerror or exc}.", "Attach it again.") from exc
    kind = image_format.sniff(head) or ("tiff" if head[:4] in (b"II*\x00", b"MM\x00*") else None)
    if kind in _CONVERTED:
        return _converted(path, _CONVERTED[kind])
    info = images.probe(path)
    return Attached(path, path.name, info.note)


_CONVERTED = {"webp": "a WebP image", "tiff": "a TIFF image"}  # Qt reads them; stb_image does not


def _converted(path: Path, what: str) -> Attached:
    size = QImageReader(str(path)).size()  # from the header: nothing decoded yet
    if size.width() * size.height() > images.MAX_PIXELS:
        raise ImageError(f"The image {path.name} is {size.width():,} x {size.height():,} pixels, too large to convert "
                         f"from {what}.", "Save it as JPEG or PNG (any image viewer can) and attach it again: it is "
                         "then scaled down for the model.")
    image = QImage(str(path))
    if image.isNull():  # Qt reads WebP and TIFF through its image-format plugins
        raise ImageError(f"{path.name} is {what} that could not be read to convert it (damaged?).",
                         "Save it as PNG or JPEG (any image viewer can) and attach it again.")
    if image.width() * image.height() > images.MAX_PIXELS:
        raise ImageError(f"The image {path.name} is {image.width():,} x {image.height():,} pixels; images up to "
                         f"{images.MAX_PIXELS // 1_000_000} megapixels can be read.",
                         "Scale it down (for example to 4000 pixels on its longer side) and attach it again.")
    png = save_png(image, path.stem)
    images.probe(png)
    return Attached(png, path.name, f"It is {what}: the model reads a PNG copy of it.")


def save_png(image: QImage, stem: str = "pasted") -> Path:
    """A picture (pasted, or converted) as a PNG file named by its content."""
    target = staging_dir() / f"{stem}.png"
    tmp = target.with_suffix(".tmp.png")
    if not image.save(str(tmp), "PNG"):
        raise ImageError("The picture could not be saved as PNG to attach it.", "Check the free disk space and try again.")
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
    final = staging_dir() / f"{stem}-{digest}.png"
    tmp.replace(final)
    return final


def sees_images(model: ModelRef | None) -> bool:
    """The model reads pictures here: a GGUF model with its projector beside it (what the
    engine's factory loads with it)."""
    return model is not None and model.format == "gguf" and projector_for(model.path) is not None


def vision_models(models: list[ModelRef]) -> list[ModelRef]:
    """The installed models that can see, for the offer to switch."""
    return [m for m in models if sees_images(m)]
