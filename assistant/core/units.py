"""How sizes are written for people: one format for the whole app, so a file never
shows two different numbers in two places."""

from __future__ import annotations


def format_bytes(n: int | float) -> str:
    """'1.2 GB'. Binary units with the usual short names, as OS tools and GPU drivers show them."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
