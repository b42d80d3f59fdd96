"""The window with the real Gemma model: a model that fails to load says so and leaves
the window usable; chats switch from the sidebar; rename renames on screen and in the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from support.gguf_edit import truncated_copy
from support.window import close_window, gemma_settings, open_window

from assistant.core.types import ModelRef
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 60_000
TURN_TIMEOUT = 120_000


@pytest.fixture
def window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    w = open_window(qtbot, gemma_settings(gemma_path))
    yield w
    close_window(w)


def test_a_model_that_fails_to_load_is_reported_and_the_window_still_works(  # type: ignore[no-untyped-def]
    qtbot, window: MainWindow, gemma_path: Path, tmp_path: Path, warnings: list[tuple[str, str]]
) -> None:
    broken = truncated_copy(gemma_path, tmp_path / "half-downloaded.gguf", 5_000_000)
    window.session.load_model(ModelRef(broken, "gguf"))
    qtbot.waitUntil(lambda: bool(warnings), timeout=LOAD_TIMEOUT)
    title, text = warnings[0]
    assert title == "The model could not be loaded" and "half-downloaded" in text
    assert window.session.loaded is None and not window.session.busy
    assert "Could not load" in window.header.status.text()
    # the window is usable: load the good model again and chat
    window.session.load_model(ModelRef(gemma_path, "gguf"))
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=LOAD_TIMEOUT)
    window.prompt.setPlainText("Hello")
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.session.busy and window.session.conversation_id != 0, timeout=TURN_TIMEOUT)
    assert [m.role for m in window.store.messages(window.session.conversation_id)] == ["user", "assistant"]


def test_switching_chats_from_the_sidebar(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    store = window.store
    a = store.create_conversation("About rivers")
    store.add_message(a.id, "user", "Tell me about rivers")
    b = store.create_conversation("About lakes")
    store.add_message(b.id, "user", "Tell me about lakes")
    window.panel.reload()
    view = window.panel.list
    for conv, text in ((a, "Tell me about rivers"), (b, "Tell me about lakes"), (a, "Tell me about rivers")):
        row = window.panel.model.row_of(conv.id)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(view.model().index(row, 0)).center())
        qtbot.waitUntil(lambda c=conv: window.session.conversation_id == c.id)
        assert [m.content for m in window.session.messages.messages()] == [text]
        assert window.panel.current_id() == conv.id


def test_rename_renames_on_screen_and_in_the_store(qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    conv = window.store.create_conversation("Old name")
    window.panel.reload(conv.id)
    asked: list[str] = []

    def answer(_parent, _title, _label, text="", **_kw):  # type: ignore[no-untyped-def]
        asked.append(text)
        return "  A better name  ", True

    monkeypatch.setattr("assistant.ui.chat.conversation_panel.ask_text", answer)
    window.panel.rename_current()
    assert asked == ["Old name"]  # the dialog starts from the current title
    stored = window.store.get_conversation(conv.id)
    assert stored is not None and stored.title == "A better name"
    row = window.panel.model.row_of(conv.id)
    assert window.panel.model.index(row, 0).data(Qt.ItemDataRole.DisplayRole).startswith("A better name")
