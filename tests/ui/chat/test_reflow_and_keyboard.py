"""The window with the real Gemma model: messages wrap to the view at every size, long
names are cut short, and the keyboard paths (tab order, F2, arrows, search, focus after send)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from support.window import close_window, gemma_settings, open_window

from assistant.settings import Settings
from assistant.ui.common.theme import apply_theme
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 60_000
TURN_TIMEOUT = 120_000
LONG_PATH = "/home/someone/models/" + "a-very-long-directory-name-" * 6 + "Qwen3-32B-Instruct-Q4_K_M.gguf"
LONG_URL = "https://example.com/" + "x" * 240


@pytest.fixture
def window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    s = gemma_settings(gemma_path)
    s.cloud.provider, s.cloud.model, s.cloud.base_url = "openai-compatible", LONG_PATH, "http://127.0.0.1:9/v1"
    w = open_window(qtbot, s)
    yield w
    close_window(w)
    apply_theme(QApplication.instance(), "system", 11)  # type: ignore[arg-type]


def seed_long_chat(w: MainWindow) -> int:
    conv = w.store.create_conversation("Paths " + LONG_PATH)
    w.store.add_message(conv.id, "user", f"Where is {LONG_PATH}? And {LONG_URL}")
    w.store.add_message(conv.id, "assistant", f"It is `{LONG_PATH}`.\n\n```\n{'y' * 300}\n```\n\n{LONG_URL}",
                        model=LONG_PATH, engine="llama.cpp")
    w.panel.reload()
    w.session.open_conversation(conv.id)
    return conv.id


def overflowing(container: QWidget, width: int) -> list[str]:
    out = []
    for c in container.findChildren(QWidget):
        if c.isVisible() and c.window() is container.window() and "viewport" not in c.objectName():
            right = c.mapTo(container, c.rect().topRight()).x()
            if right > width:
                out.append(f"{type(c).__name__}({c.objectName() or c.accessibleName()}) right={right} > {width}")
    return out


@pytest.mark.parametrize(("size", "points"), [((800, 600), 11), ((800, 600), 14), ((1920, 1080), 11)])
def test_messages_wrap_to_the_view_and_nothing_leaves_the_window(qtbot, window: MainWindow, size, points) -> None:  # type: ignore[no-untyped-def]
    apply_theme(QApplication.instance(), "light", points)  # type: ignore[arg-type]
    seed_long_chat(window)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.chat.widget_at(1) is not None and window.width() == size[0])
    view = window.chat
    qtbot.waitUntil(lambda: view.widget().width() <= view.viewport().width())
    assert overflowing(view.widget(), view.viewport().width()) == []
    assert overflowing(window, window.width()) == []
    # the header says what the model runs on in full ("CPU · 2,048 tokens", not "CPU · 2,04")
    status = window.header.status
    qtbot.waitUntil(lambda: status.text() != "" and status.elided_text() == status.text(), timeout=3000)
    # a reading column: maximised, lines do not span the whole width
    answer = view.widget_at(1)
    assert answer is not None and answer.width() <= view.column_width()
    if size[0] >= 1920:
        assert answer.width() < view.viewport().width() * 0.7
    # long names are short on buttons and menus, in full in tooltips
    ask = window.cloud.ask_button
    assert ask.isVisible() and len(ask.text()) < 40 and LONG_PATH in ask.toolTip()
    menu = window.chat_menu
    long_width = menu.sizeHint().width()
    window.settings.cloud.model = "m"
    window.cloud.refresh()
    # the Chat menu is about as wide with the long name as with a one-letter one (it was 960 px)
    assert long_width - menu.sizeHint().width() < menu.fontMetrics().averageCharWidth() * 30
    assert all(len(a.text()) < 64 for a in menu.actions())
    assert LONG_PATH not in answer._details.text() and "Q4_K_M" in answer._details.text()


def test_a_narrow_window_folds_the_chat_list(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.resize(640, 480)
    qtbot.waitUntil(lambda: window.panel.isHidden())
    assert not window.nav.sidebar_action.isChecked()
    window.resize(790, 560)
    qtbot.waitUntil(lambda: not window.panel.isHidden())
    window.nav.sidebar_action.trigger()  # View -> Show the chat list (Ctrl+B)
    assert window.panel.isHidden()


def test_tab_order_reads_naturally(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    # from the message box: its buttons left to right (Ask <cloud>, Send), then round to the
    # top of the window (tests/ui/test_keyboard_and_accessibility.py walks the whole chain)
    window.activateWindow()
    window.prompt.setFocus()
    qtbot.waitUntil(lambda: window.prompt.hasFocus())
    seen = []
    for _ in range(6):
        w = window.focusWidget()
        seen.append(w)
        qtbot.keyClick(w, Qt.Key.Key_Tab)
    assert seen[:5] == [window.prompt, window.cloud.ask_button, window.send_button, window.panel.new_button, window.panel.search]
    window.prompt.setFocus()  # Shift+Tab from the box: Image…, Tools, Documents, before it in the row
    qtbot.waitUntil(lambda: window.prompt.hasFocus())
    back = []
    for _ in range(3):
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Backtab)
        back.append(window.focusWidget())
    assert back == [window.images.button, window.chat_tools.button, window.documents.button]


def test_f2_renames_from_the_chat_list_and_the_title_follows(qtbot, window: MainWindow, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    conv = window.store.create_conversation("Old name")
    window.panel.reload(conv.id)
    window.session.open_conversation(conv.id)
    monkeypatch.setattr("assistant.ui.chat.conversation_panel.ask_text", lambda *_a, **_k: ("New name", True))
    window.panel.list.setFocus()
    qtbot.waitUntil(lambda: window.panel.list.hasFocus())
    qtbot.keyClick(window.panel.list, Qt.Key.Key_F2)
    assert window.store.get_conversation(conv.id).title == "New name"
    row = window.panel.model.row_of(conv.id)
    assert window.panel.model.index(row, 0).data() == "New name"
    assert window.windowTitle().startswith("New name")


def test_arrow_keys_in_the_list_open_chats_and_search_goes_down_to_a_result(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    a = window.store.create_conversation("Rivers")
    window.store.add_message(a.id, "user", "Tell me about rivers and pineapples")
    b = window.store.create_conversation("Lakes")
    window.store.add_message(b.id, "user", "Tell me about lakes")
    window.panel.reload(b.id)
    window.session.open_conversation(b.id)
    lst = window.panel.list
    lst.setFocus()
    qtbot.waitUntil(lst.hasFocus)
    qtbot.keyClick(lst, Qt.Key.Key_Down)  # b is newest (row 0), a below it
    qtbot.waitUntil(lambda: window.session.conversation_id == a.id)
    qtbot.keyClick(lst, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: window.session.conversation_id == b.id)
    # search: Enter opens the first result; Down moves into the results
    window.panel.focus_search()
    qtbot.keyClicks(window.panel.search, "pineapp")
    qtbot.waitUntil(lambda: window.panel.results.rowCount() == 1, timeout=5000)
    qtbot.keyClick(window.panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.conversation_id == a.id)
    window.session.open_conversation(b.id)
    window.panel.search.setFocus()
    qtbot.keyClick(window.panel.search, Qt.Key.Key_Down)
    assert window.panel.hits.hasFocus() and window.panel.hits.currentIndex().row() == 0
    qtbot.keyClick(window.panel.hits, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.conversation_id == a.id)


def test_focus_returns_to_the_message_box_after_send_and_edit(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.activateWindow()
    window.prompt.setFocus()
    window.prompt.setPlainText("Hello")
    window.send_button.setFocus()
    qtbot.keyClick(window.send_button, Qt.Key.Key_Space)  # Send from the keyboard hides Send
    qtbot.waitUntil(lambda: window.session.busy or len(window.session.messages.messages()) == 2)
    assert window.prompt.hasFocus()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    assert window.prompt.hasFocus()
    first = window.chat.widget_at(0)
    first._edit.click()
    first._editor.setPlainText("Hello again")
    first._editor.setFocus()
    first._on_edit_saved()
    assert window.prompt.hasFocus()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    assert window.prompt.hasFocus() and not window.panel.search.hasFocus()


def test_a_new_font_size_reaches_the_open_chat_at_once(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    seed_long_chat(window)
    qtbot.waitUntil(lambda: window.chat.widget_at(1) is not None)
    answer = window.chat.widget_at(1)
    new = Settings(**{**window.settings.__dict__, "font_size": 16, "theme": "light"})
    window.apply_settings(new)
    qtbot.waitUntil(lambda: answer.body.font().pointSize() == 16)
    assert answer._who.font().pointSize() == 16 and answer._who.font().bold()
    assert answer._copy.font().pointSize() == 16


def test_regenerate_keeps_the_earlier_answer_as_a_version(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.prompt.setPlainText("Say something.")
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.session.busy and len(window.session.messages.messages()) == 2, timeout=TURN_TIMEOUT)
    first = window.store.messages(window.session.conversation_id)[-1].content
    window.settings.generation.temperature = 1.0
    window.settings.generation.seed = 11
    window.chat.widget_at(1)._regen.click()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    bar = window.chat.widget_at(1).versions
    assert bar.isVisible() and bar.label.text() == "2/2"
    assert bar.prev_button.isEnabled() and not bar.next_button.isEnabled()
    second = window.store.messages(window.session.conversation_id)[-1].content
    bar.prev_button.click()
    assert window.chat.widget_at(1).versions.label.text() == "1/2"
    assert window.store.messages(window.session.conversation_id)[-1].content == first
    assert window.chat.widget_at(1).text() == first
    window.chat.widget_at(1).versions.next_button.click()
    assert window.chat.widget_at(1).text() == second
    assert [m.role for m in window.store.messages(window.session.conversation_id)] == ["user", "assistant"]


def test_message_buttons_show_a_focus_ring(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    seed_long_chat(window)
    qtbot.waitUntil(lambda: window.chat.widget_at(1) is not None)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    button = window.chat.widget_at(1)._copy
    window.chat.ensureWidgetVisible(button)
    plain = button.grab().toImage()
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(button.hasFocus)
    ringed = button.grab().toImage()
    assert plain != ringed  # the keyboard's place is drawn
