"""Parsing real files in the parser's child process: known text back with its page or line,
a scanned page named, and each bad input with its own message (the file costs only itself)."""

from __future__ import annotations

import errno
import os
import zipfile
from pathlib import Path

import pytest
from support import documents as d

from assistant.documents.errors import DocumentError
from assistant.documents.parse_host import ParserHost, _os_error
from assistant.documents.walk import walk_roots


@pytest.fixture(scope="module")
def parser():  # type: ignore[no-untyped-def]
    with ParserHost() as host:
        yield host


def test_pdf_pages_and_scanned_page(parser: ParserHost, tmp_path: Path) -> None:
    parsed = parser.parse(d.make_pdf(tmp_path / "m.pdf"))
    assert parsed.kind == "pdf" and parsed.pages == 3
    assert [s.page for s in parsed.sections] == [1, 2]
    for section, text in zip(parsed.sections, d.PDF_PAGES):
        assert " ".join(section.text.split()) == text
    assert parsed.scanned_pages == [3]  # an image with no text layer: named, not read


def test_docx_html_markdown(parser: ParserHost, tmp_path: Path) -> None:
    docx = parser.parse(d.make_docx(tmp_path / "l.docx"))
    assert [s.text for s in docx.sections] == d.DOCX_PARAGRAPHS
    assert [s.line for s in docx.sections] == [1, 2, 3, 4] and docx.title == "Tenancy agreement"
    (tmp_path / "o.html").write_text(d.HTML)
    html = parser.parse(tmp_path / "o.html")
    assert html.title == "Orchard notes"
    assert "not text" not in html.text and "color" not in html.text
    assert html.sections[1].text.startswith("Apple trees") and html.sections[1].line == 4  # its line in the file
    (tmp_path / "s.md").write_text(d.MARKDOWN)
    md = parser.parse(tmp_path / "s.md")
    assert md.kind == "markdown" and md.text == d.MARKDOWN


def _message(parser: ParserHost, path: Path) -> str:
    with pytest.raises(DocumentError) as e:
        parser.parse(path)
    return str(e.value)


def test_bad_inputs_each_say_what_happened(parser: ParserHost, tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "secret")
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.output(str(tmp_path / "locked.pdf"))
    assert "protected by a password" in _message(parser, tmp_path / "locked.pdf")

    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(64))
    assert "damaged or not a PDF" in _message(parser, tmp_path / "bad.pdf")

    good = d.make_docx(tmp_path / "good.docx").read_bytes()
    (tmp_path / "cut.docx").write_bytes(good[: len(good) // 2])
    assert "damaged" in _message(parser, tmp_path / "cut.docx")

    big = tmp_path / "huge.pdf"  # 2 GB, sparse: refused by its size before anything reads it
    with open(big, "wb") as f:
        f.truncate(2 * 1024**3)
    assert "2.0 GB" in _message(parser, big) and "not read" in _message(parser, big)

    bomb = tmp_path / "bomb.docx"  # 200 MB of zeros in a zip of a few hundred KB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, z.open("word/document.xml", "w", force_zip64=True) as f:
        for _ in range(200):
            f.write(b"\0" * 1024**2)
    assert bomb.stat().st_size < 2 * 1024**2
    assert "zip bomb" in _message(parser, bomb)

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert "not a regular file" in _message(parser, fifo)

    assert "permission denied" in str(_os_error(tmp_path / "x.pdf", PermissionError(errno.EACCES, "denied")))
    assert "is gone" in _message(parser, tmp_path / "missing.pdf")


def test_a_parser_crash_costs_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TEST_PARSE_CRASH", "hostile")
    d.make_pdf(tmp_path / "hostile.pdf")
    d.make_pdf(tmp_path / "fine.pdf")
    with ParserHost() as host:
        msg = _message(host, tmp_path / "hostile.pdf")
        assert "made the document reader stop" in msg and "signal 11" in msg
        assert host.parse(tmp_path / "fine.pdf").pages == 3  # a new reader process took over


def test_walk_survives_symlink_loops_and_huge_folders(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    (loop / "a").mkdir(parents=True)
    (loop / "a" / "note.md").write_text("x")
    os.symlink(loop, loop / "a" / "back")  # a -> back -> loop -> a ...
    w = walk_roots([str(loop)])
    assert [p.name for p in w.files] == ["note.md"]

    many = tmp_path / "many"
    many.mkdir()
    for i in range(100_000):
        os.close(os.open(many / f"{i:06}.txt", os.O_CREAT | os.O_WRONLY))
    w = walk_roots([str(many)])
    assert w.cut and len(w.files) == 20_000
    assert "More than 20,000 documents" in w.notes[-1]


def test_a_malformed_marked_section_keeps_the_page() -> None:
    # Python's HTMLParser asserts on these (found by tools/fuzz.py): the page is read anyway
    from assistant.documents.parse import parse_html

    for bad in ("<![F x]>", "<![3 0 R /FitH null]"):
        parsed = parse_html(f"<p>before</p>{bad}<p>after</p>")
        text = " ".join(s.text for s in parsed.sections)
        assert "before" in text and "after" in text
