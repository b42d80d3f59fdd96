"""Image files for the vision tests, written with zlib and struct (no imaging library):
PNG of any pixels, a PNG header that claims any size, GIFs of one or more frames."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bytes(pixels: np.ndarray) -> bytes:
    """An RGB PNG of an (h, w, 3) uint8 array."""
    h, w, _ = pixels.shape
    raw = b"".join(b"\0" + pixels[y].astype(np.uint8).tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b""))


def write_png(path: Path, pixels: np.ndarray) -> Path:
    path.write_bytes(png_bytes(pixels))
    return path


def noise(seed: int, w: int = 48, h: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def png_header_claiming(path: Path, w: int, h: int) -> Path:
    """A small file whose PNG header says w x h (a "decompression bomb" as it reaches a decoder)."""
    path.write_bytes(png_bytes_claiming(w, h))
    return path


def png_bytes_claiming(w: int, h: int) -> bytes:
    row = b"\0" + b"\0" * (w * 3)
    body = zlib.compress(row * 4)  # a few rows: the header alone is what is checked
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


def gif_bytes(frames: int, w: int = 8, h: int = 8) -> bytes:
    """A GIF of `frames` frames (a 2-colour palette, each frame one colour)."""
    out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    if frames > 1:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    for f in range(frames):
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 0.1 s
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, w, h, 0)
        out += b"\x02" + _lzw_one_colour(w * h, f % 2) + b"\x00"
    return out + b"\x3b"


def _lzw_one_colour(n: int, index: int) -> bytes:
    """LZW (min code size 2) of n pixels of one palette index: clear, then each pixel as a
    literal, with a clear before the table would grow past 3-bit codes."""
    bits, nbits, out = 0, 0, bytearray()

    def put(code: int, size: int) -> None:
        nonlocal bits, nbits
        bits |= code << nbits
        nbits += size
        while nbits >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            nbits -= 8

    put(4, 3)
    for i in range(n):
        put(index, 3)
        if i % 2 == 1:  # two literals add two codes (6, 7): clear before the next grows to 4 bits
            put(4, 3)
    put(5, 3)  # end of information
    if nbits:
        out.append(bits & 0xFF)
    data = bytes(out)
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255))


def halves(side: int) -> Any:
    """A pyvips picture, white on the left half and black on the right (what a scaled copy
    must still show); lazily computed, so 20,000 × 20,000 costs no memory until it is saved."""
    import pyvips

    x = pyvips.Image.xyz(side, side)[0]
    left = (x < side // 2).ifthenelse(255, 0).cast("uchar")
    return left.bandjoin([left, left])


def write_poster(path: Path, side: int = 20_000) -> Path:
    """A PNG of `side` × `side` pixels (400 megapixels by default) in about 12 MB."""
    halves(side).pngsave(str(path), compression=1)
    return path
