"""run_job: a result that arrives after its widget was deleted is dropped, not applied
to a dead object (a keyring call can outlive the settings dialog that asked)."""

from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QLineEdit

from assistant.ui.common.jobs import run_job


def test_a_late_result_for_a_deleted_widget_is_dropped(qtbot) -> None:  # type: ignore[no-untyped-def]
    release = threading.Event()
    edit = QLineEdit()
    got: list[str] = []
    ended: list[object] = []

    def done(text: str) -> None:
        edit.setText(text)  # would raise "Internal C++ object already deleted"
        got.append(text)

    job = run_job(lambda: release.wait(10) and "token", done, on_end=ended.append, owner=edit)
    finished = threading.Event()
    job.signals.succeeded.connect(lambda _r: finished.set())
    shiboken6.delete(edit)
    release.set()
    qtbot.waitUntil(finished.is_set, timeout=10_000)
    assert got == [] and ended == []

    alive = QLineEdit()
    qtbot.addWidget(alive)
    job = run_job(lambda: "token", alive.setText, owner=alive)
    qtbot.waitUntil(lambda: alive.text() == "token", timeout=10_000)
