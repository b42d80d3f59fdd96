"""GGUF files written byte by byte for the header reader's tests: a few hundred bytes
each, any value of any type, any version, count or alignment, valid or not."""

from __future__ import annotations

import struct
from pathlib import Path

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_FMT = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i", FLOAT32: "<f", BOOL: "<?",
        UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}
Value = tuple[int, bytes]


def scalar(vtype: int, v: object) -> Value:
    return vtype, struct.pack(_FMT[vtype], v)


def u32(v: int) -> Value:
    return scalar(UINT32, v)


def i32(v: int) -> Value:
    return scalar(INT32, v)


def f32(v: float) -> Value:
    return scalar(FLOAT32, v)


def boolean(v: bool) -> Value:
    return scalar(BOOL, v)


def _str_bytes(v: str | bytes) -> bytes:
    b = v.encode() if isinstance(v, str) else v
    return struct.pack("<Q", len(b)) + b


def text(v: str | bytes) -> Value:
    return STRING, _str_bytes(v)


def array(etype: int, items: list) -> Value:  # type: ignore[type-arg]
    if etype == STRING:
        body = b"".join(_str_bytes(i) for i in items)
    elif etype == ARRAY:
        body = b"".join(p for _t, p in items)  # items: nested (ARRAY, payload) values
    else:
        body = b"".join(struct.pack(_FMT[etype], i) for i in items)
    return ARRAY, struct.pack("<IQ", etype, len(items)) + body


def tensor_bytes(shape: tuple[int, ...], ggml_type: int) -> int:
    if ggml_type not in GGMLQuantizationType._value2member_map_:
        return 0  # a type no reader knows: the file is refused before its data matters
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ggml_type)]
    n = 1
    for d in shape:
        n *= d
    return n // block * size


def build(kv: dict[str, Value], tensors: list[tuple[str, tuple[int, ...], int]] | None = None, *, version: int = 3,
          align: int = 32, n_tensors: int | None = None, n_kv: int | None = None, data: bool = True) -> bytes:
    """A GGUF file: header, metadata, tensor table, padding to `align`, then the tensor data
    (each tensor at an offset aligned to `align`), unless `data` is False."""
    tensors = tensors if tensors is not None else [("w", (32, 4), 0)]  # F32
    out = b"GGUF" + struct.pack("<I", version)
    out += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors, len(kv) if n_kv is None else n_kv)
    for key, (vtype, payload) in kv.items():
        out += _str_bytes(key) + struct.pack("<I", vtype) + payload
    offset, blobs = 0, []
    for name, shape, ggml_type in tensors:
        out += _str_bytes(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *shape)
        out += struct.pack("<IQ", ggml_type, offset)
        size = tensor_bytes(shape, ggml_type)
        blobs.append((offset, size))
        offset = (offset + size + align - 1) // align * align
    out += b"\0" * ((align - len(out) % align) % align)
    if data and blobs:
        body = bytearray(blobs[-1][0] + blobs[-1][1])
        out += bytes(body)
    return out


def model_kv(arch: str = "llama", **extra: Value) -> dict[str, Value]:
    kv: dict[str, Value] = {"general.architecture": text(arch), "general.name": text("Tiny"),
                            f"{arch}.block_count": u32(2), f"{arch}.context_length": u32(4096),
                            f"{arch}.embedding_length": u32(64), f"{arch}.attention.head_count": u32(4)}
    kv.update(extra)
    return kv


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
