"""With the real Gemma model in the window: an edit keeps the exchange it replaces (‹1/2› on
the question), the editor works from the keyboard, and an answer cut at the length limit
says so and offers Continue."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPlainTextEdit
from support.window import close_window, gemma_settings, open_window

from assistant.ui.main_window import MainWindow

TURN_TIMEOUT = 120_000


@pytest.fixture
def window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=4))
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    yield w
    close_window(w)


def _send(qtbot, w: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    n = w.session.messages.rowCount()
    assert w.session.send(text)
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == n + 2, timeout=TURN_TIMEOUT)


def _editor(w: MainWindow, row: int) -> QPlainTextEdit:
    widget = w.chat.widget_at(row)
    assert widget is not None
    widget._edit.click()
    editor = widget.findChild(QPlainTextEdit)
    assert editor is not None and editor.isVisible()
    return editor


def test_edit_and_send_keeps_the_old_exchange_as_a_version(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    _send(qtbot, w, "Name a colour.")
    conv = w.session.conversation_id
    old_answer = w.store.messages(conv)[1].content
    editor = _editor(w, 0)
    editor.setPlainText("Name a fruit.")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter: save and send
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == 2, timeout=TURN_TIMEOUT)
    assert [m.content for m in w.store.messages(conv)][0] == "Name a fruit."
    question = w.chat.widget_at(0)
    qtbot.waitUntil(lambda: question.versions.isVisible())
    assert question.versions.label.text() == "2/2"
    assert question.versions.prev_button.accessibleName() == "Previous version of this question"

    question.versions.prev_button.click()  # the old exchange comes back whole
    qtbot.waitUntil(lambda: w.session.messages.message_at(0).content == "Name a colour.")  # type: ignore[union-attr]
    assert [m.content for m in w.store.messages(conv)] == ["Name a colour.", old_answer]
    assert w.chat.widget_at(0).versions.label.text() == "1/2"
    w.chat.widget_at(0).versions.next_button.click()
    qtbot.waitUntil(lambda: w.session.messages.message_at(0).content == "Name a fruit.")  # type: ignore[union-attr]


def test_the_editor_works_from_the_keyboard(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    _send(qtbot, w, "Hello there.")
    editor = _editor(w, 0)
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)  # Tab moves on, it does not type a tab
    assert "\t" not in editor.toPlainText()
    assert QApplication.focusWidget() is not editor and QApplication.focusWidget().accessibleName() == "Cancel editing"  # type: ignore[union-attr]
    editor.setFocus()
    editor.setPlainText("Changed, then cancelled")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)  # Esc cancels: nothing sent, nothing changed
    assert not editor.isVisible() and not w.session.busy
    assert w.store.messages(w.session.conversation_id)[0].content == "Hello there."
    assert w.chat.widget_at(0).body.visible_text() == "Hello there."  # type: ignore[union-attr]


def test_an_answer_cut_at_the_limit_says_so_and_continues(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    _send(qtbot, w, "Tell me a very long story about a lighthouse keeper.")
    last = w.store.messages(w.session.conversation_id)[-1]
    assert last.finish_reason == "length" and last.completion_tokens == 4
    answer = w.chat.widget_at(1)
    assert answer is not None
    assert answer._error.isVisible() and "Cut off at the length limit" in answer._error.text()
    assert answer._details.text().endswith("· cut off")
    assert answer._continue.isVisible()
    before = last.content
    answer._continue.click()
    qtbot.waitUntil(lambda: not w.session.busy and w.store.messages(w.session.conversation_id)[-1].content != before,
                    timeout=TURN_TIMEOUT)
    grown = w.store.messages(w.session.conversation_id)[-1]
    assert grown.content.startswith(before) and len(grown.content) > len(before)
