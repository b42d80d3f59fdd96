"""Read a file's text with where each part came from (page or line).

These run in the parser's child process (parse_host.py): a malformed PDF that crashes
PDFium or a zip bomb that eats memory costs that process, never the app. Each parser
raises DocumentError with what is wrong and what to do.
"""

from __future__ import annotations

import html.parser
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from assistant.core.units import format_bytes
from assistant.documents.errors import DocumentError
from assistant.documents.formats import MAX_DOCX_XML_BYTES, MAX_FILE_BYTES, MAX_TEXT_CHARS, kind_of
from assistant.documents.types import ParsedFile, Section


def parse_file(path: Path) -> ParsedFile:
    path = Path(path)
    kind = kind_of(path)
    if kind is None:
        raise DocumentError(f"{path.name} is not a kind of file that can be read.",
                            "Add PDF, Word (.docx), HTML, Markdown, text, CSV or source code files.")
    check_size(path)
    if kind == "pdf":
        return parse_pdf(path)
    if kind == "docx":
        return parse_docx(path)
    data = path.read_bytes()
    if kind == "html":
        return parse_html(decode_text(data, path))
    return ParsedFile(kind, [Section(decode_text(data, path), line=1)])


def check_size(path: Path) -> int:
    import stat

    st = path.stat()
    if not stat.S_ISREG(st.st_mode):  # a pipe or a device would block or never end
        raise DocumentError(f"{path.name} is not a regular file (a pipe, a device or a socket), so it was not read.",
                            "Remove it from the folder, or add the real file.")
    size = st.st_size
    if size > MAX_FILE_BYTES:
        raise DocumentError(f"{path.name} is {format_bytes(size)}: files over {format_bytes(MAX_FILE_BYTES)} are not read.",
                            "Split it into smaller files, or add the parts you need.")
    return size


def decode_text(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{path.name} looks like a binary file, not text.", "Only text files are read as text.")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    return text[:MAX_TEXT_CHARS]


# ------------------------------------------------------------------------- PDF
def parse_pdf(path: Path) -> ParsedFile:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        words = str(exc).lower()
        if "password" in words:
            raise DocumentError(f"{path.name} is protected by a password, so it cannot be read.",
                                "Open it in a PDF reader, save a copy without the password, and add that copy.") from None
        raise DocumentError(f"{path.name} is damaged or not a PDF ({exc}).",
                            "Open it in a PDF reader to check it; if it opens, print it to a new PDF and add that.") from None
    sections: list[Section] = []
    scanned: list[int] = []
    total = 0
    try:
        n = len(pdf)
        for i in range(n):
            try:
                page = pdf[i]
            except pdfium.PdfiumError:  # a page object pdfium cannot build: the file is damaged there
                raise DocumentError(f"{path.name} is damaged: page {i + 1} cannot be read.",
                                    "Open it in a PDF reader to check it; if it opens, print it to a new PDF and add that.") from None
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
                textpage.close()
                if not text.strip():
                    if any(obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects(max_depth=2)):
                        scanned.append(i + 1)
                    continue
                total += len(text)
                if total > MAX_TEXT_CHARS:
                    break
                sections.append(Section(text, page=i + 1))
            finally:
                page.close()
    finally:
        pdf.close()
    return ParsedFile("pdf", sections, scanned_pages=scanned, pages=n)


# ------------------------------------------------------------------------- DOCX
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse_docx(path: Path) -> ParsedFile:
    """A zip of XML: word/document.xml's paragraphs, each numbered (Word has no fixed pages).
    The XML is read with a hard cap whatever the zip declares, so a bomb ends at the cap."""
    try:
        z = zipfile.ZipFile(path)
    # ValueError: a name that is not UTF-8 though flagged so; NotImplementedError: a zip version
    # or feature Python does not read (both found by tools/fuzz.py)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise DocumentError(f"{path.name} is damaged or not a Word document ({exc}).",
                            "Open it in Word or LibreOffice and save it again as .docx.") from None
    with z:
        try:
            info = z.getinfo("word/document.xml")
        except KeyError:
            raise DocumentError(f"{path.name} is a zip file but not a Word document (no word/document.xml).",
                                "Save it from Word or LibreOffice as .docx.") from None
        if info.file_size > MAX_DOCX_XML_BYTES:
            raise _bomb(path, info.file_size)
        try:
            with z.open(info) as fh:
                data = fh.read(MAX_DOCX_XML_BYTES + 1)
        except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as exc:  # truncated or bad CRC
            raise DocumentError(f"{path.name} is damaged: its text cannot be unpacked ({exc}).",
                                "Open it in Word or LibreOffice and save it again as .docx.") from None
        except Exception as exc:  # zlib.error and friends
            raise DocumentError(f"{path.name} is damaged ({type(exc).__name__}).",
                                "Open it in Word or LibreOffice and save it again as .docx.") from None
    if len(data) > MAX_DOCX_XML_BYTES:
        raise _bomb(path, len(data))
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:  # not in a real .docx; entity tricks are
        raise DocumentError(f"{path.name} holds XML entity declarations, which Word never writes.",
                            "The file was not read. Save it again from Word or LibreOffice.")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise DocumentError(f"{path.name} is damaged: its text is not valid XML ({exc}).",
                            "Open it in Word or LibreOffice and save it again as .docx.") from None
    sections: list[Section] = []
    title = ""
    n = 0
    for p in root.iter(_W + "p"):
        parts = []
        for el in p.iter():
            if el.tag == _W + "t" and el.text:
                parts.append(el.text)
            elif el.tag == _W + "tab":
                parts.append("\t")
            elif el.tag in (_W + "br", _W + "cr"):
                parts.append("\n")
        text = " ".join("".join(parts).split())
        if not text:
            continue
        n += 1  # paragraphs with text, as a reader counts them
        style = p.find(f"{_W}pPr/{_W}pStyle")
        if not title and style is not None and (style.get(_W + "val") or "").lower() in ("title", "heading1"):
            title = text
        sections.append(Section(text, line=n))
    return ParsedFile("docx", sections, title=title)


def _bomb(path: Path, size: int) -> DocumentError:
    return DocumentError(f"{path.name} unpacks to more than {format_bytes(MAX_DOCX_XML_BYTES)} of text "
                         f"({format_bytes(size)} or more): it looks like a zip bomb, so it was not read.",
                         "If it is a real document, save it as PDF or split it.")


# ------------------------------------------------------------------------- HTML
_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "section", "article",
          "blockquote", "dt", "dd", "table", "ul", "ol", "header", "footer", "td", "th"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}


class _HtmlText(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Section] = []
        self._buf: list[str] = []
        self._line: int | None = None
        self._skip = 0
        self._in_title = False
        self.title = ""

    def _flush(self) -> None:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self._buf)).strip()
        if text:
            self.blocks.append(Section(text, line=self._line))
        self._buf, self._line = [], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP:
            self._skip += 1
        elif tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        if self._skip:
            return
        if self._line is None and data.strip():
            self._line = self.getpos()[0]
        self._buf.append(data)


def parse_html(text: str) -> ParsedFile:
    try:
        p = _feed(text)
    except AssertionError:
        # Python's HTMLParser asserts on a malformed "<![" section or "<!" declaration (found by
        # tools/fuzz.py); read them as text, so the rest of the page is kept
        p = _feed(re.sub(r"<!(?!--)", "&lt;!", text))
    return ParsedFile("html", p.blocks, title=p.title)


def _feed(text: str) -> _HtmlText:
    p = _HtmlText()
    p.feed(text)
    p.close()
    p._flush()
    return p

