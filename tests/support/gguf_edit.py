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
