"""A prompt always goes to the chat the user sees: after Ctrl+N and a model switch in the
header the new, empty chat stays open (the previous one came back, and took the prompt)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from support.window import close_window, gemma_settings, open_window

from assistant.ui.main_window import MainWindow

TURN_TIMEOUT = 120_000
LOAD_TIMEOUT = 60_000


@pytest.fixture
def window(qtbot, gemma_path: Path, home: Path):  # type: ignore[no-untyped-def]
    other = home / "other-copy.gguf"
    shutil.copyfile(gemma_path, other)
    s = gemma_settings(gemma_path, max_tokens=3)
    s.extra_models.append(str(other))
    w = open_window(qtbot, s)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    close_window(w)


def _send(qtbot, w: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    w.prompt.setPlainText(text)
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() >= 2, timeout=TURN_TIMEOUT)


def _switch_model(qtbot, w: MainWindow) -> None:  # type: ignore[no-untyped-def]
    current = w.session.loaded.model.path  # type: ignore[union-attr]
    row = next(r for r in range(w.installed.rowCount())
               if w.installed.entry_at(r).ref.path != current and w.installed.entry_at(r).can_run)  # type: ignore[union-attr]
    w.header.picker.setFocus()
    w.header.picker.setCurrentIndex(row)
    w.header.picker.activated.emit(row)  # what picking a row in the list does
    qtbot.waitUntil(lambda: w.session.loaded is not None and w.session.loaded.model.path != current, timeout=LOAD_TIMEOUT)


def test_new_chat_then_model_switch_keeps_the_new_chat(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    _send(qtbot, w, "First chat question")
    first = w.session.conversation_id
    assert first
    qtbot.keyClick(w.prompt, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert w.session.conversation_id == 0 and w.session.messages.rowCount() == 0
    _switch_model(qtbot, w)
    qtbot.wait(200)  # focus moves while the picker is disabled and enabled again
    assert w.session.conversation_id == 0, "the previous chat came back after the model switch"
    assert w.session.messages.rowCount() == 0
    _send(qtbot, w, "Second chat question")
    assert w.session.conversation_id not in (0, first)
    assert [m.content for m in w.store.messages(first) if m.role == "user"] == ["First chat question"]
    assert [m.content for m in w.store.messages(w.session.conversation_id) if m.role == "user"] == ["Second chat question"]


def test_focus_reaching_the_chat_list_opens_nothing(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    older = w.store.create_conversation("An older chat")
    conv = w.store.create_conversation("A newer chat")
    for c in (older, conv):
        w.store.add_message(c.id, "user", "old")
    w.panel.reload()
    w.session.new_conversation()
    w.panel.list.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: w.panel.list.hasFocus())
    qtbot.wait(50)
    assert w.session.conversation_id == 0
    # Enter opens the row the focus is on, and the arrow keys the chat they move to
    qtbot.keyClick(w.panel.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.session.conversation_id == conv.id)
    qtbot.keyClick(w.panel.list, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: w.session.conversation_id == older.id)
