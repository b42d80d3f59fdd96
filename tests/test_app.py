"""The real start-up (assistant/app.py): saved Offline mode applied, the trash a crash
left behind purged, a damaged settings file reported, the error hook, and the real
`python -m assistant` entry point starting its window."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from assistant import app as app_module
from assistant import network
from assistant.chat.store import ChatStore
from assistant.errors import ModelNotFoundError, StorageError
from assistant.settings import Settings, save_settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """What the app would show in message boxes (a modal box would block the test)."""
    seen: list[tuple[str, str, str]] = []
    for kind in ("warning", "critical"):
        monkeypatch.setattr(QMessageBox, kind, lambda _p, title, text, *a, _k=kind, **kw: seen.append((_k, title, text)))
    return seen


def _start(qapp: QApplication) -> app_module.Started:
    started = app_module.start(qapp)
    assert started is not None
    return started


def _close(started: app_module.Started) -> None:
    started.window.close()
    started.store.close()


def test_saved_offline_mode_is_on_from_the_start(qtbot, qapp: QApplication, home: Path, boxes) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(offline_mode=True, first_run_done=True), home / "config" / "settings.json")
    started = _start(qapp)
    try:
        assert network.is_offline()
        assert started.window.statusBar().currentMessage() == "Offline mode is on"
        assert boxes == []
    finally:
        _close(started)


def test_the_trash_a_crash_left_is_purged_at_start(qtbot, qapp: QApplication, home: Path) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(first_run_done=True), home / "config" / "settings.json")
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        kept = store.create_conversation("kept")
        gone = store.create_conversation("deleted, then the app was killed before the undo ran out")
        store.trash_conversation(gone.id)
    started = _start(qapp)
    try:
        assert [c.id for c in started.store.list_conversations()] == [kept.id]
        assert started.store.get_conversation(gone.id) is None
        with pytest.raises(StorageError, match="does not exist"):  # gone for good: nothing to restore
            started.store.restore_conversation(gone.id)
    finally:
        _close(started)


def test_a_damaged_settings_file_is_kept_and_reported(qtbot, qapp: QApplication, home: Path, boxes) -> None:  # type: ignore[no-untyped-def]
    path = home / "config" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ not json", encoding="utf-8")
    started = _start(qapp)
    try:
        assert [(k, t) for k, t, _ in boxes] == [("warning", "Settings were reset")]
        assert str(path) + ".bak" in boxes[0][2]
        assert (home / "config" / "settings.json.bak").read_text() == "{ not json"
        assert started.settings_warning == boxes[0][2]
    finally:
        _close(started)


def test_the_error_hook_logs_and_shows_the_error(qapp: QApplication, boxes, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    err = ModelNotFoundError("The model file is gone.", "Choose another model.")
    try:
        raise err
    except ModelNotFoundError:
        app_module._excepthook(*sys.exc_info())  # type: ignore[arg-type]
    assert boxes and boxes[0][:2] == ("critical", "Something went wrong")
    assert boxes[0][2].startswith("The model file is gone.") and "log file" in boxes[0][2]
    assert "unhandled error" in caplog.text and "ModelNotFoundError" in caplog.text


def test_python_m_assistant_starts_its_window(home: Path) -> None:
    """The real entry point, as a desktop launcher runs it (offscreen here)."""
    save_settings(Settings(first_run_done=True, offline_mode=True), home / "config" / "settings.json")
    env = dict(os.environ, PYTHONPATH=str(REPO), ASSISTANT_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-m", "assistant"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = home / "logs" / "assistant.log"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if log.exists() and "window shown" in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate(timeout=5)
        assert "offline mode on" in log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)  # as a logout does: the app closes its window and quits
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert b"Traceback" not in err
    assert json.loads((home / "config" / "settings.json").read_text())["window_geometry"]  # it saved its state
    record = home / "data" / "network_activity.jsonl"
    # no network at start-up: nothing recorded at all (offline, it would say "blocked")
    assert not record.exists(), record.read_text()


def test_a_read_only_data_folder_still_starts_the_window_and_names_it(qtbot, qapp: QApplication, home: Path, boxes) -> None:  # type: ignore[no-untyped-def]
    """issue 33: a read-only mount (or a locked-down profile) gave a traceback at start."""
    from support.read_only import immutable

    with immutable(home):  # empty: no folder of the app can be made in it
        started = _start(qapp)
        try:
            assert started.window.isVisible()
            [(kind, title, text)] = boxes
            assert (kind, title) == ("warning", "A folder cannot be written")
            assert f"cannot write to this folder: {home} (operation not permitted)" in text
            assert "kept in memory only" in text
            conv = started.store.create_conversation("still works")  # chats work, in memory
            assert [c.id for c in started.store.list_conversations()] == [conv.id]
        finally:
            _close(started)
