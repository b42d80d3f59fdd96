"""The model library window: catalog with fit labels, Hub search against a local Hub,
downloads, the Installed list (delete, import), per-model settings, offline mode."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from assistant import hardware, network
from assistant import model_settings as msm
from assistant.core.types import ModelRef
from assistant.core.units import format_bytes
from assistant.library.catalog import load_catalog
from assistant.library.fit import LABELS, recommend
from assistant.library.speed import COMFORTABLE_TPS
from assistant.paths import get_paths
from assistant.settings import Settings, load_settings, save_settings
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog
from assistant.ui.library.tabs.search import OFFLINE_SEARCH
from assistant.ui.library.window import LibraryWindow

WAIT = 20_000


def _no_downloads():  # type: ignore[no-untyped-def]
    raise AssertionError("no download expected")


def make(qtbot, settings: Settings | None = None, endpoint: str | None = None, downloads=_no_downloads) -> LibraryWindow:  # type: ignore[no-untyped-def]
    paths = get_paths().ensure()
    w = LibraryWindow(paths, settings or Settings(), downloads, endpoint=endpoint)
    qtbot.addWidget(w)
    w.resize(1100, 720)
    w.show()
    qtbot.waitUntil(lambda: not w.busy, timeout=WAIT)
    return w


@pytest.fixture(autouse=True)
def _online():  # type: ignore[no-untyped-def]
    network.set_offline(False)
    yield
    network.set_offline(False)


def test_catalog_shows_fit_labels_and_the_recommended_model(qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    tab = make(qtbot).recommended_tab
    m = tab.catalog
    assert m.rowCount() >= 3
    qtmodeltester.check(m)
    fit_texts = [m.index(r, m.FIT_COLUMN).data() for r in range(m.rowCount())]
    assert all(any(label in t for label in LABELS.values()) for t in fit_texts), fit_texts
    recommended = [r for r in range(m.rowCount()) if m.index(r, 0).data(m.RecommendedRole)]
    # exactly the one fit.recommend picks for this machine (or none, when nothing fits comfortably)
    expected = recommend(load_catalog(), hardware.detect(), Settings().context_length)
    assert [m.index(r, 0).data(m.EntryRole).id for r in recommended] == ([expected[0].id] if expected else [])
    assert all("Recommended" in m.index(r, 0).data() for r in recommended)
    for r in range(m.rowCount()):  # "Good first model" only where it answers at a comfortable pace here
        first = m.index(r, 0)
        good = bool(first.data(m.GoodFirstRole))
        assert ("Good first model" in first.data()) == (good and not first.data(m.RecommendedRole))
        if good:
            fit = first.data(m.FitRole)
            assert fit.fits and (fit.speed is None or fit.speed.tokens_per_s >= COMFORTABLE_TPS)
    # every quantization of the selected model is listed with its own fit label
    combo = tab.quant_combo
    assert combo.count() >= 1
    assert all(any(lab in combo.itemText(i) for lab in LABELS.values()) for i in range(combo.count()))


def test_licence_is_shown_before_a_download_and_restrictions_are_flagged(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = make(qtbot)
    row = next(r for r in w.recommended_tab.catalog.rows() if r.entry.restrictions)
    seen: dict[str, str] = {}

    def cancel() -> None:
        box = w.license_box
        assert box is not None
        seen["text"] = box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(100, cancel)
    assert w.download_catalog_file(row.entry, row.entry.default_file()) is None  # cancelled: nothing queued
    assert row.entry.license_name in seen["text"]
    assert "restricts" in seen["text"] and html.escape(row.entry.restrictions[0]) in seen["text"]


def test_offline_search_makes_no_call(qtbot) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    before = len(network.entries())
    w = make(qtbot, endpoint="http://127.0.0.1:9")
    s = w.search_tab
    assert w.banner.isVisible() and not s.search_box.isEnabled()
    s.search_box.setText("qwen")
    w.search()
    assert s.search_status.text() == OFFLINE_SEARCH
    assert s.hub_results.rowCount() == 0 and not w.busy
    assert len(network.entries()) == before


def test_search_lists_results_and_files_from_a_local_hub(qtbot, qtmodeltester, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.hub_server import LocalHub

    with LocalHub() as hub:
        # a vision projector, smaller than the model: it must not be offered (or preselected) as one
        hub.add_repo("acme/Tiny-GGUF", {"tiny-Q4_K_M.gguf": gemma_path, "mmproj-tiny-f16.gguf": b"GGUF" + bytes(512),
                                        "README.md": b"# tiny"},
                     downloads=1234, license="apache-2.0", tags=["gguf"])
        hub.add_repo("acme/Other-GGUF", {"other-Q8_0.gguf": b"GGUF" + bytes(2048)}, downloads=5, tags=["gguf"])
        w = make(qtbot, endpoint=hub.url)
        w.tabs.setCurrentIndex(1)
        s = w.search_tab
        s.search_box.setText("tiny")
        s.search()
        qtbot.waitUntil(lambda: s.hub_results.rowCount() >= 1 and not w.busy, timeout=WAIT)
        qtmodeltester.check(s.hub_results)
        repos = [s.hub_results.index(r, 0).data() for r in range(s.hub_results.rowCount())]
        assert "acme/Tiny-GGUF" in repos
        row = repos.index("acme/Tiny-GGUF")
        assert s.hub_results.index(row, 1).data() == "1,234"
        assert s.hub_results.index(row, 3).data() == "apache-2.0"
        s.results_view.selectRow(row)
        qtbot.waitUntil(lambda: s.hub_files.rowCount() == 1 and not w.busy, timeout=WAIT)
        qtmodeltester.check(s.hub_files)
        assert s.hub_files.index(0, 0).data() == "Q4_K_M"
        assert s.hub_files.index(0, 3).data() == "tiny-Q4_K_M.gguf + mmproj-tiny-f16.gguf"  # it downloads with it
        assert s.hub_files.index(0, 1).data().endswith("+ 516 B 👁")
        assert any(s.hub_files.index(0, 2).data().startswith(lab) for lab in LABELS.values())
        assert "words a second" in s.hub_files.index(0, 2).data()  # the speed beside the fit
        assert "vision projector (mmproj-tiny-f16.gguf, 516 B) downloads with it" in s.search_status.text()
        assert "for the vision projector" in s.hub_files.index(0, 2).data(Qt.ItemDataRole.ToolTipRole)


def _put(models: Path, gemma_path: Path, name: str) -> Path:
    dst = models / f"org__{name}" / f"{name}.gguf"
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(gemma_path.read_bytes())  # a copy: deleting it frees its size (a hard link frees nothing)
    return dst


def test_installed_lists_details_and_delete_frees_the_files(qtbot, qtmodeltester, gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    models = get_paths().ensure().models_dir
    a = _put(models, gemma_path, "gemma-a")
    w = make(qtbot)
    tab = w.installed_tab
    m = tab.installed
    assert m.rowCount() == 1
    qtmodeltester.check(m)
    assert [m.index(0, c).data() for c in (0, 2, 3, 5)] == ["gemma-a", "GGUF", "Q4_K_M", "Never"]
    assert "MB" in m.index(0, 1).data()
    asked: list[str] = []

    def yes(_parent, _title, text, *_a):  # type: ignore[no-untyped-def]
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", yes)
    changed: list[bool] = []
    w.models_changed.connect(lambda: changed.append(True))
    w.tabs.setCurrentIndex(3)
    tab.installed_view.selectRow(0)
    tab.delete_button.click()
    qtbot.waitUntil(lambda: m.rowCount() == 0 and not w.busy, timeout=WAIT)
    assert f"frees {format_bytes(gemma_path.stat().st_size)}" in asked[0]  # the copy's own size
    assert not a.exists() and not a.parent.exists() and changed


def test_import_a_gguf_file_shows_it_in_installed(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make(qtbot)
    tab = w.installed_tab
    assert tab.installed.rowCount() == 0
    w.import_path(gemma_path)
    assert w.tabs.currentWidget() is tab
    qtbot.waitUntil(lambda: tab.installed.rowCount() == 1 and not w.busy, timeout=WAIT)
    row = tab.installed.row_at(0)
    assert row.in_models_dir and row.quant == "Q4_K_M"
    used: list[ModelRef] = []
    w.model_use_requested.connect(used.append)
    tab.installed_view.selectRow(0)
    tab.use_button.click()
    assert used and used[0].path == row.path


def test_model_settings_dialog_persists_per_model(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = Settings()
    ref = ModelRef(gemma_path, "gguf")
    dlg = ModelSettingsDialog(ref, s, ["llama.cpp"])
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.advanced_box.isVisible()
    dlg.advanced.setChecked(True)
    assert dlg.advanced_box.isVisible() and s.advanced_settings
    assert not dlg.engine.isVisible()  # one engine can run it: no choice shown
    dlg.context.setValue(1536)
    dlg.temperature.setValue(0.3)
    dlg.top_k.setValue(12)
    dlg.gpu_layers.setValue(0)
    changed: list[tuple] = []
    dlg.model_settings_changed.connect(lambda *a: changed.append(a))
    dlg.accept()
    assert changed and msm.needs_reload(changed[0][1], changed[0][2])
    p = get_paths().ensure().settings_file
    save_settings(s, p)
    back = load_settings(p).settings
    own = msm.get(back, gemma_path)
    assert (own.context_length, own.temperature, own.top_k, own.n_gpu_layers) == (1536, 0.3, 12, 0)
    assert own.top_p is None  # unchanged values stay app-wide defaults
    assert msm.gen_params(back, gemma_path).top_k == 12 and back.advanced_settings
    dlg2 = ModelSettingsDialog(ref, back, ["llama.cpp", "mlx"])
    qtbot.addWidget(dlg2)
    dlg2.show()
    assert dlg2.context.value() == 1536 and dlg2.advanced_box.isVisible() and dlg2.engine.isVisible()


def _accept_licence(qtbot, owner) -> None:  # type: ignore[no-untyped-def]
    """Click "Download" in the licence box as soon as it is up."""
    def click() -> None:
        box = owner.license_box
        if box is None:
            QTimer.singleShot(50, click)
            return
        ok = next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
        ok.click()

    QTimer.singleShot(50, click)


def test_download_from_a_local_hub_reaches_installed_and_the_header_picker(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.chat.store import ChatStore
    from assistant.ui.main_window import MainWindow
    from tests.support.hub_server import LocalHub

    paths = get_paths().ensure()
    with LocalHub() as hub:
        hub.add_repo("acme/Tiny-GGUF", {"tiny-Q4_K_M.gguf": gemma_path}, downloads=7, license="apache-2.0", tags=["gguf"])
        hub.throttle_bps = 60_000_000  # bytes/s: slow enough to see progress before the end
        store = ChatStore.open(paths.history_db)
        mw = MainWindow(paths, Settings(first_run_done=True, context_length=1024, n_threads=2), store)
        qtbot.addWidget(mw)
        mw.hub_endpoint = hub.url
        mw.show()
        qtbot.waitUntil(lambda: mw._scanned, timeout=WAIT)
        assert mw.installed.rowCount() == 0 and mw.wizard is None
        mw.open_library()
        lib = mw.library
        qtbot.waitUntil(lambda: not lib.busy, timeout=WAIT)
        s = lib.search_tab
        s.search_box.setText("tiny")
        s.search()
        qtbot.waitUntil(lambda: s.hub_results.rowCount() == 1 and not lib.busy, timeout=WAIT)
        s.results_view.selectRow(0)
        qtbot.waitUntil(lambda: s.hub_files.rowCount() == 1 and not lib.busy, timeout=WAIT)
        states: list[str] = []
        _accept_licence(qtbot, lib)
        s.hub_download.click()
        host = mw.download_host()
        host.progress_changed.connect(lambda _i, p: states.append(p.state))
        assert lib.tabs.currentIndex() == 2 and lib.downloads_tab.downloads_view.model() is host.model
        d = lib.downloads_tab
        enabled: list[tuple[bool, bool, bool]] = []
        host.progress_changed.connect(lambda _i, p: enabled.append(
            (d.pause_button.isEnabled(), d.resume_button.isEnabled(), d.cancel_button.isEnabled())) if p.state == "downloading" else None)
        qtbot.waitUntil(lambda: lib.installed_tab.installed.rowCount() == 1, timeout=120_000)
        # while it downloads: Pause and Cancel, not Resume; once done: none of them
        assert (True, False, True) in enabled
        qtbot.waitUntil(lambda: not (d.pause_button.isEnabled() or d.cancel_button.isEnabled()), timeout=WAIT)
        assert "downloading" in states and "done" in states
        qtmodeltester_rows = host.model.rowCount()
        assert qtmodeltester_rows == 1 and host.model.index(0, 3).data() == "Done"
        installed = lib.installed_tab.installed.row_at(0)
        assert installed.repo_id == "acme/Tiny-GGUF" and installed.quant == "Q4_K_M"
        # the chat header's picker sees it, and the first model is loaded
        qtbot.waitUntil(lambda: mw.installed.rowCount() == 1, timeout=WAIT)
        assert mw.header.picker.count() == 1 and "tiny-Q4_K_M" in mw.header.picker.itemText(0)
        qtbot.waitUntil(lambda: mw.session.loaded is not None, timeout=60_000)
        mw.close()
        store.close()


def test_model_settings_fit_the_screen_at_a_large_font_and_explain_each_setting(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    from assistant.ui.common.theme import apply_theme

    app = QApplication.instance()
    apply_theme(app, "light", 14)  # type: ignore[arg-type]
    try:
        s = Settings(advanced_settings=True)
        dlg = ModelSettingsDialog(ModelRef(gemma_path, "gguf"), s, ["llama.cpp"])
        qtbot.addWidget(dlg)
        dlg.show()
        screen = dlg.screen().availableGeometry()  # offscreen: 800x600
        assert dlg.height() <= screen.height() and dlg.width() <= screen.width()
        qtbot.waitUntil(lambda: dlg.scroll.viewport().height() > 0)
        # what does not fit scrolls; OK and Cancel stay in view
        bar = dlg.scroll.verticalScrollBar()
        assert bar.maximum() > 0 or dlg.body.sizeHint().height() <= dlg.scroll.viewport().height(), (
            dlg.height(), dlg.body.sizeHint().height(), dlg.scroll.viewport().height())
        for w in (dlg.context, dlg.temperature, dlg.system_prompt, dlg.gpu_layers, dlg.threads, dlg.top_p,
                  dlg.top_k, dlg.min_p, dlg.repeat_penalty, dlg.max_tokens, dlg.template):
            assert w.toolTip() and w.accessibleDescription() == w.toolTip()
    finally:
        apply_theme(app, "system", 11)  # type: ignore[arg-type]


def test_columns_fit_and_buttons_match_the_selection(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from assistant.ui.library.widgets import MAX_COLUMN_CHARS

    paths = get_paths().ensure()
    inside = paths.models_dir / "acme__Tiny" / "tiny-Q4_K_M.gguf"
    inside.parent.mkdir(parents=True)
    shutil.copy(gemma_path, inside)
    s = Settings(extra_models=[str(gemma_path)], default_model=str(gemma_path))
    w = make(qtbot, settings=s)
    # Recommended: the highlighted first row can be downloaded without a click
    rec = w.recommended_tab
    assert rec.catalog_view.currentIndex().row() == 0 and rec.catalog_download.isEnabled()
    view = rec.catalog_view
    cap = view.fontMetrics().averageCharWidth() * MAX_COLUMN_CHARS
    h = view.horizontalHeader()
    for col in range(1, h.count()):  # column 0 stretches; the others show their contents
        assert h.sectionSize(col) >= min(cap, view.sizeHintForColumn(col)), col
    # Downloads: nothing to pause, resume or cancel
    d = w.downloads_tab
    assert not (d.pause_button.isEnabled() or d.resume_button.isEnabled() or d.cancel_button.isEnabled())
    # Installed: the total counts both models; the added file can be taken off the list
    inst = w.installed_tab
    inst.refresh_installed()
    qtbot.waitUntil(lambda: inst.installed.rowCount() == 2 and not w.busy, timeout=WAIT)
    status = inst.installed_status.text()
    assert status.startswith("2 models:") and "1 used from elsewhere on disk" in status and " 0 B" not in status
    row = next(i for i, m in enumerate(inst.installed.rows()) if not m.in_models_dir)
    inst.installed_view.selectRow(row)
    assert inst.delete_button.text() == "Remove from list"
    changed: list[bool] = []
    inst.models_changed.connect(lambda: changed.append(True))
    inst.delete_button.click()
    assert changed and s.extra_models == [] and s.default_model == "" and gemma_path.exists()
    qtbot.waitUntil(lambda: inst.installed.rowCount() == 1 and not w.busy, timeout=WAIT)


def test_the_library_fits_its_screen_and_remembers_its_size(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QPushButton

    settings = Settings()
    paths = get_paths().ensure()
    w = LibraryWindow(paths, settings, _no_downloads)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.busy, timeout=WAIT)
    room = QGuiApplication.primaryScreen().availableGeometry()  # offscreen: 800 wide, narrower than 1000
    assert w.width() <= room.width() and w.height() <= room.height()
    assert room.contains(w.geometry())
    for b in w.findChildren(QPushButton):  # Close and every tab's buttons are inside the window
        if b.isVisible():
            corner = b.mapTo(w, b.rect().bottomRight())
            assert w.rect().contains(corner), (b.text(), corner, w.size())
    w.resize(700, 500)
    w.hide()
    assert settings.window_sizes["library"] == [700, 500]
    again = LibraryWindow(paths, settings, _no_downloads)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (700, 500)


def test_installed_columns_all_show_the_name_gives_way(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QApplication

    from assistant.ui.common.theme import apply_theme

    apply_theme(QApplication.instance(), "light", 11)  # type: ignore[arg-type]  # whatever a test before left
    models = get_paths().ensure().models_dir
    long_dir = models / ("an-organisation-with-a-long-name__" + "Some-Model-Family-" * 3 + "Instruct-GGUF")
    long_dir.mkdir(parents=True)
    (long_dir / ("Some-Model-Family-" * 3 + "Instruct-Q4_K_M.gguf")).write_bytes(gemma_path.read_bytes())
    w = make(qtbot)
    w.tabs.setCurrentWidget(w.installed_tab)
    view = w.installed_tab.installed_view
    qtbot.waitUntil(lambda: view.model().rowCount() >= 1, timeout=WAIT)
    w.resize(760, 560)
    h = view.horizontalHeader()

    def total() -> int:
        return sum(h.sectionSize(c) for c in range(h.count()))

    qtbot.waitUntil(lambda: view.viewport().width() < 760 and total() <= view.viewport().width() + 1, timeout=5000)
    for col in range(1, h.count()):  # every figure and the licence are whole
        assert h.sectionSize(col) >= view.sizeHintForColumn(col), view.model().headerData(col, 1)
    assert view.model().index(0, 0).data(3)  # the name in full, in its tooltip
