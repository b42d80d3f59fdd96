"""Which files are read and as what, and the limits that keep a hostile file cheap."""

from __future__ import annotations

from pathlib import Path

KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".rst": "markdown",
    ".txt": "text", ".text": "text", ".log": "text",
    ".csv": "csv", ".tsv": "csv",
}
CODE = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".go", ".rs", ".rb",
    ".php", ".swift", ".kt", ".scala", ".sh", ".bash", ".sql", ".r", ".m", ".lua", ".pl", ".toml", ".yaml",
    ".yml", ".json", ".ini", ".cfg", ".xml", ".css", ".scss", ".tex",
}
MAX_FILE_BYTES = 300 * 1024**2  # a larger file is named and skipped, never read
MAX_TEXT_CHARS = 20_000_000  # text kept from one file (a 500-page book is ~1.5M)
MAX_DOCX_XML_BYTES = 64 * 1024**2  # word/document.xml, uncompressed: more is a zip bomb
MAX_FILES = 20_000  # files one collection follows (a folder with more is cut, and says so)


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in KINDS:
        return KINDS[suffix]
    if suffix in CODE:
        return "code"
    return None


def supported(path: Path) -> bool:
    return kind_of(path) is not None


def describe_formats() -> str:
    return "PDF, Word (.docx), web pages (.html), Markdown, text, CSV and source code"
