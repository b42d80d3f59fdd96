"""Pictures too large to read whole (20,000 × 20,000 pixels, 200 MB files), scaled down
to a copy the engines and the cloud can take, within a memory bound.

llama.cpp's image reader (stb_image) decodes the whole picture before its projector
scales it: 20,000 × 20,000 pixels is 1.2 GB of RGB. So a picture over MAX_PIXELS, or a
file over image_format.MAX_IMAGE_BYTES, is first scaled down here to at most TARGET_SIDE
pixels on its longer side (every projector scales further: Gemma 3 to 896, Mistral
Small to 1540, Qwen2.5-VL to at most about 3584). libvips (pyvips with the pyvips-binary
wheel) does it: JPEG shrinks while it is decoded (DCT scaling), PNG, GIF and WebP stream
row by row, so the peak stays near 200 MB whatever the picture's size.

It runs in a process of its own (multiprocessing, spawn), with an address-space limit
where the OS has one: a hostile or damaged file costs that process, never the app, and a
decoder that wants more memory than MEMORY_BOUND fails there with a clear message.
libvips' untrusted loaders are blocked (only the format the header names is read), EXIF
rotation is applied, and an animation's first frame is used.

Used by the image store (chat/images.py: the window, the CLI and the API server all keep
images through it) and by the window as a picture is attached (off the GUI thread).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import image_format
from assistant.core.image_format import ImageInfo
from assistant.core.images import MAX_PIXELS  # the local engines' bound: more is scaled down
from assistant.errors import ImageError

MAX_SOURCE_BYTES = 256 * 1024 * 1024  # a file larger than this is refused before it is read
TARGET_SIDE = 4096  # the copy's longer side: more than any projector reads
MEMORY_BOUND = 2 * 1024 ** 3  # the scaling process's address space (Linux); it needs ~200 MB
TIMEOUT_S = 300.0
SHRINKABLE = ("png", "jpeg", "gif", "webp")  # libvips' loaders for these; not BMP
_HEAD = 1024 * 1024  # enough of a file to read its size from its header


@dataclass(frozen=True)
class Shrunk:
    path: Path
    format: str  # png / jpeg
    width: int
    height: int
    from_width: int
    from_height: int

    @property
    def note(self) -> str:
        return (f"Scaled down from {self.from_width:,} × {self.from_height:,} to {self.width:,} × {self.height:,} "
                "pixels to be read (the model sees fewer still).")


def needs_shrink(path: Path | str) -> ImageInfo | None:
    """The picture's header when it must be scaled down first; None when it can be read
    as it is (or is not a picture: the usual checks say what it is). ImageError when it
    is too large even for that."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with p.open("rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return None  # said by the usual checks, which open it again
    kind = image_format.sniff(head)
    if kind is None:
        return None
    big_file = size > image_format.MAX_IMAGE_BYTES
    if size > MAX_SOURCE_BYTES:
        raise ImageError(f"The image {p.name} is {size / 1e6:,.0f} MB; images up to {MAX_SOURCE_BYTES / 1e6:,.0f} MB "
                         "can be attached (larger ones are scaled down first).",
                         "Save a smaller copy (a JPEG, or fewer pixels) and attach that.")
    try:
        info: ImageInfo | None = image_format.head_info(head, p.name)
    except ImageError:
        if big_file:
            raise
        info = None  # a header past the first MiB: the whole file says
    if not big_file and info is not None and info.width * info.height <= MAX_PIXELS:
        return None  # read as it is: the usual checks read the whole file once
    if not big_file:  # to be scaled: the whole file is checked first (cut short, damaged)
        try:
            info = image_format.info_of(p.read_bytes(), p.name)
        except OSError:
            return None
        if info.width * info.height <= MAX_PIXELS:
            return None
    assert info is not None
    if kind not in SHRINKABLE:
        raise ImageError(f"The image {p.name} is {info.width:,} × {info.height:,} pixels ({size / 1e6:,.0f} MB), "
                         f"too large to read as a {kind.upper()} file.",
                         "Save it as JPEG or PNG (any image viewer can) and attach it again: it is then scaled "
                         "down for the model.")
    return info


def shrink(path: Path | str, dest_dir: Path | str, *, info: ImageInfo | None = None,
           cancel: threading.Event | None = None, max_side: int = TARGET_SIDE,
           max_bytes: int = image_format.MAX_IMAGE_BYTES, timeout: float = TIMEOUT_S,
           memory_bound: int = MEMORY_BOUND) -> Shrunk:
    """Scale the picture down to at most `max_side` pixels on its longer side, as a new
    PNG (pictures from PNG and GIF files) or JPEG file in `dest_dir` of at most
    `max_bytes` (a PNG that would be larger is saved as JPEG, at a lower quality if need
    be). ImageError when it cannot be read, is cut short, or the scaling process fails,
    is stopped or times out. `info`: what needs_shrink said of it (else it is read again)."""
    src = Path(path)
    info = info or needs_shrink(src) or image_format.image_info(src)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=".scaled-")
    os.close(fd)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, str(src), tmp, info.format, max_side, max_bytes, memory_bound),
                       name="image scaling", daemon=True)
    try:
        proc.start()
        child.close()
        what = f"{src.name} ({info.width:,} × {info.height:,} pixels)"
        result = _wait(parent, proc, what, cancel, timeout, memory_bound)
        fmt, width, height = result
        final = dest / f"{src.stem}-{width}x{height}-{os.path.getsize(tmp):x}.{image_format.EXTENSIONS[fmt]}"
        os.replace(tmp, final)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
        Path(tmp).unlink(missing_ok=True)
    return Shrunk(final, fmt, width, height, info.width, info.height)


def _wait(conn: multiprocessing.connection.Connection, proc: multiprocessing.process.BaseProcess, name: str,
          cancel: threading.Event | None, timeout: float, bound: int) -> tuple[str, int, int]:
    deadline = time.monotonic() + timeout
    while True:
        if cancel is not None and cancel.is_set():
            raise ImageError(f"Scaling down {name} was stopped.", "Attach it again to scale it down.")
        left = deadline - time.monotonic()
        if left <= 0:
            raise ImageError(f"Scaling down {name} took longer than {timeout:.0f} s, so it was stopped.",
                             "Save a smaller copy (a JPEG, or fewer pixels) and attach that.")
        if not multiprocessing.connection.wait([conn, proc.sentinel], min(left, 0.1)):
            continue
        try:
            msg = conn.recv() if conn.poll(0) else None
        except (EOFError, OSError):
            msg = None
        if msg is None:
            proc.join(5)
            raise ImageError(f"{name} could not be read to scale it down: the reader stopped (exit code "
                             f"{proc.exitcode}; a damaged file, or more than {bound / 1024 ** 2:,.0f} MB of memory needed).",
                             "Open it in an image viewer and save it again as JPEG, then attach that.")
        if msg[0] == "error":
            raise ImageError(f"{name} could not be read to scale it down: {msg[1]}.",
                             "Open it in an image viewer and save it again as JPEG, then attach that.")
        return str(msg[1]), int(msg[2]), int(msg[3])


def _child(conn: multiprocessing.connection.Connection, src: str, dest: str, kind: str, max_side: int,
           max_bytes: int, bound: int) -> None:
    """The scaling process: one picture, then it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (bound, bound))
    os.environ["VIPS_BLOCK_UNTRUSTED"] = "1"  # only libvips' fuzzed loaders, never ImageMagick and the like
    os.environ.setdefault("VIPS_CONCURRENCY", "1")  # one thread: the least memory, and the app keeps a core
    try:
        import pyvips

        pyvips.cache_set_max(0)
        image = pyvips.Image.thumbnail(src, max_side, height=max_side, size="down", fail_on="truncated")
        conn.send(_save(image, kind, dest, max_bytes))
    except Exception as exc:  # noqa: BLE001 - said to the parent, which raises an ImageError
        conn.send(("error", _reason(exc)))
    finally:
        conn.close()


def _save(image: Any, kind: str, dest: str, max_bytes: int) -> tuple[str, str, int, int]:
    """Encode the scaled picture (a pyvips.Image, untyped) to `dest`, within max_bytes."""
    im = image.copy_memory()  # the scaled picture (at most 67 MB): a streamed one cannot be encoded twice
    if kind in ("png", "gif"):  # lossless in, lossless out, unless that is too large to keep
        data = im.write_to_buffer(".png[compression=6]")
        if len(data) <= max_bytes:
            Path(dest).write_bytes(data)
            return ("done", "png", im.width, im.height)
    if im.hasalpha():
        im = im.flatten(background=[255, 255, 255])
    for quality in (90, 80, 70, 60, 50, 40):
        data = im.write_to_buffer(f".jpg[Q={quality}]")
        if len(data) <= max_bytes:
            break
    else:
        raise ValueError(f"it is still over {max_bytes / 1e6:.1f} MB as a JPEG of quality 40")
    Path(dest).write_bytes(data)
    return ("done", "jpeg", im.width, im.height)


def _reason(exc: Exception) -> str:
    """libvips' message, first line, without its "VipsForeignLoad…:" prefixes."""
    text = str(getattr(exc, "detail", "") or exc).strip().splitlines()
    line = next((t for t in text if t.strip()), type(exc).__name__)
    return line.split(": ", 1)[-1].strip().rstrip(".") or type(exc).__name__
