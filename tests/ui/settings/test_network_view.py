"""The network activity table and dialog, fed by the real record."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton, QTableView

from assistant import network
from assistant.network import NetworkEntry
from assistant.ui.settings.network_view import EMPTY, NetworkActivityDialog, NetworkActivityModel


def _entries() -> list[NetworkEntry]:
    return [
        NetworkEntry(1_700_000_000.0, "huggingface.co", 443, "Hugging Face Hub: search", "GET", "/api/models",
                     420, 18_500, "ok", 200),
        NetworkEntry(1_700_000_100.0, "api.openai.com", 443, "OpenAI: chat", "POST", "/v1/chat/completions",
                     0, 0, "blocked"),
        NetworkEntry(1_700_000_050.0, "192.168.1.20", 8080, "unattributed", outcome="attempted"),
        NetworkEntry(1_700_000_070.0, "example.org", 443, "OpenAI: chat", "GET", "/", 300, 0,
                     "error: ConnectError: [Errno 111] Connection refused"),
    ]


def test_model_passes_the_model_tester_empty_and_full(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = NetworkActivityModel()
    assert model.rowCount() == 0
    qtmodeltester.check(model)
    for e in _entries():
        network.record(e)
    model.reload()
    assert model.rowCount() == 4
    qtmodeltester.check(model)
    model.detach()


def test_model_shows_readable_values_newest_first(qtbot) -> None:  # type: ignore[no-untyped-def]
    for e in _entries():
        network.record(e)
    model = NetworkActivityModel()
    texts = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]
    blocked, error, raw, hub = texts
    assert blocked[1:] == ["api.openai.com", "OpenAI: chat", "0 B", "0 B", "Blocked (Offline mode)"]
    assert hub[1:] == ["huggingface.co", "Hugging Face Hub: search", "420 B", "18.1 KB", "OK (HTTP 200)"]
    assert raw[1] == "192.168.1.20:8080" and raw[3] == raw[4] == "—"
    assert error[5] == "Error: the connection was refused: nothing answers at that address"  # an old record, in words
    assert model.index(0, 0).data(NetworkActivityModel.EntryRole).host == "api.openai.com"
    assert model.index(0, 0).data(NetworkActivityModel.SortRole) == 1_700_000_100.0
    assert model.roleNames()[NetworkActivityModel.EntryRole] == b"entry"
    model.detach()


def test_dialog_shows_the_empty_state_on_a_fresh_home(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.is_empty()
    assert dlg.stack.currentWidget() is dlg.empty_label and dlg.empty_label.text() == EMPTY
    assert not dlg.clear_button.isEnabled()
    controls = dlg.findChildren(QPushButton) + dlg.findChildren(QLabel) + dlg.findChildren(QTableView)
    assert controls and all(w.accessibleName() for w in controls)


def test_entry_recorded_on_another_thread_appears(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    worker = threading.Thread(target=network.record, args=(_entries()[0],))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: dlg.model.rowCount() == 1, timeout=2000)
    assert dlg.stack.currentWidget() is dlg.table and dlg.clear_button.isEnabled()
    assert dlg.table.model().index(0, 1).data() == "huggingface.co"


def test_table_sorts_by_the_raw_values(qtbot) -> None:  # type: ignore[no-untyped-def]
    for e in _entries():
        network.record(e)
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    view = dlg.table.model()
    assert view.index(0, 1).data() == "api.openai.com"  # newest first
    dlg.table.sortByColumn(NetworkActivityModel.RECEIVED, view.sortOrder().DescendingOrder)
    assert view.index(0, 1).data() == "huggingface.co"  # 18.1 KB beats "0 B" and "—"


def test_clear_asks_first_then_empties_the_record(qtbot) -> None:  # type: ignore[no-untyped-def]
    for e in _entries():
        network.record(e)
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    dlg.show()

    def answer(name: str) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        next(b for b in box.buttons() if b.accessibleName() == name).click()

    QTimer.singleShot(0, lambda: answer("Cancel"))
    dlg.clear_button.click()
    assert len(network.entries()) == 4 and dlg.model.rowCount() == 4

    QTimer.singleShot(0, lambda: answer("Clear"))
    with qtbot.waitSignal(dlg.record_cleared, timeout=2000):
        dlg.clear_button.click()
    assert network.entries() == []
    qtbot.waitUntil(dlg.is_empty, timeout=2000)
    assert dlg.stack.currentWidget() is dlg.empty_label


def test_closed_dialog_stops_listening(qtbot) -> None:  # type: ignore[no-untyped-def]
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.close()
    network.record(_entries()[0])
    flushed: list[bool] = []
    QTimer.singleShot(0, lambda: flushed.append(True))  # queued after the record's own (queued) signal
    qtbot.waitUntil(lambda: bool(flushed))
    assert dlg.model.rowCount() == 0


def test_http_errors_are_named_errors_and_clear_is_not_the_default(qtbot) -> None:  # type: ignore[no-untyped-def]
    for status in (401, 404, 200):
        network.record(NetworkEntry(1_700_000_000.0 + status, "127.0.0.1", 8080, "Anthropic: key check", "GET",
                                    "/v1/models", 0, 90, "ok", status))
    model = NetworkActivityModel()
    outcomes = [model.index(r, 5).data() for r in range(model.rowCount())]
    assert outcomes == ["Error (HTTP 404)", "Error (HTTP 401)", "OK (HTTP 200)"]
    model.detach()
    dlg = NetworkActivityDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.clear_button.isDefault() and not dlg.clear_button.autoDefault()
    assert dlg.close_button.isDefault()
