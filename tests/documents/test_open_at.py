"""Opening a cited file at its page or line: the command of a viewer found on PATH (real
executables written by the test record what they were started with), the system's default
app first, and None where no viewer can be told the page (the window then opens the file
with the default app)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support.fake_apps import fake_app, only_on_path, recorded

from assistant.documents.open_at import EDITORS, PDF_VIEWERS, default_desktop_id, open_at

PDF_ARGS = {
    "evince": ["--page-index=3", "{f}"],
    "okular": ["--page", "3", "{f}"],
    "zathura": ["--page=3", "{f}"],
    "atril": ["--page-index=3", "{f}"],
    "xreader": ["--page-index=3", "{f}"],
    "qpdfview": ["{f}#3"],
}
EDITOR_ARGS = {"code": ["--goto", "{f}:12"], "gedit": ["{f}", "+12"], "kate": ["--line", "12", "{f}"]}


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    only_on_path(monkeypatch, folder)
    return folder


@pytest.mark.parametrize("exe", [a.exe for a in PDF_VIEWERS])
def test_each_pdf_viewer_is_started_at_the_page(exe: str, bin_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    app = fake_app(bin_dir, exe)
    opener = open_at(pdf, kind="pdf", page=3, default_app="")
    assert opener is not None and opener.argv[0] == str(app) and opener.where == "page 3"
    expected = [a.format(f=str(pdf.resolve())) for a in PDF_ARGS[exe]]
    assert opener.argv[1:] == expected
    subprocess.run(opener.argv, check=True, timeout=10)  # what it does when started
    assert recorded(app) == expected


@pytest.mark.parametrize("exe", [a.exe for a in EDITORS])
def test_each_editor_is_started_at_the_line(exe: str, bin_dir: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n", encoding="utf-8")
    app = fake_app(bin_dir, exe)
    opener = open_at(notes, kind="markdown", line=12, default_app="")
    assert opener is not None and opener.where == "line 12"
    assert opener.argv == [str(app), *[a.format(f=str(notes.resolve())) for a in EDITOR_ARGS[exe]]]


def test_the_first_viewer_on_path_unless_the_default_app_is_another(bin_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    evince, okular = fake_app(bin_dir, "evince"), fake_app(bin_dir, "okular")
    first = open_at(pdf, kind="pdf", page=2, default_app="")
    assert first is not None and (first.app, first.argv[0]) == ("Evince", str(evince))
    chosen = open_at(pdf, kind="pdf", page=2, default_app="org.kde.okular.desktop")
    assert chosen is not None and (chosen.app, chosen.argv[0]) == ("Okular", str(okular))


def test_the_default_app_is_asked_of_xdg_mime(bin_dir: Path, tmp_path: Path) -> None:
    xdg = bin_dir / "xdg-mime"
    xdg.write_text("#!/bin/sh\n[ \"$3\" = application/pdf ] && echo org.kde.okular.desktop\n", encoding="utf-8")
    xdg.chmod(0o755)
    assert default_desktop_id("application/pdf") == "org.kde.okular.desktop"
    fake_app(bin_dir, "evince")
    okular = fake_app(bin_dir, "okular")
    opener = open_at(tmp_path / "a.pdf", kind="pdf", page=5)
    assert opener is not None and opener.argv == [str(okular), "--page", "5", str((tmp_path / "a.pdf").resolve())]


def test_none_without_a_viewer_a_page_or_a_kind_that_has_lines(bin_dir: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    assert open_at(pdf, kind="pdf", page=1, default_app="") is None  # nothing on PATH
    fake_app(bin_dir, "evince")
    fake_app(bin_dir, "gedit")
    assert open_at(pdf, kind="pdf", page=None, default_app="") is None
    assert open_at(pdf, kind="pdf", page=0, default_app="") is None
    assert open_at(tmp_path / "a.docx", kind="docx", line=4, default_app="") is None  # paragraphs, not lines
    assert open_at(tmp_path / "a.html", kind="html", line=4, default_app="") is None
    assert open_at(tmp_path / "a.md", kind="markdown", page=2, default_app="") is None


def test_qpdfview_is_skipped_for_a_path_with_a_hash(bin_dir: Path, tmp_path: Path) -> None:
    fake_app(bin_dir, "qpdfview")
    assert open_at(tmp_path / "issue#4.pdf", kind="pdf", page=2, default_app="") is None
    assert open_at(tmp_path / "issue4.pdf", kind="pdf", page=2, default_app="") is not None
