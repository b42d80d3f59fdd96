"""Reading and checking a GGUF file before any engine touches it.

Walks the header with the `gguf` package's own type tables. Nothing in the file is executed;
the chat template is returned as text and rendered later in a sandbox.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.errors import ModelFormatError, ModelNotFoundError

GGUF_MAGIC = b"GGUF"
SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    file_bytes: int
    architecture: str
    name: str
    block_count: int | None
    context_length: int | None
    chat_template: str | None
    license: str | None
    quantization: str | None
    n_tensors: int
    metadata: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _sniff(path: Path) -> str:
    """A guess at what a non-GGUF file is, to make the message useful."""
    try:
        head = path.read_bytes()[:64] if path.stat().st_size < 64 else path.open("rb").read(64)
    except OSError:
        return ""
    low = head.lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html")):
        return " It looks like a web page: the download probably failed."
    if low.startswith(b"{"):
        return " It looks like a JSON text file."
    if len(head) >= 8 and head[8:9] == b"{":
        return " It looks like a safetensors file: use a GGUF version of this model."
    if head.startswith(b"PK"):
        return " It looks like a zip archive."
    return ""


def check_gguf_header(path: Path) -> int:
    """Cheap checks that need no parsing; returns the file size."""
    if not path.exists():
        raise ModelNotFoundError(
            f"Model file not found: {path}",
            "Check the path, or pick a model from the library.",
        )
    if path.is_dir():
        raise ModelFormatError(
            f"{path} is a folder, not a GGUF file.",
            "Pick the .gguf file inside it (MLX folders run only on Apple Silicon).",
        )
    size = path.stat().st_size
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFormatError(
            f"{path.name} is not a GGUF model file.{_sniff(path)}",
            f"File: {path}. Download the model again or choose a .gguf file.",
        )
    return size


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# arrays longer than this (token lists, merges) are skipped, not kept
_MAX_KEPT_ARRAY = 64


class _Cursor:
    """A GGUF header walker over an mmap. gguf.GGUFReader builds a numpy view per
    vocabulary entry, which takes ~16 s for Gemma's 262k tokens; this takes well under 1 s."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def scalar(self, fmt: str) -> Any:
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.scalar("<Q")
        raw = self.buf[self.pos : self.pos + n]
        if len(raw) != n:
            raise ValueError("string runs past the end of the file")
        self.pos += n
        return raw.decode("utf-8", "replace")

    def skip_string(self) -> None:
        self.pos += 8 + struct.unpack_from("<Q", self.buf, self.pos)[0]

    def value(self, vtype: int) -> Any:
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, count = self.scalar("<I"), self.scalar("<Q")
            if count <= _MAX_KEPT_ARRAY:
                return [self.value(etype) for _ in range(count)]
            if etype == _STRING:
                for _ in range(count):
                    self.skip_string()
            elif etype in _SCALARS:
                self.pos += struct.calcsize(_SCALARS[etype]) * count
            else:
                raise ValueError(f"unsupported array element type {etype}")
            return None
        if vtype not in _SCALARS:
            raise ValueError(f"unknown value type {vtype}")
        return self.scalar(_SCALARS[vtype])


def _parse(path: Path) -> tuple[dict[str, Any], int, int]:
    """Return (metadata, tensor count, end of tensor data as the header declares it)."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        cur = _Cursor(buf)
        cur.pos = 4
        version = cur.scalar("<I")
        if version not in (2, 3):
            raise ValueError(f"unsupported GGUF version {version}")
        n_tensors, n_kv = cur.scalar("<Q"), cur.scalar("<Q")
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cur.string()
            meta[key] = cur.value(cur.scalar("<I"))
        data_end = 0
        for _ in range(n_tensors):
            cur.skip_string()
            n_dims = cur.scalar("<I")
            dims = struct.unpack_from(f"<{n_dims}Q", buf, cur.pos)
            cur.pos += 8 * n_dims
            ttype, offset = cur.scalar("<I"), cur.scalar("<Q")
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
            n_elems = 1
            for d in dims:
                n_elems *= d
            data_end = max(data_end, offset + n_elems // block * type_size)
        align = int(meta.get("general.alignment") or 32)
        data_start = (cur.pos + align - 1) // align * align
        return meta, n_tensors, data_start + data_end


def read_gguf(path: Path) -> GgufInfo:
    """Parse the header and tensor table; raise ModelFormatError when the file is
    damaged or incomplete (truncated downloads are the usual case)."""
    check_gguf_header(path)
    st = path.stat()
    return _read_cached(path.absolute(), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _read_cached(path: Path, size: int, _mtime_ns: int) -> GgufInfo:
    # keyed by size and mtime: a re-downloaded file is read again
    try:
        meta, n_tensors, data_end = _parse(path)
    except (ValueError, KeyError, struct.error, OSError) as exc:
        raise ModelFormatError(
            f"{path.name} is damaged or incomplete and cannot be read ({exc}).",
            f"File: {path}. Download it again.",
        ) from exc
    if data_end > size and SHARD_RE.search(path.name) is None:
        raise ModelFormatError(
            f"{path.name} is incomplete: it has {size:,} bytes but its tensors need {data_end:,}.",
            f"File: {path}. The download was probably cut short: download it again.",
        )
    arch = str(meta.get("general.architecture") or "")
    quant = None
    ftype = meta.get("general.file_type")
    if isinstance(ftype, int):
        from gguf import LlamaFileType

        try:
            quant = LlamaFileType(ftype).name.removeprefix("MOSTLY_")
        except ValueError:
            quant = None

    def as_int(key: str) -> int | None:
        v = meta.get(key)
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def as_str(key: str) -> str | None:
        v = meta.get(key)
        return v if isinstance(v, str) and v else None

    return GgufInfo(
        path=path,
        file_bytes=size,
        architecture=arch,
        name=as_str("general.name") or path.stem,
        block_count=as_int(f"{arch}.block_count"),
        context_length=as_int(f"{arch}.context_length"),
        chat_template=as_str("tokenizer.chat_template"),
        license=as_str("general.license"),
        quantization=quant,
        n_tensors=n_tensors,
        metadata={k: v for k, v in meta.items() if v is not None},
    )


def shard_paths(path: Path) -> list[Path]:
    """All parts of a split GGUF (model-00001-of-00003.gguf), or just [path]."""
    m = SHARD_RE.search(path.name)
    if not m:
        return [path]
    total = int(m.group(2))
    stem = path.name[: m.start()]
    return [path.with_name(f"{stem}-{i:05d}-of-{total:05d}.gguf") for i in range(1, total + 1)]
