"""The sidebar and search with the real Gemma model: plain snippets with the match marked,
a result opens at its message, date headings, titles that follow edits, jump to the latest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from support.window import close_window, gemma_settings, open_window

from assistant.chat.records import SearchHit
from assistant.chat.snippets import MARK_END, MARK_START, plain_snippet
from assistant.ui.chat.models.conversations import SearchResultsModel, section_of
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 60_000
TURN_TIMEOUT = 120_000


@pytest.fixture
def window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    w = open_window(qtbot, gemma_settings(gemma_path), size=(800, 600))
    yield w
    close_window(w)


def test_snippets_are_plain_text_with_the_match_marked(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    raw = f"…## Fruit\n- **a {MARK_START}pine{MARK_END}apple** in `code` and [a link](https://x.org/{MARK_START}pine{MARK_END})"
    plain, spans = plain_snippet(raw)
    assert plain == "…Fruit a pineapple in code and a link"
    assert [plain[a:b] for a, b in spans] == ["pine"]
    m = SearchResultsModel()
    m.set_hits([SearchHit(1, 2, raw, "Cooking")])
    qtmodeltester.check(m)
    idx = m.index(0)
    assert "«" not in idx.data() and "**" not in idx.data() and MARK_START not in idx.data()
    assert idx.data(SearchResultsModel.MatchesRole) == spans


def test_date_sections() -> None:
    now = time.mktime((2026, 3, 18, 15, 0, 0, 0, 0, -1))
    day = 86400
    assert section_of(now - 3600, now) == "Today"
    assert section_of(now - day, now) == "Yesterday"
    assert section_of(now - 4 * day, now) == "Previous 7 days"
    assert section_of(now - 20 * day, now) == "Previous 30 days"
    assert section_of(now - 90 * day, now) == "December 2025"


def test_a_result_opens_at_its_message_and_the_list_has_headings(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    store = window.store
    conv = store.create_conversation("Long chat")
    target = None
    for i in range(60):
        store.add_message(conv.id, "user" if i % 2 == 0 else "assistant", f"Message {i}: " + "words " * 40)
        if i == 5:
            target = store.add_message(conv.id, "assistant", "The **pineapple** answer")
    window.panel.reload()
    model = window.panel.model
    assert model.index(0, 0).data(model.FirstInSectionRole) and model.index(0, 0).data(model.SectionRole) == "Today"
    window.panel.focus_search()
    qtbot.keyClicks(window.panel.search, "pineapple")
    qtbot.waitUntil(lambda: window.panel.results.rowCount() == 1, timeout=5000)
    assert window.panel.results.index(0).data(SearchResultsModel.SnippetRole) == "The pineapple answer"
    qtbot.keyClick(window.panel.search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.session.conversation_id == conv.id)
    row = [m.id for m in window.session.messages.messages()].index(target.id)
    view = window.chat
    qtbot.waitUntil(lambda: view.widget_at(row) is not None and view.widget_at(row).visibleRegion().isEmpty() is False,
                    timeout=5000)
    bar = view.verticalScrollBar()
    assert bar.value() < bar.maximum()  # not at the bottom
    qtbot.waitUntil(lambda: view.widget_at(row).body.textCursor().selectedText().lower() == "pineapple", timeout=3000)
    assert view.jump_button.isVisible()  # far up in a long chat: a way back down
    view.jump_button.click()
    assert bar.value() == bar.maximum() and not view.jump_button.isVisible()


def test_editing_the_first_message_renames_the_chat_and_the_window(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.prompt.setPlainText("Tell me about owls")
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.session.busy and window.session.conversation_id != 0, timeout=TURN_TIMEOUT)
    assert window.windowTitle().startswith("Tell me about owls")
    first = window.chat.widget_at(0)
    first._edit.click()
    first._editor.setPlainText("Tell me about ravens")
    first._on_edit_saved()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    assert window.store.get_conversation(window.session.conversation_id).title == "Tell me about ravens"
    assert window.windowTitle().startswith("Tell me about ravens")
    assert window.panel.model.index(0, 0).data() == "Tell me about ravens"
