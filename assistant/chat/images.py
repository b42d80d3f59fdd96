"""The chat's images: files in the data folder named by their content, and which message has which.

An image is kept once, as its original bytes, at `<data>/images/<sha256>.<ext>`: the
same picture attached twice (or in two chats) is one file. The SQLite rows hold only
the hash and what was read from the header (table message_images, migration 10, one
row per image of a message, ON DELETE CASCADE with it). Deleting messages (a chat, the
trash, edit and regenerate) removes the files that no remaining message uses, under the
store's lock, so an image being attached meanwhile is never lost (attach_images checks
the file is there).

Validation on the way in (core/image_format.py): PNG, JPEG, GIF, WebP, BMP by their
magic bytes; HEIC, AVIF, TIFF, SVG, PDF named and refused; a picture over 50 megapixels or
a file over 50 MiB (up to 256 MiB) is kept as a copy scaled down to 4,096 pixels
(core/image_shrink.py: libvips in a process of its own), `StoredImage.scaled_from` says from
what size; damaged or
cut-short files refused with an ImageError that says so. An animated image is kept;
`StoredImage.note` says that models see its first frame.

How the UI attaches images to a user message: `store.images.add_file(path)` when the
user picks, drops or pastes (the ImageError is shown at once, before anything is sent),
then `run_turn(..., user_images=[...])` (or `run_cloud_turn`), which stores the user
message and `attach_images` in turn. `history_messages` gives them back as
`Message.images` (paths).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.core.image_format import EXTENSIONS, MAX_IMAGE_BYTES, ImageInfo, image_info, info_of, too_big
from assistant.core.image_shrink import needs_shrink, shrink
from assistant.core.images import MAX_PIXELS
from assistant.errors import ImageError, StorageError

__all__ = ["MAX_IMAGE_BYTES", "ImageInfo", "ImageRows", "ImageStore", "StoredImage", "image_info"]


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    format: str  # png / jpeg / gif / webp / bmp
    width: int
    height: int
    frames: int
    size: int  # bytes
    name: str  # the name it was attached as (shown to the user; not part of its identity)
    path: Path
    scaled_from: tuple[int, int] | None = None  # the original's size, when a scaled-down copy was kept

    @property
    def note(self) -> str:
        if self.scaled_from is not None:
            w, h = self.scaled_from
            return f"Scaled down from {w:,} × {h:,} to {self.width:,} × {self.height:,} pixels to be read."
        return ImageInfo(self.format, self.width, self.height, self.frames).note

    @property
    def label(self) -> str:
        """'photo.jpg (1.2 MB, 4000 × 3000)', for previews and lists."""
        return f"{self.name or self.path.name} ({human_size(self.size)}, {self.width} × {self.height})"


def human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


class ImageStore:
    """Image files by content hash in one folder (made when the first image comes)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, sha256: str, fmt: str) -> Path:
        return self.folder / f"{sha256}.{EXTENSIONS.get(fmt, fmt)}"

    def add_file(self, path: Path | str, name: str | None = None) -> StoredImage:
        """Check and keep an image file; ImageError when it cannot be used. A picture too
        large to read whole (core/image_shrink.py) is kept as a scaled-down copy."""
        p = Path(path)
        big = needs_shrink(p)
        if big is not None:
            return self._add_scaled(p, big, name or p.name)
        try:
            size = p.stat().st_size
            if size > MAX_IMAGE_BYTES:  # refused before a byte is read
                raise too_big(p.name, size)
            data = p.read_bytes()
        except OSError as exc:
            raise ImageError(f"The image {p.name} cannot be read ({exc.strerror or exc}).",
                             "Check that the file exists and is readable.") from exc
        return self.add_bytes(data, name or p.name)

    def add_bytes(self, data: bytes, name: str = "") -> StoredImage:
        """Check and keep an image given as bytes (a paste, an API request)."""
        info = info_of(data, name or "The image") if len(data) <= MAX_IMAGE_BYTES else None
        if info is None or info.width * info.height > MAX_PIXELS:  # scaled down from a file, as add_file does
            with tempfile.TemporaryDirectory(prefix="assistant-scaling-") as tmp:
                whole = Path(tmp) / (re.sub(r"[^\w.-]", "_", Path(name).name)[:80] or "image")
                whole.write_bytes(data)
                return self.add_file(whole, name) if info is None else self._add_scaled(whole, info, name or whole.name)
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha, info.format)
        if not target.exists():
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                    os.replace(tmp, target)  # whole or absent, never half a file
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            except OSError as exc:
                raise StorageError(f"Could not keep the image in {self.folder} ({exc.strerror or exc}).",
                                   "Free some disk space, or check that the data folder is writable.") from exc
        return StoredImage(sha, info.format, info.width, info.height, info.frames, len(data), name, target)

    def _add_scaled(self, path: Path, info: ImageInfo, name: str) -> StoredImage:
        """Keep a scaled-down copy of a picture too large to read whole (`info`: its header)."""
        with tempfile.TemporaryDirectory(prefix="assistant-scaling-") as tmp:
            s = shrink(path, tmp, info=info)
            kept = self.add_file(s.path, name)
        return replace(kept, scaled_from=(s.from_width, s.from_height))

    def remove(self, files: Iterable[tuple[str, str]]) -> None:
        """Delete the files of these (sha256, format) pairs; one already gone is fine."""
        for sha, fmt in files:
            try:
                self.path_for(sha, fmt).unlink(missing_ok=True)
            except OSError:
                pass  # a locked file (Windows) stays until the next delete that names it


class TempImageStore(ImageStore):
    """An ImageStore in a temporary folder, removed by `close` (the API server's per-request images)."""

    def __init__(self) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="assistant-images-")))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


IMAGE_COLS = "message_id, position, sha256, format, width, height, frames, bytes, name"


class ImageRows:
    """ChatStore's part for images (mixed in): the rows, the "never send images" mark, and
    the clean-up of files no message uses."""

    images: ImageStore
    _lock: threading.RLock

    if TYPE_CHECKING:
        def _tx(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...
        def _read(self, action: str) -> AbstractContextManager[sqlite3.Connection]: ...
        def _update_conversation(self, conversation_id: int, assignment: str, args: tuple[object, ...],
                                 action: str) -> None: ...

    def attach_images(self, message_id: int, images: Sequence[StoredImage]) -> None:
        """The images of a user message, in order (each one kept by `images.add_*` first)."""
        with self._tx("save a message's images") as c:
            start = c.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM message_images WHERE message_id = ?",
                              (message_id,)).fetchone()[0]
            for i, im in enumerate(images):
                if not self.images.path_for(im.sha256, im.format).exists():
                    raise ImageError(f"The image {im.name or im.sha256[:12]} is no longer in the data folder.",
                                     "Attach it again.")
                c.execute(f"INSERT INTO message_images({IMAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (message_id, start + i, im.sha256, im.format, im.width, im.height, im.frames, im.size, im.name))

    def message_images(self, message_id: int) -> list[StoredImage]:
        with self._read("read a message's images") as c:
            rows = c.execute(f"SELECT {IMAGE_COLS} FROM message_images WHERE message_id = ? ORDER BY position",
                             (message_id,)).fetchall()
        return [self._image(r) for r in rows]

    def conversation_images(self, conversation_id: int) -> dict[int, list[StoredImage]]:
        """Every message's images in a conversation, by message id (one query for the history)."""
        with self._read("read a conversation's images") as c:
            rows = c.execute(f"SELECT {', '.join('i.' + k for k in IMAGE_COLS.split(', '))} FROM message_images i"
                             " JOIN messages m ON m.id = i.message_id WHERE m.conversation_id = ?"
                             " ORDER BY i.message_id, i.position", (conversation_id,)).fetchall()
        out: dict[int, list[StoredImage]] = {}
        for r in rows:
            out.setdefault(int(r[0]), []).append(self._image(r))
        return out

    def set_never_images(self, conversation_id: int, never: bool) -> None:
        """Mark a chat "never send images": the cloud gets its text only."""
        self._update_conversation(conversation_id, "never_images = ?", (int(never),), "change a conversation")

    def never_images(self, conversation_id: int) -> bool:
        with self._read("read a conversation") as c:
            row = c.execute("SELECT never_images FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return bool(row and row[0])

    def _image(self, r: Sequence[Any]) -> StoredImage:
        sha, fmt = str(r[2]), str(r[3])
        return StoredImage(sha, fmt, int(r[4]), int(r[5]), int(r[6]), int(r[7]), str(r[8] or ""),
                           self.images.path_for(sha, fmt))

    # -- clean-up ------------------------------------------------------------------------
    @staticmethod
    def _held_by(c: sqlite3.Connection, where: str, args: tuple[object, ...],
                 conversations: str = "") -> set[tuple[str, str]]:
        """The images of the messages `where` picks (m: messages), before they are deleted;
        with `conversations` (a condition on conversation_id), those of the exchanges the
        chats keep set aside by edits (chat/exchanges.py) too."""
        rows = c.execute("SELECT DISTINCT i.sha256, i.format FROM message_images i JOIN messages m"
                         f" ON m.id = i.message_id WHERE {where}", args).fetchall()
        held = {(str(r[0]), str(r[1])) for r in rows}
        if conversations:
            for (text,) in c.execute(f"SELECT exchange FROM exchange_versions WHERE {conversations}", args):
                held |= _images_in_exchange(text)
        return held

    @staticmethod
    def _unused(c: sqlite3.Connection, held: set[tuple[str, str]]) -> list[tuple[str, str]]:
        """Of `held`, the images that no remaining message, nor an exchange set aside, uses."""
        return [(sha, fmt) for sha, fmt in sorted(held)
                if c.execute("SELECT 1 FROM message_images WHERE sha256 = ? LIMIT 1", (sha,)).fetchone() is None
                and c.execute("SELECT 1 FROM exchange_versions WHERE instr(exchange, ?) > 0 LIMIT 1",
                              (sha,)).fetchone() is None]


def _images_in_exchange(text: str) -> set[tuple[str, str]]:
    """The images an exchange set aside names (its JSON, nested exchanges included)."""
    try:
        packed = json.loads(text)
    except ValueError:
        return set()
    out = {(str(im["sha256"]), str(im["format"])) for im in packed.get("images", [])}
    for e in packed.get("exchanges", []):
        out |= _images_in_exchange(e.get("exchange", ""))
    return out
