"""Short names for people: a model id that is a file path or a long repo id becomes
something that fits on a button, with the full name kept for tooltips."""

from __future__ import annotations

ELLIPSIS = "…"
MODEL_NAME_LIMIT = 32


def elide_middle(text: str, limit: int) -> str:
    """'very-long-na…-name.gguf': the start and the end kept, the middle cut."""
    if limit < 2 or len(text) <= limit:
        return text if len(text) <= max(limit, 1) else text[: max(limit, 1)]
    keep = limit - 1
    head, tail = (keep + 1) // 2, keep // 2
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


def short_model_name(name: str | None, limit: int = MODEL_NAME_LIMIT) -> str:
    """The last part of a path or repo id, without '.gguf', cut in the middle past `limit`."""
    if not name:
        return ""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or name
    if base.lower().endswith(".gguf"):
        base = base[: -len(".gguf")] or base
    return elide_middle(base, limit)
