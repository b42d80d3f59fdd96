"""Fenced code blocks in Markdown source: where they are, their exact code, and the
"Copy <language> code" link line inserted above each (see markdown_view.py).

``` and ~~~ fences, info strings, block quotes, list items, and a fence still open
while an answer streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ui.common.highlighter import lexer_for

COPY_SCHEME = "copy-code"
_ONE_QUOTE = re.compile(r"[ ]{0,3}>[ ]?")
_LIST_ITEM = re.compile(r"[ ]{0,3}(?:[-+*]|\d{1,9}[.)])(?:[ ]+|$)")
_OPEN = re.compile(r"(?P<marker>[ ]{0,3}(?:[-+*]|\d{1,9}[.)])[ ]+)?(?P<indent>[ ]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)")
_CLOSE = re.compile(r"(?P<indent>[ ]*)(?P<fence>`{3,}|~{3,})[ \t]*")
_PLAIN = frozenset({"", "text", "txt", "plain", "plaintext", "none"})
_LANG_SAFE = re.compile(r"[^A-Za-z0-9+#._-]")  # the label must not break the link syntax


@dataclass(frozen=True)
class Fence:
    """One fenced code block of the source."""

    line: int  # index of the opening fence line
    quote: str  # block-quote prefix of the opening line, e.g. "> "
    marker: str  # list marker when the fence opens a list item ("- "), else ""
    indent: str  # spaces between the marker (or quote) and the fence
    language: str  # first word of the info string, lower case; "" when none
    code: str
    closed: bool  # False for a fence still open at the end (a streaming answer)


def _split_quote(line: str, max_depth: int | None = None) -> tuple[str, int, str]:
    """(quote prefix, depth, rest) of a line."""
    end = depth = 0
    while max_depth is None or depth < max_depth:
        m = _ONE_QUOTE.match(line, end)
        if not m:
            break
        end, depth = m.end(), depth + 1
    return line[:end], depth, line[end:]


def _strip_indent(line: str, n: int) -> str:
    """Remove up to n leading spaces, as CommonMark does for fenced code lines."""
    i = 0
    while i < n and i < len(line) and line[i] == " ":
        i += 1
    return line[i:]


def parse_fences(text: str) -> list[Fence]:
    """Every fenced code block of a Markdown text, in order.

    A fence indented 4+ spaces counts only after a list item (otherwise it is an
    indented code block); a fence inside a quote or a list item ends with its
    container. Tabs before a fence are not expanded (models write spaces)."""
    lines = text.replace("\r\n", "\n").split("\n")
    fences: list[Fence] = []
    in_list = False
    i = 0
    cur: dict | None = None  # the open fence
    while i < len(lines):
        raw = lines[i]
        if cur is not None:
            quote, depth, body = _split_quote(raw, cur["depth"])
            # a line outside the fence's container (quote or list item) ends it unclosed
            if depth < cur["depth"] or (cur["in_list"] and body.strip() and not body.startswith(" ")):
                fences.append(_finish(cur, closed=False))
                cur = None
                continue  # the line is read again, outside the fence
            m = _CLOSE.fullmatch(body)
            if (
                m
                and m["fence"][0] == cur["char"]
                and len(m["fence"]) >= cur["length"]
                and len(m["indent"]) <= cur["col"] + 3
            ):
                fences.append(_finish(cur, closed=True))
                cur = None
            else:
                cur["lines"].append(_strip_indent(body, cur["col"]))
            i += 1
            continue
        quote, depth, body = _split_quote(raw)
        m = _OPEN.fullmatch(body)
        if m:
            marker, indent, fence, info = m["marker"] or "", m["indent"], m["fence"], m["info"]
            ok = len(indent) <= 3 or (in_list and not marker)
            if ok and not (fence[0] == "`" and "`" in info):
                word = info.strip().split(maxsplit=1)[0] if info.strip() else ""
                cur = {
                    "line": i, "quote": quote, "depth": depth, "marker": marker, "indent": indent,
                    "char": fence[0], "length": len(fence), "col": len(marker) + len(indent),
                    "language": word.strip("{}.").lower(), "lines": [],
                    "in_list": bool(marker) or (in_list and bool(indent)),
                }
                in_list = in_list or bool(marker)
                i += 1
                continue
        if body.strip():
            if _LIST_ITEM.match(body):
                in_list = True
            elif not body.startswith(" "):
                in_list = False  # (a lazy continuation line ends it too: good enough)
        i += 1
    if cur is not None:
        if cur["lines"] and not cur["lines"][-1] and text.endswith("\n"):
            cur["lines"].pop()  # the text's final newline, not an empty code line
        fences.append(_finish(cur, closed=False))
    return fences


def _finish(cur: dict, closed: bool) -> Fence:
    return Fence(cur["line"], cur["quote"], cur["marker"], cur["indent"], cur["language"],
                 "\n".join(cur["lines"]), closed)


def copy_label(language: str) -> str:
    """The link's text, which is also what a screen reader says: "Copy Python code"."""
    lexer = lexer_for(language)
    if language in _PLAIN:
        name = ""
    else:  # Pygments' name when it knows the language ("py" -> "Python")
        name = lexer.name if lexer is not None else language
    name = _LANG_SAFE.sub("", name.replace(" ", "_")).replace("_", " ")
    return f"Copy {name} code" if name else "Copy code"


def with_copy_links(text: str, fences: list[Fence]) -> str:
    """The Markdown with a "[Copy … code](copy-code:N)" line above fence N."""
    if not fences:
        return text
    lines = text.replace("\r\n", "\n").split("\n")
    at = {f.line: (n, f) for n, f in enumerate(fences)}
    out: list[str] = []
    for i, line in enumerate(lines):
        if i not in at:
            out.append(line)
            continue
        n, f = at[i]
        link = f"[{copy_label(f.language)}]({COPY_SCHEME}:{n})"
        if f.marker:
            # the fence opened a list item: the link opens it instead, the fence follows
            out.append(f.quote + f.marker + link)
            out.append(f.quote + " " * len(f.marker) + line[len(f.quote) + len(f.marker):])
        else:
            out.append(f.quote.rstrip())  # blank: ends a paragraph or a table above
            out.append(f.quote + f.indent + link)
            out.append(line)
    return "\n".join(out)
