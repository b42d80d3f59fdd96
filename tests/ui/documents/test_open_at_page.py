"""Open file in a source's preview (pytest-qt, offscreen): a real PDF indexed by the real
MiniLM model, a passage of its second page cited, and "Open file" starts the viewer found on
PATH (a real executable written by the test, recording its arguments) at page 2, detached,
and says so; with no such viewer it hands the file to the system's default app."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget
from support.documents import make_pdf
from support.fake_apps import fake_app, only_on_path, recorded

from assistant.documents.answer import DocumentContext, sources_payload
from assistant.documents.service import Documents
from assistant.paths import get_paths
from assistant.ui.documents.sources_view import SourcesView


@pytest.fixture
def cited(minilm_path: Path, tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    (tmp_path / "files").mkdir()
    pdf = make_pdf(tmp_path / "files" / "manual.pdf", scanned_page=False)
    with Documents(get_paths().ensure()) as docs:
        docs.set_embedding_model(minilm_path)
        docs.add("manual", [pdf.parent])
        docs.sync("manual")
        found = docs.search("How often is the fog horn sounded in a gale?", ["manual"], top_k=3)
    top = found.candidates[0]
    assert top.page == 2 and "fog horn" in top.text
    return sources_payload(DocumentContext("q", [top], "retrieval"))


class _Catch(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def _preview(qtbot, sources: list[dict]):  # type: ignore[no-untyped-def,type-arg]
    host = QWidget()  # the caller keeps it: the preview is its child
    qtbot.addWidget(host)
    view = SourcesView(host)
    view.set_sources(sources)
    return host, view.activate(0)


def test_open_file_starts_the_viewer_at_the_cited_page(qtbot, cited, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bin_dir = tmp_path / "bin"
    only_on_path(monkeypatch, bin_dir)
    evince = fake_app(bin_dir, "evince")
    _host, preview = _preview(qtbot, cited)
    qtbot.waitUntil(lambda: preview.opener_checked, timeout=10_000)  # looked up off the GUI thread
    path = cited[0]["path"]
    assert preview.open_button.toolTip() == "Open manual.pdf in Evince at page 2"
    preview.open_button.click()
    assert recorded(evince) == ["--page-index=2", str(Path(path).resolve())]
    assert preview.said.text() == "Opened manual.pdf in Evince at page 2."


def test_without_a_viewer_the_default_app_opens_it(qtbot, cited, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    only_on_path(monkeypatch, tmp_path / "empty")
    catch = _Catch()
    QDesktopServices.setUrlHandler("file", catch, "open")  # type: ignore[arg-type]  # PySide6 takes the name as str
    _host, preview = _preview(qtbot, cited)
    qtbot.waitUntil(lambda: preview.opener_checked, timeout=10_000)
    try:
        assert preview.opener is None and "the app this computer uses" in preview.open_button.toolTip()
        preview.open_button.click()
        assert [u.toLocalFile() for u in catch.urls] == [str(Path(cited[0]["path"]))]
        assert preview.said.text() == "Opened manual.pdf in the app this computer uses for it."
    finally:
        QDesktopServices.unsetUrlHandler("file")
