"""Search snippets for people: the Markdown's marks taken out, the matched words found.

The store marks matches with MARK_START / MARK_END (control characters no message
has); `plain_snippet` removes Markdown syntax (emphasis, code, links, headings, list
and quote marks, fences) and returns the text with where each match is.
"""

from __future__ import annotations

import re

MARK_START, MARK_END = "\x02", "\x03"
MARKS = (MARK_START, MARK_END)

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)?")  # [text](url) -> text (the snippet may cut the url)
_FENCE = re.compile(r"(```|~~~)[\w+-]*")
_LINE_MARK = re.compile(r"(^…?|\n)\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)")
_EMPHASIS = re.compile(r"(\*\*|__|~~|(?<![\w\x02\x03])[*_](?=\S)|(?<=\S)[*_](?![\w\x02\x03])|`+)")
_SPACES = re.compile(r"\s+")


def plain_snippet(snippet: str) -> tuple[str, list[tuple[int, int]]]:
    """(plain text, [(start, end) of each match in it])."""
    text = _FENCE.sub(" ", snippet)
    text = _LINK.sub(r"\1", text)
    text = _LINE_MARK.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    start = -1
    n = 0
    for ch in text:
        if ch == MARK_START:
            start = n
        elif ch == MARK_END:
            if start >= 0 and n > start:
                spans.append((start, n))
            start = -1
        else:
            out.append(ch)
            n += 1
    return "".join(out), spans
