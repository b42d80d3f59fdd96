"""Cut a parsed file into chunks that keep their page or lines.

A chunk is up to TARGET_WORDS words (about 200 of a BERT model's tokens, inside the 256
that small embedding models were trained on), never crosses a PDF page (so a citation's
page is exact), and ends at a paragraph or line break where it can. Each chunk carries a
content hash: an unchanged chunk is never embedded twice (the vectors are cached by hash).
"""

from __future__ import annotations

import hashlib
import re

from assistant.documents.types import ChunkText, ParsedFile, Section

TARGET_WORDS = 160
MIN_WORDS = 24  # a shorter tail joins the chunk before it when they share a page
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def content_hash(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:32]


def _units(section: Section) -> list[tuple[str, int | None]]:
    """Lines (with their line numbers) or, for PDF pages, paragraphs; long ones split into sentences."""
    out: list[tuple[str, int | None]] = []
    if section.page is not None:
        for para in re.split(r"\n\s*\n", section.text):
            para = " ".join(para.split())
            if para:
                out.extend((s, None) for s in _split_long(para))
        return out
    first = section.line or 1
    for i, line in enumerate(section.text.split("\n")):
        if line.strip():
            out.extend((s, first + i) for s in _split_long(line.rstrip()))
    return out


def _split_long(text: str) -> list[str]:
    if len(text.split()) <= TARGET_WORDS:
        return [text]
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text):
        words = sentence.split()
        while len(words) > TARGET_WORDS:  # one endless "sentence" (a table, minified code)
            pieces.append(" ".join(words[:TARGET_WORDS]))
            words = words[TARGET_WORDS:]
        if words:
            pieces.append(" ".join(words))
    return pieces


def chunk_file(parsed: ParsedFile) -> list[ChunkText]:
    chunks: list[ChunkText] = []
    # a PDF page is a group of its own (citations name the page); other files' sections (HTML
    # blocks, Word paragraphs, a text file's lines) run on, each line keeping its number
    groups: list[tuple[int | None, list[tuple[str, int | None]]]] = []
    for section in parsed.sections:
        if section.page is not None or not groups or groups[-1][0] is not None:
            groups.append((section.page, []))
        groups[-1][1].extend(_units(section))
    for page, units in groups:
        buf: list[str] = []
        n_words = 0
        first: int | None = None
        last: int | None = None

        def flush() -> None:
            nonlocal buf, n_words, first, last
            if not buf:
                return
            text = ("\n" if page is None else " ").join(buf).strip()
            if chunks and n_words < MIN_WORDS and chunks[-1].page == page and page is not None \
                    and len(chunks[-1].text.split()) + n_words <= TARGET_WORDS * 5 // 4:
                prev = chunks[-1]
                prev.text = prev.text + " " + text
                prev.hash = content_hash(prev.text)
            elif text:
                chunks.append(ChunkText(len(chunks), text, page, first, last, content_hash(text)))
            buf, n_words, first, last = [], 0, None, None

        for text, line in units:
            words = len(text.split())
            if buf and n_words + words > TARGET_WORDS:
                flush()
            buf.append(text)
            n_words += words
            if line is not None:
                first = line if first is None else first
                last = line
        flush()
    return chunks
