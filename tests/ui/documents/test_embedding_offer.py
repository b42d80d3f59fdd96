"""The first use of Documents offers the default embedding model (pytest-qt, offscreen): the
dialog shows "Download bge-small-en-v1.5 (about N MB)", Cancel stops a download and keeps
nothing, the download (the real MiniLM GGUF served by the tests' local Hub under the
catalog's repo and file name) lands in the documents' models folder and the indexing that
waited for it then runs; Offline mode says so and connects nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub

from assistant import network
from assistant.core.units import format_bytes
from assistant.documents.service import Documents, embedding_models_dir
from assistant.library.catalog import default_embedding_model
from assistant.paths import get_paths
from assistant.ui.documents.dialog import DocumentsDialog
from assistant.ui.documents.model_offer import OFFLINE_TEXT

WAIT = 60_000


@pytest.fixture
def dialog(qtbot, hub: LocalHub) -> Iterator[DocumentsDialog]:  # type: ignore[no-untyped-def]
    d = DocumentsDialog(Documents(get_paths().ensure()), endpoint=lambda: hub.url)
    qtbot.addWidget(d)
    d.show()
    yield d
    d.done(0)
    d.docs.close()


def test_offline_the_offer_says_so_and_connects_nowhere(qtbot, dialog: DocumentsDialog, hub: LocalHub) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    before = len(network.entries())
    offer = dialog.model_offer
    assert offer.isVisible()  # no model yet: the first use offers one
    offer.download_button.click()
    assert offer.text.text() == OFFLINE_TEXT and dialog.status.text() == OFFLINE_TEXT
    assert offer.host is None and not offer.busy()  # no queue, no thread, no connection
    assert len(network.entries()) == before and not hub.requests


def test_the_offer_downloads_then_the_waiting_indexing_runs(qtbot, dialog: DocumentsDialog, hub: LocalHub,
                                                             minilm_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    entry = default_embedding_model()
    assert entry is not None
    filename = entry.default_file().filenames[0]
    notes = tmp_path / "notes.md"
    notes.write_text("# Orchard\n\nThe pear trees are pruned in February, before the buds open.\n", encoding="utf-8")
    folder = embedding_models_dir(get_paths())
    hub.add_repo(entry.gguf_repo, {filename: minilm_path}, tags=["gguf"], license="mit")
    offer = dialog.model_offer
    assert offer.isVisible()
    assert offer.download_button.text() == f"Download bge-small-en-v1.5 (about {format_bytes(entry.default_file().size_bytes)})"
    dialog.add_collection("notes", [notes], ask=False)  # indexing needs the model: it waits for it
    assert dialog.job is None and "embedding model is needed" in dialog.status.text()

    hub.throttle_bps = 4_000_000  # slow enough to cancel
    offer.download_button.click()
    assert offer.cancel_button.isVisible() and offer.progress.isVisible()
    qtbot.waitUntil(lambda: offer.progress.value() > 0, timeout=WAIT)
    offer.cancel_button.click()
    qtbot.waitUntil(lambda: not offer.busy(), timeout=WAIT)
    assert "cancelled" in offer.text.text() and offer.download_button.isVisible()
    assert not list(folder.rglob("*.gguf")) and not list(folder.rglob("*.part"))
    assert dialog.job is None

    hub.throttle_bps = None
    offer.download_button.click()
    qtbot.waitUntil(lambda: dialog.job is not None, timeout=WAIT)  # the model came, the indexing started
    qtbot.waitUntil(lambda: not dialog.job.isRunning() and dialog.stop_button.isEnabled() is False, timeout=WAIT)
    assert not offer.isVisible()
    [installed] = folder.rglob("*.gguf")
    assert installed.name == filename and installed.read_bytes() == minilm_path.read_bytes()
    [row] = dialog.collections.rows()
    assert row.name == "notes" and row.indexed == 1 and row.chunks >= 1
    dialog.query.setText("When are the pears pruned?")
    dialog._on_search()
    qtbot.waitUntil(lambda: dialog.passages.rowCount() > 0, timeout=WAIT)


def test_attaching_a_file_in_a_chat_offers_the_model_then_indexes(qtbot, hub: LocalHub, gemma_path: Path,
                                                                  minilm_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from support.window import close_window, gemma_settings, open_window

    entry = default_embedding_model()
    assert entry is not None
    hub.add_repo(entry.gguf_repo, {entry.default_file().filenames[0]: minilm_path}, tags=["gguf"], license="mit")
    notes = tmp_path / "notes.md"
    notes.write_text("# Orchard\n\nThe pear trees are pruned in February.\n", encoding="utf-8")
    w = open_window(qtbot, gemma_settings(gemma_path))
    w.hub_endpoint = hub.url
    try:
        d = w.documents
        assert not d.model_offer.isVisible()  # nothing is offered before documents are used
        assert d.attach([notes])
        assert d.job is None and d.model_offer.isVisible() and d.bar.isVisible()
        assert "once an embedding model is installed" in d.status.text()
        d.model_offer.download_button.click()
        qtbot.waitUntil(lambda: d.job is not None, timeout=WAIT)  # downloaded: the waiting indexing started
        qtbot.waitUntil(lambda: not d.indexing(), timeout=WAIT)
        assert not d.model_offer.isVisible()
        assert d.chip_texts() == ["notes.md  ✕"]  # indexed: no "(indexing)"
        assert [p.name for p in embedding_models_dir(get_paths()).rglob("*.gguf")] == [entry.default_file().filenames[0]]
        w.rescan_models()  # the chat's model picker never offers it
        qtbot.waitUntil(lambda: w._scan is None, timeout=WAIT)
        items = [w.header.picker.itemText(i) for i in range(w.header.picker.count())]
        assert items and not any("bge" in t.lower() for t in items)
    finally:
        close_window(w)


def test_a_chosen_model_that_went_missing_is_replaced_by_the_download(qtbot, hub: LocalHub, minilm_path: Path,
                                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    entry = default_embedding_model()
    assert entry is not None
    hub.add_repo(entry.gguf_repo, {entry.default_file().filenames[0]: minilm_path}, tags=["gguf"], license="mit")
    gone = tmp_path / "old-embedder.gguf"
    shutil.copyfile(minilm_path, gone)
    paths = get_paths().ensure()
    with Documents(paths) as docs:
        docs.set_embedding_model(gone)
    gone.unlink()
    d = DocumentsDialog(Documents(paths), endpoint=lambda: hub.url)
    qtbot.addWidget(d)
    d.show()
    try:
        assert d.model_offer.isVisible()
        d.model_offer.download_button.click()
        qtbot.waitUntil(lambda: not d.model_offer.busy(), timeout=WAIT)
        [installed] = embedding_models_dir(paths).rglob("*.gguf")
        assert d.docs.embedding_model_path() == installed.resolve()  # chosen now: the old one is not asked for
    finally:
        d.done(0)
        d.docs.close()
