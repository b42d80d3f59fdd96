"""The window from the keyboard and a screen reader, with the real Gemma model loaded: Tab
goes in reading order, focus is always visible, mnemonics do not clash, and every control
in Qt's accessibility tree has a name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QGroupBox,
    QLabel,
    QListView,
    QMenu,
    QPlainTextEdit,
    QWidget,
)
from support.window import close_window, gemma_settings, open_window

from assistant.ui.common.theme import apply_theme, colors
from assistant.ui.main_window import MainWindow

CONTROL_ROLES = {
    QAccessible.Role.Button, QAccessible.Role.PushButton, QAccessible.Role.CheckBox, QAccessible.Role.ComboBox,
    QAccessible.Role.EditableText, QAccessible.Role.List, QAccessible.Role.RadioButton, QAccessible.Role.SpinBox,
    QAccessible.Role.Slider, QAccessible.Role.ProgressBar, QAccessible.Role.Link, QAccessible.Role.ButtonMenu,
    QAccessible.Role.ButtonDropDown, QAccessible.Role.Table, QAccessible.Role.Tree, QAccessible.Role.PageTab,
}


@pytest.fixture
def window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    apply_theme(QApplication.instance(), "light", 11)  # type: ignore[arg-type]
    w = open_window(qtbot, gemma_settings(gemma_path), size=(1100, 720))
    conv = w.store.create_conversation("A chat")
    w.store.add_message(conv.id, "user", "Hello")
    w.store.add_message(conv.id, "assistant", "Hi **there**.\n\n```python\nprint(1)\n```", model="gemma", engine="llama.cpp",
                        decode_tokens_per_s=94.8)
    w.panel.reload()
    w.session.open_conversation(conv.id)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w and w.chat.widget_at(1) is not None)
    yield w
    close_window(w)


def _unnamed_controls(iface, path: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    out: list[str] = []
    if iface is None or not iface.isValid():
        return out
    state = iface.state()
    if state.invisible:
        return out
    name = iface.text(QAccessible.Text.Name).strip()
    here = f"{path}/{iface.role().name}"
    if iface.role() in CONTROL_ROLES and not name:
        obj = iface.object()
        out.append(f"{here} ({type(obj).__name__ if obj else '?'} {getattr(obj, 'objectName', lambda: '')()})")
    for i in range(iface.childCount()):
        out += _unnamed_controls(iface.child(i), here)
    return out


def test_every_control_has_a_name_a_screen_reader_can_say(window: MainWindow) -> None:
    assert _unnamed_controls(QAccessible.queryAccessibleInterface(window)) == []


def _tab_walk(qtbot, w: MainWindow, start: QWidget, steps: int) -> list[QWidget]:  # type: ignore[no-untyped-def]
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus)
    seen = [start]
    for _ in range(steps):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())  # type: ignore[arg-type]
    return seen


def test_tab_goes_in_reading_order(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    w = window
    order = [w.panel.new_button, w.panel.search, w.panel.list, w.header.picker, w.header.settings_button,
             w.header.add_button, w.header.library_button]
    walk = _tab_walk(qtbot, w, w.panel.new_button, 40)
    firsts = [walk.index(x) for x in order]
    assert firsts == sorted(firsts), [x.accessibleName() for x in walk[:12]]
    # then the conversation (its messages, top to bottom), then the message box and Send
    answer_body = w.chat.widget_at(1).body  # type: ignore[union-attr]
    question_body = w.chat.widget_at(0).body  # type: ignore[union-attr]
    i_q, i_a = walk.index(question_body), walk.index(answer_body)
    i_prompt, i_send = walk.index(w.prompt), walk.index(w.send_button)
    assert firsts[-1] < i_q < i_a < i_prompt < i_send, "; ".join(f"{type(x).__name__}:{x.accessibleName()}" for x in walk[:20])
    # and round again to the start
    assert w.panel.new_button in walk[i_send:]


def test_focus_is_visible_in_the_list_and_the_message_box(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    ring = QColor(colors(False).link)  # the focus ring: the colour the flat buttons ring in too
    for widget in (window.panel.list, window.prompt, window.chat.widget_at(1).body):  # type: ignore[union-attr]
        widget.clearFocus()
        qtbot.waitUntil(lambda widget=widget: not widget.hasFocus())
        without = widget.grab().toImage()
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus)
        with_focus = widget.grab().toImage()
        # the frame's left edge, half way down: the focus ring's colour only with focus
        y = widget.height() // 2
        edge_with = {with_focus.pixelColor(x, y).name() for x in range(0, 3)}
        edge_without = {without.pixelColor(x, y).name() for x in range(0, 3)}
        assert ring.name() in edge_with and ring.name() not in edge_without, (type(widget).__name__, edge_with, edge_without)


def _mnemonic(text: str) -> str:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 and i + 1 < len(text.replace("&&", "")) else ""


def test_no_mnemonic_clashes_with_the_menus(window: MainWindow) -> None:
    menus = [_mnemonic(a.text()) for a in window.menuBar().actions() if a.text()]
    assert len(menus) == len(set(menus)), menus
    others: list[tuple[str, str]] = []
    for child in window.findChildren(QWidget):
        if child.window() is not window or isinstance(child, QMenu):
            continue
        text = ""
        if isinstance(child, QLabel) and child.buddy() is not None:
            text = child.text()
        elif isinstance(child, (QAbstractButton, QGroupBox)):
            text = child.text() if isinstance(child, QAbstractButton) else child.title()
        if m := _mnemonic(text):
            others.append((m, text))
    letters = [m for m, _t in others]
    assert not set(letters) & set(menus), others
    assert len(letters) == len(set(letters)), others


def test_alt_m_opens_the_models_menu(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    models = next(a for a in window.menuBar().actions() if a.text().replace("&", "") == "Models")
    assert _mnemonic(models.text()) == "m"
    assert _mnemonic(window.header.picker_label.text()) != "m"
    assert QKeySequence.mnemonic(window.header.picker_label.text()).toString() != "Alt+M"


def test_the_editor_and_list_are_real_widgets(window: MainWindow) -> None:
    # the checks above walk these very widgets
    assert isinstance(window.panel.list, QListView) and isinstance(window.prompt, QPlainTextEdit)


def test_esc_clears_the_chat_search(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.panel.focus_search()
    qtbot.keyClicks(window.panel.search, "there")
    qtbot.waitUntil(lambda: window.panel.stack.currentIndex() == 1, timeout=5000)
    qtbot.keyClick(window.panel.search, Qt.Key.Key_Escape)
    assert window.panel.search.text() == ""
    qtbot.waitUntil(lambda: window.panel.stack.currentIndex() == 0, timeout=5000)  # the chat list is back
