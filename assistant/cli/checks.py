"""Checks of what a terminal user typed, before any model is loaded.

Numbers outside what the engines accept (`--max-tokens 0`, `--temperature nan`,
`--ctx -5`) are refused with the allowed range. Text that is not valid UTF-8 (a prompt
in another encoding: Python hands such argv bytes over as lone surrogates) would fail
when it is saved; the bad bytes become U+FFFD and the user is told.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import TextIO

from assistant.errors import AssistantError

MAX_TOKENS_RANGE = (1, 1_000_000)
TEMPERATURE_RANGE = (0.0, 5.0)
CTX_RANGE = (256, 10_000_000)

_SURROGATES = re.compile("[\ud800-\udfff]")
NOT_UTF8_NOTE = "Note: the {what} was not valid UTF-8; the bad bytes were replaced with \ufffd (U+FFFD)."


class OptionError(AssistantError):
    """A command-line value outside its allowed range."""


def _check_int(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise OptionError(
            f"{name} must be a whole number from {low:,} to {high:,} (got {value}).",
            f"For example: {name} {max(low, min(high, 512 if name == '--max-tokens' else 4096))}",
        )


def check_args(args: argparse.Namespace) -> None:
    """Refuse out-of-range numbers; clean the text options (see clean_text)."""
    _check_int("--max-tokens", getattr(args, "max_tokens", None), *MAX_TOKENS_RANGE)
    _check_int("--ctx", getattr(args, "ctx", None), *CTX_RANGE)
    t = getattr(args, "temperature", None)
    low, high = TEMPERATURE_RANGE
    if t is not None and (not math.isfinite(t) or not low <= t <= high):
        raise OptionError(
            f"--temperature must be a number from {low:g} to {high:g} (got {t}).",
            "0 always picks the likeliest word; 0.7 is a good default.",
        )
    if getattr(args, "system", None) is not None:
        args.system = clean_text(args.system, "system prompt")
    if getattr(args, "prompt", None):
        args.prompt = [clean_text(" ".join(args.prompt), "prompt")]


def clean_text(text: str, what: str = "text", err: TextIO | None = None) -> str:
    """`text` as valid UTF-8: undecodable bytes (surrogate escapes) become U+FFFD, with a note."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        fixed = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # lone surrogates that are not escaped bytes
        fixed = text
    fixed = _SURROGATES.sub("\ufffd", fixed)
    print(NOT_UTF8_NOTE.format(what=what), file=err or sys.stderr)
    return fixed


def read_stdin(what: str = "prompt") -> str:
    """All of standard input as text, whatever its bytes."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        print(NOT_UTF8_NOTE.format(what=what), file=sys.stderr)
        return data.decode("utf-8", "replace")


def tolerant_stdin() -> None:
    """Let `input()` return undecodable bytes as surrogate escapes instead of raising."""
    try:
        sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass
