"""An MCP tool result as the text a model reads: text parts joined, images, audio and
resources described in words, and a result over the size cap cut with a note saying so."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_RESULT_BYTES = 1024 * 1024  # of UTF-8 text


@dataclass(frozen=True)
class ToolResult:
    """What a call gave back: `text` for the model (cut to the cap, then a note),
    `is_error` when the tool said it failed, `size` the bytes of text before any cut."""

    text: str
    is_error: bool = False
    cut: bool = False
    size: int = 0


def format_size(n: int) -> str:
    """1048576 -> "1 MB", 1536 -> "1.5 KB", 12 -> "12 bytes" (1024-based, as file sizes)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            value = f"{n / scale:.1f}".rstrip("0").rstrip(".")
            return f"{value} {unit}"
    return f"{n} byte" + ("" if n == 1 else "s")


def result_from_mcp(result: Any, max_bytes: int = DEFAULT_MAX_RESULT_BYTES) -> ToolResult:
    """A `CallToolResult` of the SDK as a ToolResult."""
    parts = [describe_content(c) for c in (result.content or [])]
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return cut_text("\n".join(parts), bool(result.is_error), max_bytes)


def cut_text(text: str, is_error: bool, max_bytes: int) -> ToolResult:
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    if size <= max_bytes:
        return ToolResult(text, is_error, False, size)
    kept = data[:max_bytes].decode("utf-8", "ignore")  # a character cut in two is dropped
    note = f"(cut: the tool returned {format_size(size)}; the first {format_size(max_bytes)} is shown)"
    return ToolResult(f"{kept}\n{note}", is_error, True, size)


def describe_content(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {format_size(_b64_size(block.data))}]"
    if kind == "resource":
        res = block.resource
        text = getattr(res, "text", None)
        if text is not None:
            return f"[resource {res.uri}]\n{text}"
        return f"[resource {res.uri}: {res.mime_type or 'binary'}, {format_size(_b64_size(res.blob))}]"
    if kind == "resource_link":
        name = getattr(block, "name", "") or ""
        return f"[link to the resource {block.uri}" + (f" ({name})" if name else "") + "]"
    return f"[a {kind or 'content'} part this app cannot show]"


def _b64_size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)
