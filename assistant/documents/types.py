"""The documents' vocabulary: what a parser returns, what a chunk is, what retrieval finds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """A run of text with where it came from: a PDF page (1-based) or a first line (1-based)."""

    text: str
    page: int | None = None
    line: int | None = None


@dataclass
class ParsedFile:
    kind: str  # pdf / docx / html / markdown / text / csv / code
    sections: list[Section]
    title: str = ""
    scanned_pages: list[int] = field(default_factory=list)  # PDF pages with no text layer (not read)
    pages: int = 0  # a PDF's page count

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass
class ChunkText:
    """A chunk before it is stored: its place in the file and its content hash."""

    ord: int
    text: str
    page: int | None
    line_start: int | None
    line_end: int | None
    hash: str


@dataclass
class Passage:
    """A chunk found for a question, with how each search ranked it (1-based; None: not found by it)."""

    chunk_id: int
    file_id: int
    path: str
    text: str
    page: int | None
    line_start: int | None
    line_end: int | None
    ord: int
    kind: str = ""  # the file's kind: a Word file's "lines" are paragraphs
    keyword_rank: int | None = None
    keyword_score: float | None = None  # bm25 (lower is better, as SQLite gives it)
    vector_rank: int | None = None
    vector_score: float | None = None  # cosine similarity
    fused: float = 0.0  # reciprocal rank fusion

    @property
    def where(self) -> str:
        """"report.pdf, page 3" / "notes.md, lines 10-24"."""
        from pathlib import PurePath

        name = PurePath(self.path).name
        if self.page:
            return f"{name}, page {self.page}"
        if self.line_start:
            unit = "paragraph" if self.kind == "docx" else "line"
            if self.line_end and self.line_end != self.line_start:
                return f"{name}, {unit}s {self.line_start}-{self.line_end}"
            return f"{name}, {unit} {self.line_start}"
        return name

    def snippet(self, n: int = 160) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= n else text[: n - 1].rstrip() + "…"
