"""How the terminal commands print listings and progress: aligned tables or JSON on
stdout (scripts read stdout), questions, progress and errors on stderr."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from assistant.cli.common import UserRefused
from assistant.core.units import format_bytes


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None) -> None:
    """Columns padded to their widest cell; the last column is not padded."""
    out = out or sys.stdout
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        line = "  ".join(c.ljust(w) if i < len(r) - 1 else c for i, (c, w) in enumerate(zip(r, widths)))
        print(line.rstrip(), file=out)


def confirm(question: str, *, yes: bool, what: str = "this") -> None:
    """Ask on the terminal; UserRefused on no, or when there is no terminal to ask on."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserRefused(f"{question} No terminal to ask on, so nothing was done.",
                          f"Pass --yes to agree to {what} in a script.")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UserRefused("Nothing was done.", "")


def eta_words(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s left"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min left"
    return f"{seconds / 3600:.1f} h left"


class Progress:
    """A bar redrawn in place on a terminal; plain lines when stderr is piped (each new
    message, and every `step` of the bytes)."""

    def __init__(self, label: str, out: TextIO | None = None, *, tty: bool | None = None, step: float = 0.1) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty() if tty is None else tty
        self.label = label
        self.step = step
        self._message = ""
        self._next_share = step
        self._drawn = False
        self._last_draw = 0.0

    def message(self, text: str) -> None:
        if text and text != self._message:
            self._message = text
            self._clear()
            print(f"{self.label}: {text}", file=self.out, flush=True)

    def update(self, done: int, total: int, speed_bps: float = 0.0, eta_s: float | None = None) -> None:
        share = done / total if total else 0.0
        tail = f"{format_bytes(done)} of {format_bytes(total)}"
        if speed_bps:
            tail += f" · {format_bytes(speed_bps)}/s"
        if eta := eta_words(eta_s):
            tail += f" · {eta}"
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and done < total:
                return
            self._last_draw = now
            width = max(10, min(30, shutil.get_terminal_size((80, 20)).columns - 60))  # steady as the text changes
            filled = int(width * share)
            self.out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {share:4.0%} {tail}\x1b[K")
            self.out.flush()
            self._drawn = True
        elif share >= self._next_share or (total and done >= total and self._next_share <= 1.0):
            while self._next_share <= share:
                self._next_share += self.step
            print(f"{self.label}: {share:.0%} ({tail})", file=self.out, flush=True)

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.out.write("\r\x1b[K")
            self._drawn = False

    def close(self) -> None:
        if self.tty and self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False
