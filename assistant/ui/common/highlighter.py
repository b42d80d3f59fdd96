"""Pygments syntax highlighting for the code blocks of a QTextDocument filled by setMarkdown.

Qt's Markdown importer marks every line of a code block with the block-format
properties BlockCodeFence (fenced blocks) and BlockCodeLanguage (the info
string's first word; empty for indented blocks). Consecutive lines with the same
fence and language form one code block; the highlighter lexes that whole block
once (so multi-line tokens such as triple-quoted strings and block comments come
out right) and caches the result by (language, code). The block still being
streamed is the exception (set_open_tail): re-lexing it whole per render would
cost O(block) each time, so its new lines are lexed alone, which can be wrong
inside a multi-line token until the fence closes and the block is lexed whole.

Limitation: two fenced blocks of the same language with nothing between them in
the document would be lexed as one. MarkdownView always puts a "Copy code" line
above each block, so this never happens there.
"""

from __future__ import annotations

from collections import OrderedDict

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.style import StyleMeta
from pygments.styles import get_style_by_name
from pygments.token import Error, Text, Whitespace, _TokenType
from pygments.util import ClassNotFound
from PySide6.QtGui import (
    QColor,
    QFont,
    QSyntaxHighlighter,
    QTextBlock,
    QTextCharFormat,
    QTextDocument,
    QTextFormat,
)

from assistant.ui.common.theme import colors, contrast_ratio

LIGHT_STYLE = "xcode"  # every colour >= 4.5:1 on the light code background
DARK_STYLE = "github-dark"  # a few colours are lifted to 4.5:1 by _readable()
MIN_CONTRAST = 4.5
_CACHE_SIZE = 64  # highlighted code blocks kept (a long chat has many)

# (start, length, format) spans of one line, in UTF-16 units as Qt counts them
Spans = list[tuple[int, int, QTextCharFormat]]

_lexers: dict[str, Lexer | None] = {}


def lexer_for(language: str) -> Lexer | None:
    """A cached Pygments lexer for a fence's language, None when Pygments has none."""
    name = language.strip().lower()
    if name not in _lexers:
        try:
            # stripnl=False keeps leading blank lines, so token lines match block lines
            _lexers[name] = get_lexer_by_name(name, stripnl=False, ensurenl=True) if name else None
        except ClassNotFound:
            _lexers[name] = None
    return _lexers[name]


# looked up once: PySide enum attribute access is slow in a per-block loop
_LANGUAGE = QTextFormat.Property.BlockCodeLanguage
_FENCE = QTextFormat.Property.BlockCodeFence


def is_code_block(block: QTextBlock) -> bool:
    # Qt sets BlockCodeLanguage (maybe "") on every code line, fenced or indented
    return block.blockFormat().hasProperty(_LANGUAGE)


def _code_key(block: QTextBlock) -> tuple[str, str] | None:
    """(fence, language) of a code line; None for a line that is not code."""
    fmt = block.blockFormat()
    if not fmt.hasProperty(_LANGUAGE):
        return None
    return fmt.stringProperty(_FENCE), fmt.stringProperty(_LANGUAGE)


def _utf16_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-16-le")) // 2


def _readable(color: QColor, background: QColor, toward: QColor) -> QColor:
    """Blend a style's colour toward the text colour until it reads on the background."""
    c = QColor(color)
    for step in range(1, 11):
        if contrast_ratio(c, background) >= MIN_CONTRAST:
            break
        t = step / 10
        c = QColor.fromRgbF(
            color.redF() + (toward.redF() - color.redF()) * t,
            color.greenF() + (toward.greenF() - color.greenF()) * t,
            color.blueF() + (toward.blueF() - color.blueF()) * t,
        )
    return c


class PygmentsHighlighter(QSyntaxHighlighter):
    """Colours the fenced code blocks of a Markdown document with a Pygments style."""

    def __init__(self, document: QTextDocument | None = None, dark: bool = False) -> None:
        super().__init__(document)
        self._dark = dark
        self._paused = False
        self._open_tail = False
        self._stream: tuple[str, str, list[Spans]] | None = None  # language, lines, spans
        self.full_lexes = 0  # whole-block lexing runs, for tests and benchmarks
        self._style: StyleMeta = get_style_by_name(LIGHT_STYLE)
        self._background = QColor()
        self._toward = QColor()
        self._formats: dict[_TokenType, QTextCharFormat | None] = {}
        self._cache: OrderedDict[tuple[str, str], list[Spans]] = OrderedDict()
        # the block being highlighted: number of its first line, its lines, their spans
        self._group: tuple[int, list[str], list[Spans]] | None = None
        self._load_style()

    # -- public -------------------------------------------------------------------
    def dark(self) -> bool:
        return self._dark

    def set_dark(self, dark: bool, rehighlight: bool = True) -> None:
        if dark == self._dark:
            return
        self._dark = dark
        self._load_style()
        if rehighlight:
            self.rehighlight()

    def set_open_tail(self, open_tail: bool) -> None:
        """Whether the document ends inside a code block that is still being written
        (a streaming answer): only its new lines are lexed per render, not the block."""
        self._open_tail = open_tail

    def set_paused(self, paused: bool) -> None:
        """While paused highlightBlock does nothing: setMarkdown inserts text piece by
        piece and each piece would otherwise trigger a highlighting pass."""
        self._paused = paused

    def background(self) -> QColor:
        return QColor(self._background)

    # -- QSyntaxHighlighter -----------------------------------------------------------
    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        if self._paused:
            return
        block = self.currentBlock()
        group = self._group
        if group is not None:
            # fast path: the next line of the block whose first line was just done
            line = block.blockNumber() - group[0]
            if 0 < line < len(group[1]) and group[1][line] == text and self.previousBlockState() == line - 1:
                self._apply(line, group[2][line])
                return
        key = _code_key(block)
        if key is None or lexer_for(key[1]) is None:
            self.setCurrentBlockState(-1)
            return
        start = block
        while start.previous().isValid() and _code_key(start.previous()) == key:
            start = start.previous()  # entered mid-block: by a partial rehighlight
        lines, spans = self._spans_for(start, key)
        self._group = (start.blockNumber(), lines, spans)
        line = block.blockNumber() - start.blockNumber()
        self._apply(line, spans[line] if line < len(spans) else [])

    def _apply(self, line: int, spans: Spans) -> None:
        self.setCurrentBlockState(line)
        for start_col, length, fmt in spans:
            self.setFormat(start_col, length, fmt)

    # -- internals ----------------------------------------------------------------------
    def _load_style(self) -> None:
        palette = colors(self._dark)
        self._background = QColor(palette.code_background)
        self._toward = QColor("#ffffff" if self._dark else "#000000")
        self._style = get_style_by_name(DARK_STYLE if self._dark else LIGHT_STYLE)
        self._formats.clear()
        self._cache.clear()
        self._stream = None
        self._group = None

    def _format(self, ttype: _TokenType) -> QTextCharFormat | None:
        if ttype in self._formats:
            return self._formats[ttype]
        fmt: QTextCharFormat | None = None
        # plain text keeps the palette's text colour; error tokens are mostly
        # half-written code while an answer streams, so they are not flagged
        if ttype is not Text and ttype not in Whitespace and ttype not in Error:
            st = self._style.style_for_token(ttype)
            f = QTextCharFormat()
            if st["color"]:
                f.setForeground(_readable(QColor("#" + st["color"]), self._background, self._toward))
            if st["bold"]:
                f.setFontWeight(QFont.Weight.Bold)
            if st["italic"]:
                f.setFontItalic(True)
            if st["underline"]:
                f.setFontUnderline(True)
            if f.propertyCount():
                fmt = f
        self._formats[ttype] = fmt
        return fmt

    def _spans_for(self, first: QTextBlock, key: tuple[str, str]) -> tuple[list[str], list[Spans]]:
        lines: list[str] = []
        b = first
        while b.isValid() and _code_key(b) == key:
            lines.append(b.text())
            b = b.next()
        code = "\n".join(lines)
        lang, lexer = key[1], lexer_for(key[1])
        head, sep, tail = code.rpartition("\n")
        if sep and self._open_tail and not b.isValid():
            return lines, self._streamed_spans(lexer, lang, head, tail)
        spans = self._cached((lang, code))
        if spans is None:
            self.full_lexes += 1
            spans = self._lex(lexer, code, len(lines))
            self._store((lang, code), spans)
        return lines, spans

    def _streamed_spans(self, lexer: Lexer | None, lang: str, head: str, tail: str) -> list[Spans]:
        """The block being streamed: lines that arrived since the last render are lexed
        alone, from the lexer's initial state, and so is the growing last line. That is
        an approximation inside multi-line tokens (a docstring's middle lines); the
        block is lexed whole once its fence closes."""
        head_spans = self._cached((lang, head))
        if head_spans is None:
            prev = self._stream
            if prev is not None and prev[0] == lang and head.startswith(prev[1] + "\n"):
                new = head[len(prev[1]) + 1:]
                head_spans = prev[2] + self._lex(lexer, new, new.count("\n") + 1)
            else:
                self.full_lexes += 1
                head_spans = self._lex(lexer, head, head.count("\n") + 1)
            self._store((lang, head), head_spans)
        self._stream = (lang, head, head_spans)
        return head_spans + self._lex(lexer, tail, 1)

    def _cached(self, key: tuple[str, str]) -> list[Spans] | None:
        spans = self._cache.get(key)
        if spans is not None:
            self._cache.move_to_end(key)
        return spans

    def _store(self, key: tuple[str, str], spans: list[Spans]) -> None:
        self._cache[key] = spans
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def _lex(self, lexer: Lexer | None, code: str, n_lines: int) -> list[Spans]:
        spans: list[Spans] = [[] for _ in range(n_lines)]
        if lexer is None:
            return spans
        line, col = 0, 0
        for ttype, value in lexer.get_tokens(code):
            fmt = self._format(ttype)
            parts = value.split("\n")
            for i, part in enumerate(parts):
                if i:
                    line, col = line + 1, 0
                if line >= n_lines:
                    return spans
                width = _utf16_len(part)
                if fmt is not None and width:
                    spans[line].append((col, width, fmt))
                col += width
        return spans
