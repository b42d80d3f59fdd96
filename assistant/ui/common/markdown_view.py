"""One chat message's Markdown, rendered by Qt's own Markdown importer (GitHub dialect).

Built for streaming (a message is re-rendered several times a second): each
render replaces the document in one go, highlighting is cached per code block,
and the layout runs once per render, not once per inserted piece.

A "Copy <language> code" link goes above each code block: a small fence parser
(``` and ~~~, info strings, quotes, list items, a fence still open while
streaming) finds the blocks in the source, extracts their exact code, and
inserts the link line in the same container as the block, after a blank line,
so it never becomes a table row or a new list item.

Raw HTML is never HTML here: md4c's "no HTML" flags make every tag plain text, so a
`<script>`, `<think>` or `<img src=...>` in an answer shows as written and cannot hide
text, change the page or load anything. A user's own message is plain text, as typed
(`set_plain_text`). Very long runs without a space get invisible break points, since
Qt's line breaking is quadratic in the length of a word (a 1 MB line took 146 s).

Privacy: nothing is fetched (loadResource refuses all but the app's own resources);
every image shows as a link with its alt text. Links are only reported
(link_activated), for http/https, on a click or Enter.
"""

from __future__ import annotations

import functools
import math
import re

from PySide6.QtCore import QEvent, QSize, QSizeF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QFontInfo,
    QFontMetricsF,
    QGuiApplication,
    QPalette,
    QResizeEvent,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextOption,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QSizePolicy, QTextBrowser, QWidget

from assistant.ui.common.fences import COPY_SCHEME, Fence, copy_label, parse_fences, with_copy_links
from assistant.ui.common.highlighter import PygmentsHighlighter

_MD = QTextDocument.MarkdownFeature
# GitHub's dialect with raw HTML off: md4c then treats every tag as text (Qt's docs say
# "discarded"; md4c keeps it as text, which the tests check)
MARKDOWN_FEATURES = QTextDocument.MarkdownFeatures(_MD.MarkdownDialectGitHub.value | _MD.MarkdownNoHTML.value)
# a zero-width space every BREAK_EVERY characters of a run over LONG_RUN without a space
LONG_RUN = 1000
BREAK_EVERY = 250
ZERO_WIDTH_SPACE = "\u200b"
# a wrapped code line goes on HANG_CHARS past its own indent (lines this short never wrap)
HANG_CHARS = 4
HANGING_FROM = 24
_LONG_RUN = re.compile(r"\S{%d,}" % LONG_RUN)
_CHUNK = re.compile(r"\S{%d}(?=\S)" % BREAK_EVERY)
_LANGUAGE = QTextFormat.Property.BlockCodeLanguage
_KEEP = QTextCursor.MoveMode.KeepAnchor
# copy links: small, at the line's end, right on top of their code block
_LINK_BLOCK = QTextBlockFormat()
_LINK_BLOCK.setAlignment(Qt.AlignmentFlag.AlignTrailing)
_LINK_BLOCK.setBottomMargin(0)
_LINK_BLOCK_IN_LIST = QTextBlockFormat()
_LINK_BLOCK_IN_LIST.setBottomMargin(0)
_LINK_CHAR = QTextCharFormat()
_LINK_CHAR.setProperty(QTextFormat.Property.FontSizeAdjustment, -1)

def breakable(text: str) -> str:
    """`text` with a zero-width space inside each run of LONG_RUN or more characters
    without whitespace, every BREAK_EVERY characters: what Qt may wrap there in linear time."""
    if len(text) < LONG_RUN:
        return text
    return _LONG_RUN.sub(lambda m: _CHUNK.sub(lambda c: c.group(0) + ZERO_WIDTH_SPACE, m.group(0)), text)


def _is_app_resource(url: QUrl) -> bool:
    # only the app's own resources: no network, no shares, no local files named by a model
    return url.scheme() == "qrc"


@functools.cache
def code_font_family() -> str:
    """The family for code: Qt's own fixed font, unless this machine's fontconfig maps it
    to a font that is not fixed-pitch; then the first installed family that is."""
    fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if QFontInfo(fixed).fixedPitch():
        return fixed.family()
    for family in QFontDatabase.families():
        if QFontDatabase.isFixedPitch(family) and QFontInfo(QFont(family)).fixedPitch():
            return family
    return fixed.family()  # no fixed-pitch font at all: still the best guess


class MarkdownView(QTextBrowser):
    """Read-only Markdown of one message; as tall as its content, no scrollbars of its own."""

    link_activated = Signal(QUrl)  # http/https links, on click or Enter
    code_copied = Signal(str)  # the code that was put on the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = ""
        self._plain = False  # the user's own text: shown as typed, no Markdown
        self._fences: list[Fence] = []
        self._heights: dict[int, int] = {}  # width -> height for the current content
        self._measuring = False
        self._dark = self._palette_is_dark()

        self.setReadOnly(True)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setAutoFillBackground(False)
        self.viewport().setAutoFillBackground(False)  # transparent: the bubble shows through
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Message text")
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

        doc = self.document()
        doc.setUndoRedoEnabled(False)
        doc.setDocumentMargin(2)
        self._highlighter = PygmentsHighlighter(doc, self._dark)
        doc.documentLayout().documentSizeChanged.connect(self._on_document_size_changed)
        self.anchorClicked.connect(self._on_anchor_clicked)

    # -- content ---------------------------------------------------------------------
    def set_markdown(self, text: str) -> None:
        if text == self._source and not self._plain:
            return
        self._source, self._plain = text, False
        self._render()

    def set_plain_text(self, text: str) -> None:
        """Text shown exactly as written (a user's message): no Markdown, no HTML."""
        if text == self._source and self._plain:
            return
        self._source, self._plain = text, True
        self._render()

    def plain_text(self) -> str:
        """The text as given (for "Copy message")."""
        return self._source

    def visible_text(self) -> str:
        """What the reader sees (the break points left out)."""
        return self.document().toPlainText().replace(ZERO_WIDTH_SPACE, "")

    def code_blocks(self) -> list[str]:
        return [f.code for f in self._fences]

    def copy_code(self, index: int) -> None:
        if 0 <= index < len(self._fences):
            code = self._fences[index].code
            QGuiApplication.clipboard().setText(code)
            self.code_copied.emit(code)

    # -- theme -----------------------------------------------------------------------------
    def dark(self) -> bool:
        return self._dark

    def set_dark(self, dark: bool) -> None:
        if dark != self._dark:
            self._dark = dark
            self._highlighter.set_dark(dark, rehighlight=False)
            self._render()

    # -- rendering ---------------------------------------------------------------------------
    def _render(self) -> None:
        doc = self.document()
        cursor = self.textCursor()
        selection = (cursor.anchor(), cursor.position()) if cursor.hasSelection() else None
        self._fences = [] if self._plain else parse_fences(self._source)
        md = "" if self._plain else breakable(with_copy_links(self._source, self._fences))

        # A null page size stops the layout while the document is built, styled and
        # highlighted; restoring it lays the document out once.
        page = doc.pageSize()
        doc.setPageSize(QSizeF(0, 0))
        self._highlighter.set_paused(True)  # else every inserted piece is highlighted
        try:
            if self._plain:
                doc.setPlainText(breakable(self._source))
                groups = []
            else:
                doc.setMarkdown(md, MARKDOWN_FEATURES)
                if "![" in self._source:
                    self._replace_images()
                groups = self._style_blocks()
        finally:
            self._highlighter.set_paused(False)
        self._highlighter.set_open_tail(bool(self._fences) and not self._fences[-1].closed)
        for first in groups:  # only code: rehighlight() would visit every block
            self._highlighter.rehighlightBlock(doc.findBlock(first))
        doc.setPageSize(page)

        if selection is not None:  # keep a selection made while the answer grows
            last = doc.characterCount() - 1
            cursor = QTextCursor(doc)
            cursor.setPosition(min(selection[0], last))
            cursor.setPosition(min(selection[1], last), QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(cursor)
        self._heights.clear()
        self.updateGeometry()

    def _style_blocks(self) -> list[int]:
        """Fixed font and background on code blocks, style on copy links; returns where
        each code block starts."""
        doc = self.document()
        cursor = QTextCursor(doc)
        fixed_family = code_font_family()
        code_block = QTextBlockFormat()
        code_block.setBackground(self._highlighter.background())
        code_block.setNonBreakableLines(False)  # wrap long lines (no scrollbar), under a hanging indent
        labels = {copy_label(f.language) for f in self._fences}
        space = QFontMetricsF(QFont(fixed_family, self.font().pointSize())).horizontalAdvance(" ")
        starts: list[int] = []
        prev = QTextBlock()
        block = doc.begin()
        start = -1
        is_code = block.blockFormat().hasProperty(_LANGUAGE)
        while block.isValid():  # one pass, few calls per block: this runs per render
            nxt = block.next()
            next_is_code = nxt.isValid() and nxt.blockFormat().hasProperty(_LANGUAGE)
            if is_code:
                if block.length() > HANGING_FROM:
                    self._hang(cursor, block, space)
                if start < 0:
                    start = block.position()
                    starts.append(start)
                    if prev.isValid() and prev.text() in labels:
                        self._style_copy_link(cursor, prev)
                if not next_is_code:
                    cursor.setPosition(start)
                    cursor.setPosition(block.position() + block.length() - 1, _KEEP)
                    cursor.mergeBlockFormat(code_block)
                    # Qt already uses the system fixed font's family; the size is left
                    # alone so code follows the widget's font size like the text
                    if fixed_family not in (block.charFormat().fontFamilies() or []):
                        code_char = QTextCharFormat()
                        code_char.setFontFamilies([fixed_family])
                        code_char.setFontFixedPitch(True)
                        cursor.mergeCharFormat(code_char)
                    start = -1
            prev, block, is_code = block, nxt, next_is_code
        return starts

    @staticmethod
    def _hang(cursor: QTextCursor, block: QTextBlock, space: float) -> None:
        """A code line that wraps goes on under its own indent plus HANG_CHARS, never at
        column 0, so wrapped Python does not read as a dedent."""
        text = block.text()
        lead = len(text) - len(text.lstrip(" \t")) + text[: len(text) - len(text.lstrip(" \t"))].count("\t") * 3
        fmt = QTextBlockFormat()
        margin = (lead + HANG_CHARS) * space
        fmt.setLeftMargin(margin)
        fmt.setTextIndent(-margin)  # the first line starts where it always did
        cursor.setPosition(block.position())
        cursor.mergeBlockFormat(fmt)

    def _style_copy_link(self, cursor: QTextCursor, block: QTextBlock) -> None:
        fmt = block.begin().fragment().charFormat()
        if not (fmt.isAnchor() and fmt.anchorHref().startswith(COPY_SCHEME + ":")):
            return  # the model wrote a paragraph that reads like one of our labels
        cursor.setPosition(block.position())
        cursor.setPosition(block.position() + block.length() - 1, _KEEP)
        # at the line's end, except where the link is a list item's first line: its
        # bullet would be pushed to the right with it
        cursor.mergeBlockFormat(_LINK_BLOCK if block.textList() is None else _LINK_BLOCK_IN_LIST)
        cursor.mergeCharFormat(_LINK_CHAR)

    def _replace_images(self) -> None:
        """Images become links labelled with their alt text (never fetched nor read)."""
        doc = self.document()
        found: list[tuple[int, str, str]] = []
        block = doc.begin()
        while block.isValid():
            it = block.begin()
            while not it.atEnd():
                frag = it.fragment()
                fmt = frag.charFormat()
                if fmt.isImageFormat():
                    name = fmt.toImageFormat().name()
                    if not _is_app_resource(QUrl(name)):
                        alt = fmt.stringProperty(QTextFormat.Property.ImageAltText)
                        found.append((frag.position(), name, alt))
                it += 1
            block = block.next()
        cursor = QTextCursor(doc)
        for pos, name, alt in reversed(found):
            cursor.setPosition(pos)
            cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
            link = QTextCharFormat()
            if QUrl(name).scheme().lower() in ("http", "https"):
                link.setAnchor(True)
                link.setAnchorHref(name)
                link.setForeground(self.palette().color(QPalette.ColorRole.Link))
                link.setFontUnderline(True)
            cursor.insertText(f"[image: {alt or name}]", link)

    def loadResource(self, type: int, name: QUrl) -> object:  # noqa: A002, N802 (Qt override)
        # privacy: never the network, shares (file://host/...) nor files an answer names
        if not _is_app_resource(name):
            return None
        return super().loadResource(type, name)

    # -- links ---------------------------------------------------------------------------------
    def _on_anchor_clicked(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        if scheme == COPY_SCHEME:
            try:
                self.copy_code(int(url.path()))
            except ValueError:
                pass
        elif scheme in ("http", "https"):
            self.link_activated.emit(url)

    # -- size: as tall as the content at the given width -------------------------------------
    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        if width in self._heights:
            return self._heights[width]
        m = self.contentsMargins()
        vm = self.viewportMargins()
        text_width = max(1, width - m.left() - m.right() - vm.left() - vm.right())
        doc = self.document()
        current = doc.textWidth()
        self._measuring = True
        try:
            doc.setTextWidth(text_width)
            height = math.ceil(doc.size().height())
            if current != text_width:
                doc.setTextWidth(current)  # a what-if: the view keeps its own width
        finally:
            self._measuring = False
        height += m.top() + m.bottom() + vm.top() + vm.bottom()
        if len(self._heights) > 8:
            self._heights.clear()
        self._heights[width] = height
        return height

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = self.width() if self.isVisible() else super().sizeHint().width()
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(40, self.fontMetrics().height())

    def _on_document_size_changed(self, size: QSizeF) -> None:
        if self._measuring:
            return
        m = self.contentsMargins()
        if self._heights.get(self.width()) == math.ceil(size.height()) + m.top() + m.bottom():
            return  # known already: asking the layout again could ping-pong
        self._heights.clear()
        self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()
        self.verticalScrollBar().setValue(0)  # never scrolled inside: the chat scrolls

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt override)
        # the chat's scroll area scrolls; Ctrl+wheel would zoom just this message
        event.ignore()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        kind = event.type()
        if kind == QEvent.Type.PaletteChange:
            dark = self._palette_is_dark()
            if dark != self._dark:
                self.set_dark(dark)
            elif self._source:
                self._render()  # link colours are taken from the palette when parsed
        elif kind == QEvent.Type.FontChange:
            self._heights.clear()
            self.updateGeometry()

    def _palette_is_dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128
