"""Choosing the embedding model in the Documents dialog (pytest-qt, offscreen): the list
shows the English default and the multilingual model with size and state; choosing one not
installed offers its download (Offline mode says so at once); once it is in, the dialog says
how many passages are embedded again and re-embeds the collection with the real engine; a
GGUF file chosen by path does the same, and Cancel changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from support.hub_server import LocalHub

from assistant import network
from assistant.core.units import format_bytes
from assistant.documents.indexer import model_id
from assistant.documents.service import Documents, embedding_models_dir
from assistant.library.catalog import embedding_models
from assistant.paths import get_paths
from assistant.ui.documents.dialog import DocumentsDialog
from assistant.ui.documents.model_offer import OFFLINE_TEXT
from assistant.ui.documents.model_picker import BROWSE, EmbeddingModelsModel

WAIT = 120_000


@pytest.fixture
def indexed(minilm_path: Path, tmp_path: Path) -> Path:
    """A collection embedded by a MiniLM copy chosen by path (the model in use)."""
    model = tmp_path / "models" / "minilm.gguf"
    model.parent.mkdir()
    shutil.copyfile(minilm_path, model)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "orchard.md").write_text("# Orchard\n\nThe pear trees are pruned in February.\n", encoding="utf-8")
    (notes / "bread.md").write_text("# Bread\n\nThe dough rests overnight in a cool room.\n", encoding="utf-8")
    with Documents(get_paths().ensure()) as docs:
        docs.set_embedding_model(model)
        docs.add("notes", [notes])
        docs.sync("notes")
    return model


def _dialog(qtbot, hub: LocalHub) -> DocumentsDialog:  # type: ignore[no-untyped-def]
    d = DocumentsDialog(Documents(get_paths().ensure()), endpoint=lambda: hub.url)
    qtbot.addWidget(d)
    d.show()
    return d


def _close(d: DocumentsDialog) -> None:
    d.done(0)
    d.docs.close()


def _answer_box(button_text: str, seen: list[str]) -> None:
    """Click `button_text` in the next message box, keeping its text."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()
    QTimer.singleShot(0, click)


def _row(d: DocumentsDialog, entry_id: str) -> int:
    m = d.model_picker.models
    return next(i for i in range(m.rowCount()) if (r := m.row_at(i)) and r.choice and r.choice.entry.id == entry_id)


def test_the_list_names_each_model_with_language_size_and_state(qtbot, hub: LocalHub, indexed: Path) -> None:  # type: ignore[no-untyped-def]
    d = _dialog(qtbot, hub)
    try:
        picker = d.model_picker
        assert picker.label.buddy() is picker.combo and picker.label.text() == "Embedding &model:"
        en, multi = (next(e for e in embedding_models() if e.id == i) for i in ("bge-small-en-v1.5", "qwen3-embedding-0.6b"))
        texts = picker.texts()
        assert texts[0] == f"{en.name} — English, {format_bytes(en.default_file().size_bytes)}, not installed"
        assert texts[1] == f"{multi.name} — multilingual, {format_bytes(multi.default_file().size_bytes)}, not installed"
        assert texts[-2:] == ["minilm.gguf — your file", BROWSE]
        assert picker.combo.currentText() == "minilm.gguf — your file"  # the model in use
        m = picker.models
        i = _row(d, "qwen3-embedding-0.6b")
        assert m.data(m.index(i), EmbeddingModelsModel.LanguageRole) == "multilingual"
        assert m.data(m.index(i), EmbeddingModelsModel.InstalledRole) is False
        assert m.roleNames()[EmbeddingModelsModel.SizeRole].data() == b"size"
        assert not d.model_offer.isVisible()  # a model is installed: nothing offered
    finally:
        _close(d)


def test_offline_the_chosen_model_is_not_downloaded(qtbot, hub: LocalHub, indexed: Path) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    d = _dialog(qtbot, hub)
    try:
        d.model_picker.combo.activated.emit(_row(d, "qwen3-embedding-0.6b"))
        offer = d.model_offer
        assert offer.isVisible() and OFFLINE_TEXT in offer.text.text()
        assert offer.download_button.text().startswith("Download qwen3-embedding-0.6b (about ")
        offer.download_button.click()
        assert d.status.text() == OFFLINE_TEXT and offer.host is None and not hub.requests
        assert d.current_model() == indexed.resolve()  # unchanged
        assert d.model_picker.combo.currentText() == "minilm.gguf — your file"
    finally:
        _close(d)


def test_choosing_the_multilingual_model_downloads_says_the_cost_and_re_embeds(  # type: ignore[no-untyped-def]
        qtbot, hub: LocalHub, indexed: Path, minilm_path: Path) -> None:
    entry = next(e for e in embedding_models() if e.id == "qwen3-embedding-0.6b")
    filename = entry.default_file().filenames[0]
    hub.add_repo(entry.gguf_repo, {filename: minilm_path}, tags=["gguf"], license="apache-2.0")
    d = _dialog(qtbot, hub)
    try:
        chunks = d.docs.info(d.docs.collection("notes")).chunks
        d.model_picker.combo.activated.emit(_row(d, entry.id))
        assert d.model_offer.isVisible() and "not installed yet" in d.model_offer.text.text()
        assert d.current_model() == indexed.resolve()  # nothing changes before it is in
        seen: list[str] = []
        _answer_box("Change and embed again", seen)
        d.model_offer.download_button.click()
        qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
        assert f"Changing the model embeds “notes” again: {chunks:,} passage" in seen[0]
        qtbot.waitUntil(lambda: d.job is not None and not d.job.isRunning() and not d.stop_button.isEnabled(),
                        timeout=WAIT)
        [installed] = (embedding_models_dir(get_paths())).rglob(filename)
        assert d.current_model() == installed.resolve()
        assert d.docs.collection("notes").model == model_id(installed.resolve())
        assert d.model_picker.combo.currentText().endswith("multilingual, "
                                                          f"{format_bytes(entry.default_file().size_bytes)}, installed")
        assert "embedding model changed" in d.status.text()
        d.query.setText("When are the pears pruned?")
        d._on_search()
        qtbot.waitUntil(lambda: d.passages.rowCount() > 0, timeout=WAIT)
        assert any(p.vector_rank for p in d.passages.rows())  # searched by meaning with the new model
    finally:
        _close(d)


def test_a_gguf_file_chosen_by_path_cancel_keeps_the_model_then_change(  # type: ignore[no-untyped-def]
        qtbot, hub: LocalHub, indexed: Path, minilm_path: Path, tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "picked-embedder.gguf"
    shutil.copyfile(minilm_path, other)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(other), ""))
    d = _dialog(qtbot, hub)
    try:
        browse = d.model_picker.combo.count() - 1
        seen: list[str] = []
        _answer_box("Cancel", seen)
        d.model_picker.combo.activated.emit(browse)
        assert seen and "Changing the model embeds “notes” again" in seen[0]
        assert d.current_model() == indexed.resolve() and d.status.text() == "The embedding model was not changed."
        assert d.job is None

        _answer_box("Change and embed again", seen)
        d.model_picker.combo.activated.emit(browse)
        qtbot.waitUntil(lambda: d.job is not None and not d.job.isRunning() and not d.stop_button.isEnabled(),
                        timeout=WAIT)
        assert d.current_model() == other.resolve()
        assert d.model_picker.combo.currentText() == "picked-embedder.gguf — your file"
        assert d.docs.collection("notes").model == model_id(other.resolve())
    finally:
        _close(d)


def test_alt_m_reaches_the_model_list(qtbot, hub: LocalHub, indexed: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    d = _dialog(qtbot, hub)
    try:
        d.activateWindow()
        d.query.setFocus()
        qtbot.waitUntil(lambda: d.query.hasFocus(), timeout=5_000)
        QTest.keyClick(d, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
        qtbot.waitUntil(lambda: d.model_picker.combo.hasFocus(), timeout=5_000)
    finally:
        _close(d)


def test_every_collection_is_embedded_again_in_turn_and_stop_leaves_the_rest(  # type: ignore[no-untyped-def]
        qtbot, hub: LocalHub, indexed: Path, minilm_path: Path, tmp_path: Path, monkeypatch) -> None:
    more = tmp_path / "more"
    more.mkdir()
    (more / "bees.md").write_text("# Bees\n\nThe hives are checked every spring.\n", encoding="utf-8")
    other, third = tmp_path / "second.gguf", tmp_path / "third.gguf"
    shutil.copyfile(minilm_path, other)
    shutil.copyfile(minilm_path, third)
    d = _dialog(qtbot, hub)
    try:
        d.docs.add("bees", [more])
        d.start_index("bees")
        qtbot.waitUntil(lambda: d.job is not None and not d.job.isRunning() and not d.stop_button.isEnabled(),
                        timeout=WAIT)
        seen: list[str] = []
        _answer_box("Change and embed again", seen)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(other), ""))
        d.model_picker.combo.activated.emit(d.model_picker.combo.count() - 1)
        assert "Changing the model embeds all 2 collections again" in seen[0]
        qtbot.waitUntil(lambda: all(c.model == model_id(other.resolve()) for c in d.docs.index.collections()),
                        timeout=WAIT)
        qtbot.waitUntil(lambda: d.job is not None and not d.job.isRunning() and not d.stop_button.isEnabled(),
                        timeout=WAIT)

        _answer_box("Change and embed again", seen)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(third), ""))
        d.model_picker.combo.activated.emit(d.model_picker.combo.count() - 1)
        first = d.job
        assert first is not None
        d.stop_button.click()  # before the engine has started: the first stops, the second waits
        qtbot.waitUntil(lambda: not first.isRunning() and not d.stop_button.isEnabled(), timeout=WAIT)
        assert d.job is first and not d._queue
        models = {c.name: c.model for c in d.docs.index.collections()}
        [left] = [n for n, m in models.items() if m == model_id(other.resolve())]  # not reached: still the old model
        assert "Stopped: the rest is indexed next time." in d.status.text()
        assert f"Not embedded again yet: “{left}”; the new model embeds it when next indexed." in d.status.text()
    finally:
        _close(d)


def test_a_result_queued_when_the_dialog_closes_is_not_shown(qtbot, hub: LocalHub, indexed: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the thread has ended, its result is a queued signal, and the dialog closes with its store
    (tmp_path / "notes" / "tide.md").write_text("# Tide\n\nHigh tide is at noon.\n", encoding="utf-8")
    d = _dialog(qtbot, hub)
    d.start_index("notes")
    assert d.job is not None and d.job.wait(WAIT)
    _close(d)
    qtbot.wait(100)  # delivered now: nothing reads the closed store
    assert d.status.text().startswith("Indexing")
