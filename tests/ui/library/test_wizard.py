"""The first-run wizard: online with a local Hub (recommended -> download -> chat ready),
offline (says downloads need the network, offers a file), and the first start."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from assistant import network
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.library.wizard import OFFLINE_TEXT, FirstRunWizard

WAIT = 20_000


@pytest.fixture(autouse=True)
def _online():  # type: ignore[no-untyped-def]
    network.set_offline(False)
    yield
    network.set_offline(False)


def test_offline_wizard_says_downloads_need_the_network(qtbot) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    before = len(network.entries())
    w = FirstRunWizard(get_paths().ensure(), Settings(), lambda: pytest.fail("no download offline"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.hw is not None, timeout=WAIT)
    assert "RAM" in w.hw_label.text() and "Engine" in w.hw_label.text()
    w.next_button.click()
    assert w.pages.currentIndex() == 1
    assert w.offline_label.isVisible() and w.offline_label.text() == OFFLINE_TEXT
    assert not w.download_button.isEnabled() and w.import_button.isVisible()
    assert len(network.entries()) == before


def test_use_a_file_i_have_opens_a_file_chooser_and_finishes(qtbot, gemma_path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    network.set_offline(True)  # the case that needs it most: no download possible
    w = FirstRunWizard(get_paths().ensure(), Settings(), lambda: pytest.fail("no download offline"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.hw is not None, timeout=WAIT)
    w.next_button.click()
    broken = tmp_path / "notes.gguf"
    broken.write_text("not a model")
    answers = iter([(str(broken), ""), ("", ""), (str(gemma_path), "")])  # a bad file, Cancel, a good one
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (asked.append(a[1]), next(answers))[1])
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text, *a, **k: warned.append(text))
    chosen: list[str] = []
    w.model_file_chosen.connect(chosen.append)
    w.import_button.click()  # a file that is not a model: said, and the wizard stays
    assert asked == ["Use a model file"] and warned and w.pages.currentIndex() == 1 and chosen == []
    w.import_button.click()  # cancelled: nothing happens
    assert w.pages.currentIndex() == 1 and chosen == []
    w.import_button.click()
    assert chosen == [str(gemma_path)] and w.pages.currentIndex() == 3
    assert w.ready_ref is not None and w.ready_ref.path == gemma_path
    assert w.next_button.text() == "Start chatting"


def test_online_wizard_downloads_the_recommended_model_and_is_ready(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.library.download_host import DownloadHost
    from tests.support.hub_server import LocalHub

    paths = get_paths().ensure()
    with LocalHub() as hub:
        hub.throttle_bps = 80_000_000
        hosts: list[DownloadHost] = []

        def host() -> DownloadHost:
            if not hosts:
                hosts.append(DownloadHost(paths.models_dir, hub.url))
            return hosts[0]

        w = FirstRunWizard(paths, Settings(), host, endpoint=hub.url)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.hw is not None, timeout=WAIT)
        assert w.choice is not None, "the catalog should recommend something for this machine"
        entry, file, fit = w.choice
        # the local Hub serves the recommended repo (the real Gemma bytes under its file names)
        hub.add_repo(entry.gguf_repo, {name: gemma_path for name in file.filenames},
                     license=entry.license_id, tags=["gguf"])
        w.next_button.click()
        assert entry.name in w.model_label.text() and entry.license_name in w.model_label.text()
        assert fit.label_with_speed in w.model_label.text() and "words a second" in w.model_label.text()
        # a model that answers at a comfortable pace here, or the quickest when none does; no
        # thinking out loud when answers come slowly
        if fit.speed.tokens_per_s < 30:
            assert entry.reasoning != "always", entry.id
        progress: list[int] = []
        w.progress.valueChanged.connect(progress.append)

        def accept() -> None:
            box = w.license_box
            if box is None:
                QTimer.singleShot(50, accept)
                return
            next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()

        QTimer.singleShot(50, accept)
        w.download_button.click()
        assert w.pages.currentIndex() == 2
        qtbot.waitUntil(lambda: w.pages.currentIndex() == 3, timeout=120_000)
        assert progress and progress[-1] == 100 and len(set(progress)) >= 2
        ready: list = []
        w.model_ready.connect(ready.append)
        w.next_button.click()
        assert ready and ready[0].path.exists() and ready[0].path.name == file.filenames[0]
        hosts[0].shutdown()


def test_first_start_without_models_shows_the_wizard_and_skip_sets_first_run_done(qtbot) -> None:  # type: ignore[no-untyped-def]
    from assistant.chat.store import ChatStore
    from assistant.settings import load_settings
    from assistant.ui.main_window import MainWindow

    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    mw = MainWindow(paths, Settings(), store)
    qtbot.addWidget(mw)
    mw.show()
    qtbot.waitUntil(lambda: mw.wizard is not None and mw.wizard.isVisible(), timeout=WAIT)
    mw.wizard.skip_button.click()
    assert mw.settings.first_run_done
    assert load_settings(paths.settings_file).settings.first_run_done
    mw.close()
    store.close()
    # the next start does not show it again
    store = ChatStore.open(paths.history_db)
    mw2 = MainWindow(paths, load_settings(paths.settings_file).settings, store)
    qtbot.addWidget(mw2)
    qtbot.waitUntil(lambda: mw2._scanned, timeout=WAIT)
    flushed: list[bool] = []
    QTimer.singleShot(0, lambda: flushed.append(True))  # runs after anything the scan queued (the wizard would be)
    qtbot.waitUntil(lambda: bool(flushed), timeout=WAIT)
    assert mw2.wizard is None
    mw2.close()
    store.close()


def test_a_failed_download_offers_retry_a_file_and_back(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.library.download_host import DownloadHost
    from tests.support.hub_server import LocalHub

    paths = get_paths().ensure()
    with LocalHub() as hub:
        hosts: list[DownloadHost] = []

        def host() -> DownloadHost:
            if not hosts:
                hosts.append(DownloadHost(paths.models_dir, hub.url))
            return hosts[0]

        w = FirstRunWizard(paths, Settings(), host, endpoint=hub.url)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitUntil(lambda: w.choice is not None, timeout=WAIT)
        entry, file, _fit = w.choice
        hub.add_repo(entry.gguf_repo, {name: gemma_path for name in file.filenames},
                     license=entry.license_id, tags=["gguf"])
        hub.fail(entry.gguf_repo, file.filenames[0], status=403, times=1)  # refused once
        w.next_button.click()
        assert w.back_button.isVisible()
        w.back_button.click()
        assert w.pages.currentIndex() == 0
        w.next_button.click()

        def accept() -> None:
            box = w.license_box
            if box is None:
                QTimer.singleShot(50, accept)
                return
            next(b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole).click()

        QTimer.singleShot(50, accept)
        w.download_button.click()
        qtbot.waitUntil(lambda: w.retry_button.isVisible(), timeout=60_000)
        assert "did not finish" in w.download_title.text()
        assert w.failed_import_button.isVisible() and w.back_button.isVisible() and w.skip_button.isVisible()
        assert "carries on" not in w.download_note.text() and "Nothing is downloading now" in w.download_note.text()
        w.retry_button.click()
        qtbot.waitUntil(lambda: w.pages.currentIndex() == 3, timeout=120_000)
        assert w.ready_ref is not None and w.ready_ref.path.exists()
        hosts[0].shutdown()
