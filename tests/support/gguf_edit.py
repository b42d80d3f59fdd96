"""Make real-but-bad GGUF files from a good one, by rewriting its header.

The tensor data is copied unchanged; only metadata changes. This is how a hostile
or broken model file looks in the wild (a template that runs code, an architecture
llama.cpp does not know, a file cut short).
"""

from __future__ import annotations

import mmap
import shutil
import struct
from pathlib import Path

from assistant.core.gguf_meta import _ARRAY, _STRING, _Cursor


def _kv_spans(buf: mmap.mmap) -> tuple[list[tuple[str, int, int]], int, int, int]:
    cur = _Cursor(buf)
    cur.pos = 4
    cur.scalar("<I")
    n_tensors, n_kv = cur.scalar("<Q"), cur.scalar("<Q")
    spans = []
    for _ in range(n_kv):
        start = cur.pos
        key = cur.string()
        vtype = cur.scalar("<I")
        if vtype == _ARRAY:
            # walk the array without keeping it
            etype, count = cur.scalar("<I"), cur.scalar("<Q")
            for _ in range(count):
                cur.value(etype)
        else:
            cur.value(vtype)
        spans.append((key, start, cur.pos))
    kv_end = cur.pos
    return spans, n_tensors, kv_end, n_kv


def _string_kv(key: str, value: str) -> bytes:
    k, v = key.encode(), value.encode()
    return struct.pack("<Q", len(k)) + k + struct.pack("<I", _STRING) + struct.pack("<Q", len(v)) + v


def with_string_metadata(src: Path, dst: Path, values: dict[str, str]) -> Path:
    """Copy `src` to `dst` with string metadata keys set (added or replaced)."""
    with src.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        spans, n_tensors, kv_end, _ = _kv_spans(buf)
        cur = _Cursor(buf)
        cur.pos = kv_end
        for _ in range(n_tensors):  # find the end of the tensor table
            cur.skip_string()
            n_dims = cur.scalar("<I")
            cur.pos += 8 * n_dims + 4 + 8
        info_end = cur.pos
        align = 32
        data_start = (info_end + align - 1) // align * align
        kept = [buf[s:e] for key, s, e in spans if key not in values]
        added = [_string_kv(k, v) for k, v in values.items()]
        header = b"GGUF" + buf[4:8] + struct.pack("<QQ", n_tensors, len(kept) + len(added))
        body = b"".join(kept + added) + buf[kv_end:info_end]
        head = header + body
        head += b"\0" * ((align - len(head) % align) % align)
        with dst.open("wb") as out:
            out.write(head)
            out.write(buf[data_start:])
    return dst


def truncated_copy(src: Path, dst: Path, keep_bytes: int) -> Path:
    with src.open("rb") as fh, dst.open("wb") as out:
        out.write(fh.read(keep_bytes))
    return dst


def sparse_huge_copy(src: Path, dst: Path, size: int) -> Path:
    """A file with `src`'s header and a declared size far beyond any RAM (sparse on disk)."""
    shutil.copyfile(src, dst)
    with dst.open("r+b") as fh:
        fh.truncate(size)
    return dst


# -- raw metadata values, for hostile headers -------------------------------------------
UINT32, INT32, FLOAT32, STRING, ARRAY, UINT64 = 4, 5, 6, 8, 9, 10


def u32(v: int) -> tuple[int, bytes]:
    return UINT32, struct.pack("<I", v)


def f32(v: float) -> tuple[int, bytes]:
    return FLOAT32, struct.pack("<f", v)


def text(v: str | bytes) -> tuple[int, bytes]:
    b = v.encode() if isinstance(v, str) else v
    return STRING, struct.pack("<Q", len(b)) + b


def nested_array(depth: int) -> tuple[int, bytes]:
    """An array of an array of ... `depth` levels, the innermost one empty."""
    return ARRAY, struct.pack("<IQ", ARRAY, 1) * (depth - 1) + struct.pack("<IQ", UINT32, 0)


def with_metadata(src: Path, dst: Path, values: dict[str, tuple[int, bytes] | None], *, data: bool = True) -> Path:
    """Copy `src` to `dst` with metadata keys set to raw (type, payload) values (None: the
    key left out). With
    `data` False the tensor data is a sparse hole of the same size (header checks only,
    and no disk space used)."""
    with src.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        spans, n_tensors, kv_end, _ = _kv_spans(buf)
        cur = _Cursor(buf)
        cur.pos = kv_end
        for _ in range(n_tensors):
            cur.skip_string()
            n_dims = cur.scalar("<I")
            cur.pos += 8 * n_dims + 4 + 8
        info_end = cur.pos
        align = 32
        data_start = (info_end + align - 1) // align * align
        kept = [buf[s:e] for key, s, e in spans if key not in values]
        added = [struct.pack("<Q", len(k.encode())) + k.encode() + struct.pack("<I", v[0]) + v[1]
                 for k, v in values.items() if v is not None]
        header = b"GGUF" + buf[4:8] + struct.pack("<QQ", n_tensors, len(kept) + len(added))
        head = header + b"".join(kept + added) + buf[kv_end:info_end]
        head += b"\0" * ((align - len(head) % align) % align)
        with dst.open("wb") as out:
            out.write(head)
            if data:
                out.write(buf[data_start:])
            else:
                out.truncate(len(head) + len(buf) - data_start)
    return dst


def patched_header(src: Path, dst: Path, offset: int, data: bytes, keep_bytes: int = 1_000_000) -> Path:
    """The first `keep_bytes` of `src` with `data` written at `offset` (header fields)."""
    with src.open("rb") as fh:
        head = bytearray(fh.read(keep_bytes))
    head[offset : offset + len(data)] = data
    dst.write_bytes(bytes(head))
    return dst
