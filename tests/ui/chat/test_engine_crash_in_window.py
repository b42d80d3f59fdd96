"""The window when the engine's process dies (the real llama.cpp in a real child
process, made to crash by the test hook only the child reads): the window stays up, the
partial answer is stored and marked failed, the message says what happened, and a crash
before the first answer is retried in safe mode and remembered for the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from assistant.chat.store import ChatStore
from assistant.engines import safe_mode
from assistant.engines.host_child import CRASH_ENV
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 120_000
TURN_TIMEOUT = 180_000


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text, *a, **k: seen.append((title, text)))
    return seen


def _window(qtbot, gemma_path: Path, max_tokens: int) -> MainWindow:  # type: ignore[no-untyped-def]
    s = Settings(extra_models=[str(gemma_path)], context_length=1024, n_threads=1, first_run_done=True)
    s.generation.max_tokens = max_tokens
    s.generation.temperature = 0.0
    paths = get_paths().ensure()
    w = MainWindow(paths, s, ChatStore.open(paths.history_db))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=LOAD_TIMEOUT)
    return w


def test_a_crash_mid_answer_keeps_the_window_and_the_partial_answer(  # type: ignore[no-untyped-def]
    qtbot, gemma_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[tuple[str, str]]
) -> None:
    monkeypatch.setenv(CRASH_ENV, "token:4:SIGSEGV")  # the child segfaults after its 4th piece of text
    w = _window(qtbot, gemma_path, max_tokens=40)
    try:
        child = w.session.host.worker._engine.pid  # type: ignore[union-attr]
        assert w.session.send("Tell me about rivers.")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=TURN_TIMEOUT)
        assert w.isVisible()  # the app's process lives on
        rows = w.store.messages(w.session.conversation_id)
        assert [(m.role, m.status) for m in rows] == [("user", "complete"), ("assistant", "failed")]
        assert rows[1].content.strip()  # the text that came before the crash is kept
        assert "stopped unexpectedly" in (rows[1].error or "") and "signal 11" in (rows[1].error or "")
        shown = w.chat.widget_at(1)._error  # said once, in the answer itself
        assert shown.isVisible() and "stopped unexpectedly" in shown.text() and "conversation is safe" in shown.text()
        assert warnings == []
        assert w.session.host.worker._engine.pid != child or not w.session.host.worker._engine.alive  # type: ignore[union-attr]
    finally:
        w.close()
        w.store.close()


def test_a_crash_before_the_first_answer_is_retried_in_safe_mode_and_remembered(  # type: ignore[no-untyped-def]
    qtbot, gemma_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[tuple[str, str]]
) -> None:
    # crashes only while CPU weight repacking is on: safe mode's first step gets past it
    monkeypatch.setenv(CRASH_ENV, "answer:SIGSEGV:repack")
    safe_mode.reset()
    w = _window(qtbot, gemma_path, max_tokens=6)
    try:
        assert w.session.send("Hello")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=TURN_TIMEOUT)
        rows = w.store.messages(w.session.conversation_id)
        assert [(m.role, m.status) for m in rows] == [("user", "complete"), ("assistant", "complete")]
        assert warnings == []  # it recovered by itself
        entry = safe_mode.get(gemma_path)
        assert entry is not None and entry.level >= 1  # remembered for this model on this machine
        assert "Safe mode" in w.session.host.worker._engine.safe_mode_note  # type: ignore[union-attr]
    finally:
        w.close()
        w.store.close()
        safe_mode.reset()


def test_cancel_while_loading_ends_the_load(  # type: ignore[no-untyped-def]
    qtbot, gemma_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[tuple[str, str]]
) -> None:
    monkeypatch.setenv(CRASH_ENV, "load:hang")  # the child stops making progress while it loads
    s = Settings(extra_models=[str(gemma_path)], context_length=1024, n_threads=1, first_run_done=True)
    paths = get_paths().ensure()
    w = MainWindow(paths, s, ChatStore.open(paths.history_db))
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w.session.loading is not None and w.header.cancel_button.isVisible(), timeout=LOAD_TIMEOUT)
        qtbot.waitUntil(lambda: w.session.host.worker._loading is not None, timeout=LOAD_TIMEOUT)
        w.header.cancel_button.click()
        qtbot.waitUntil(lambda: w.session.loading is None, timeout=30_000)
        assert w.session.loaded is None and warnings == []  # a cancel is not an error
        assert w.header.status.text().startswith("Loading was cancelled")
        assert not w.header.cancel_button.isVisible() and w.header.picker.isEnabled()
    finally:
        w.close()
        w.store.close()
