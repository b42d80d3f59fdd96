"""The window when the engine's process dies (the real llama.cpp in a real child
process, made to crash by the test hook only the child reads): the window stays up, the
partial answer is stored and marked failed, the message says what happened, and a crash
before the first answer is retried in safe mode and remembered for the model."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from support.window import close_window, gemma_settings, open_window

from assistant.engines import safe_mode
from assistant.engines.host_child import CRASH_ENV
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 120_000
TURN_TIMEOUT = 180_000


def _window(qtbot, gemma_path: Path, max_tokens: int, wait_loaded: bool = True) -> MainWindow:  # type: ignore[no-untyped-def]
    # one llama.cpp thread: the crash tests stay steady on busy cores
    s = gemma_settings(gemma_path, max_tokens=max_tokens, context_length=1024, n_threads=1)
    return open_window(qtbot, s, wait_loaded=wait_loaded, timeout=LOAD_TIMEOUT)


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
        details = w.chat.widget_at(1)._details.text()  # the footer says "failed", not the error again
        assert "failed" in details and "stopped unexpectedly" not in details
        assert warnings == []
        assert w.session.host.worker._engine.pid != child or not w.session.host.worker._engine.alive  # type: ignore[union-attr]
    finally:
        close_window(w)


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
        close_window(w)
        safe_mode.reset()


def test_cancel_while_loading_ends_the_load(  # type: ignore[no-untyped-def]
    qtbot, gemma_path: Path, monkeypatch: pytest.MonkeyPatch, warnings: list[tuple[str, str]]
) -> None:
    monkeypatch.setenv(CRASH_ENV, "load:hang")  # the child stops making progress while it loads
    w = _window(qtbot, gemma_path, max_tokens=6, wait_loaded=False)
    try:
        qtbot.waitUntil(lambda: w.session.loading is not None and w.header.cancel_button.isVisible(), timeout=LOAD_TIMEOUT)
        qtbot.waitUntil(lambda: w.session.host.worker._loading is not None, timeout=LOAD_TIMEOUT)
        w.header.cancel_button.click()
        qtbot.waitUntil(lambda: w.session.loading is None, timeout=30_000)
        assert w.session.loaded is None and warnings == []  # a cancel is not an error
        assert w.header.status.text() == "Loading cancelled."
        assert not w.header.cancel_button.isVisible() and w.header.picker.isEnabled()
    finally:
        close_window(w)


def test_a_death_while_idle_is_said_once_and_the_next_send_loads_again(  # type: ignore[no-untyped-def]
    qtbot, gemma_path: Path, warnings: list[tuple[str, str]]
) -> None:
    w = _window(qtbot, gemma_path, max_tokens=4)
    try:
        engine = w.session.host.worker._engine
        child = engine.pid  # type: ignore[union-attr]
        os.kill(child, signal.SIGKILL)  # the OOM killer, between answers
        qtbot.waitUntil(lambda: w.header.status.text().startswith("Stopped"), timeout=10_000)
        assert "signal 9" in w.header.status.toolTip() and "loads again when you send" in w.statusBar().currentMessage()
        assert warnings == []  # no dialog: said in the header and the status bar
        assert w.session.send("Hello again")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=TURN_TIMEOUT)
        rows = w.store.messages(w.session.conversation_id)
        assert rows[-1].role == "assistant" and rows[-1].status == "complete" and rows[-1].content.strip()
        assert engine.pid not in (None, child)  # type: ignore[union-attr]
        assert w.header.status.text().startswith("CPU")  # back to the model's state
    finally:
        close_window(w)


def test_an_unload_is_not_reported_as_a_death(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, gemma_path, max_tokens=4)
    try:
        heard: list[str] = []
        w.session.engine_exited.connect(heard.append)
        w.session.host.unload()
        qtbot.waitUntil(lambda: w.session.host.worker._engine is None, timeout=30_000)
        qtbot.wait(300)
        assert heard == []
    finally:
        close_window(w)
