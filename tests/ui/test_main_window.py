"""The desktop window end to end: real llama.cpp with Gemma 3 270M, offscreen Qt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from assistant.chat.export import to_json, to_markdown
from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import Settings, load_settings
from assistant.ui.chat.models.messages import MessageListModel
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 60_000
TURN_TIMEOUT = 120_000


def make_window(qtbot, settings: Settings, store: ChatStore | None = None) -> MainWindow:  # type: ignore[no-untyped-def]
    paths = get_paths().ensure()
    store = store or ChatStore.open(paths.history_db)
    w = MainWindow(paths, settings, store)
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def settings(gemma_path: Path) -> Settings:
    s = Settings(extra_models=[str(gemma_path)], context_length=2048, n_threads=2)
    s.generation.max_tokens = 16
    s.generation.temperature = 0.0
    return s


@pytest.fixture
def window(qtbot, settings: Settings):  # type: ignore[no-untyped-def]
    w = make_window(qtbot, settings)
    qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=LOAD_TIMEOUT)
    yield w
    w.close()
    w.store.close()


def send(qtbot, w: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    w.prompt.setFocus()
    w.prompt.setPlainText(text)
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=TURN_TIMEOUT)


def stored(w: MainWindow) -> list[tuple[str, str, str]]:
    return [(m.role, m.content, m.status) for m in w.store.messages(w.session.conversation_id)]


def test_first_start_without_a_model_shows_the_way_to_one(qtbot) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, Settings())
    qtbot.waitUntil(lambda: w._scanned, timeout=10_000)
    assert w.body.currentWidget() is w.empty
    assert w.empty.button.isVisible() and "Add a model file" in w.empty.button.text()
    w.close()


def test_send_streams_tokens_and_stores_the_answer(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    assert "CPU" in window.header.status.text()
    growth: list[str] = []
    model = window.session.messages

    def on_changed(top, _bottom, roles=()):  # type: ignore[no-untyped-def]
        if roles and MessageListModel.ContentRole in roles:
            growth.append(top.data(MessageListModel.ContentRole))

    model.dataChanged.connect(on_changed)
    window.settings.generation.max_tokens = 48
    send(qtbot, window, "Tell me about the sea.")
    assert window.prompt.toPlainText() == ""
    rows = stored(window)
    assert rows[0] == ("user", "Tell me about the sea.", "complete")
    assert rows[1][0] == "assistant" and rows[1][2] == "complete" and rows[1][1]
    # the answer grew on screen in several steps before it was final
    assert len(growth) >= 2 and growth[-1] and rows[1][1].startswith(growth[-1])
    answer = window.chat.widget_at(1)
    assert answer is not None and answer.text() == rows[1][1]
    assert "llama.cpp" in answer._details.text() and "tokens/s" in answer._details.text()
    assert window.panel.model.rowCount() == 1


def test_stop_keeps_the_partial_answer(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.settings.generation.max_tokens = 1000
    window.settings.generation.temperature = 0.8
    window.settings.generation.seed = 7  # the same long story on every machine and run
    window.prompt.setPlainText("Write a very long story about dragons.")
    qtbot.keyClick(window.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(window.session.messages.messages()[-1].content) > 10, timeout=TURN_TIMEOUT)
    assert window.stop_button.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.session.busy, timeout=10_000)
    rows = stored(window)
    assert rows[1][2] == "stopped" and len(rows[1][1]) > 10
    assert window.session.messages.messages()[-1].status == "stopped"
    assert "stopped" in window.chat.widget_at(1)._details.text()
    assert window.send_button.isVisible()


def test_regenerate_replaces_the_last_answer(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "Say something.")
    first = window.store.messages(window.session.conversation_id)[-1]
    window.settings.generation.temperature = 1.0
    window.settings.generation.seed = 11
    window.chat.widget_at(1)._regen.click()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    msgs = window.store.messages(window.session.conversation_id)
    assert [m.role for m in msgs] == ["user", "assistant"]
    # a new answer row (SQLite may reuse the freed id, so compare when it was written)
    assert msgs[-1].created_at > first.created_at and msgs[-1].status == "complete"
    assert window.session.messages.messages()[-1] == msgs[-1]


def test_edit_and_resend_replaces_later_messages(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "First question")
    send(qtbot, window, "Second question")
    assert len(stored(window)) == 4
    first = window.chat.widget_at(0)
    first._edit.click()
    assert first.editing()
    first._editor.setPlainText("Edited question")
    first._on_edit_saved()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TURN_TIMEOUT)
    rows = stored(window)
    assert [r[:2] for r in rows][0] == ("user", "Edited question")
    assert len(rows) == 2 and rows[1][0] == "assistant"
    assert window.session.messages.rowCount() == 2


def test_restart_restores_history_and_window(qtbot, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, settings)
    qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=LOAD_TIMEOUT)
    send(qtbot, w, "Remember me")
    conv = w.session.conversation_id
    w.resize(760, 540)  # inside the offscreen screen (800x600)
    w.splitter.setSizes([180, 580])
    qtbot.wait(50)  # let the layout settle
    sizes = w.splitter.sizes()
    # the right side's minimum width (header buttons) may take some of the 580
    assert 0 < sizes[0] <= 180
    w.close()
    w.store.close()

    again = load_settings(get_paths().settings_file).settings
    assert again.last_conversation_id == conv
    w2 = make_window(qtbot, again)
    assert w2.session.conversation_id == conv
    assert [m.content for m in w2.session.messages.messages()][0] == "Remember me"
    assert (w2.width(), w2.height()) == (760, 540)
    assert w2.splitter.sizes() == sizes
    w2.close()
    w2.store.close()


def test_search_finds_a_message_and_opens_its_chat(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    store = window.store
    other = store.create_conversation("Cooking")
    store.add_message(other.id, "user", "How long do I boil a pineapple?")
    window.panel.reload()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.panel.search.hasFocus()
    qtbot.keyClicks(window.panel.search, "pineapp")
    qtbot.waitUntil(lambda: window.panel.results.rowCount() == 1, timeout=5000)
    idx = window.panel.results.index(0)
    window.panel.hits.activated.emit(idx)
    assert window.session.conversation_id == other.id
    assert window.session.messages.messages()[0].content.startswith("How long")


def test_delete_with_undo(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "Keep this safe")
    cid = window.session.conversation_id
    window.panel.delete_requested.emit(cid)
    assert window.panel.model.rowCount() == 0 and window.deleted.bar.isVisible()
    assert window.session.conversation_id == 0
    window.deleted.undo_button.click()
    assert window.panel.model.rowCount() == 1 and window.session.conversation_id == cid
    assert not window.deleted.bar.isVisible() and not window.deleted.action.isEnabled()


def test_deletions_queue_and_ctrl_z_undoes_them_newest_first(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    a = window.store.create_conversation("First <b>chat</b>")
    b = window.store.create_conversation("Second chat")
    window.panel.reload()
    window.panel.delete_requested.emit(a.id)
    window.panel.delete_requested.emit(b.id)  # a second deletion does not make the first final
    assert not {a.id, b.id} & {c.id for c in window.store.list_conversations()}
    assert "Second chat" in window.deleted.label.text() and "1 more" in window.deleted.label.text()
    window.deleted.timer.timeout.emit()  # the note goes away; the deletions can still be undone
    assert not window.deleted.bar.isVisible() and window.deleted.action.isEnabled()
    window.panel.list.setFocus()
    qtbot.keyClick(window.panel.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.conversation_id == b.id and b.id in {c.id for c in window.store.list_conversations()}
    qtbot.keyClick(window.panel.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.session.conversation_id == a.id and window.panel.model.rowCount() == 2
    assert not window.deleted.action.isEnabled()
    # deleted again, then the app quits: gone for good
    window.panel.delete_requested.emit(a.id)
    assert window.deleted.label.text() == "Deleted “First <b>chat</b>”."  # the title as written
    window.deleted.purge()
    assert window.store.get_conversation(a.id) is None  # nothing left to restore
    assert window.deleted.undo() == 0


def test_exports_match_the_conversation(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "Make a table of two fruits")
    conv = window.store.get_conversation(window.session.conversation_id)
    msgs = window.store.messages(conv.id)
    for kind in ("md", "json"):
        target = tmp_path / f"out.{kind}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, t=target, **k: (str(t), ""))
        window._export(conv.id, kind)
        text = target.read_text()
        if kind == "json":
            assert json.loads(text) == json.loads(to_json(conv, msgs))
        else:
            # the export line carries the time of export; the rest is identical
            strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith("*Exported")]  # noqa: E731
            assert strip(text) == strip(to_markdown(conv, msgs))


def test_every_control_has_an_accessible_name(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "Hi")
    kinds = (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QAbstractItemView)
    missing = [
        f"{type(c).__name__}:{c.objectName() or getattr(c, 'text', lambda: '')()}"
        for c in window.findChildren(QWidget)
        if isinstance(c, kinds) and c.isVisibleTo(window) and not c.accessibleName()
        and not (isinstance(c, QAbstractButton) and c.text())
    ]
    assert missing == []


def test_models_pass_the_model_tester(qtbot, qtmodeltester, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    send(qtbot, window, "Hello there")
    window.panel.search.setText("hello")
    qtbot.waitUntil(lambda: window.panel.results.rowCount() > 0, timeout=5000)
    for model in (window.session.messages, window.panel.model, window.panel.results, window.installed):
        qtmodeltester.check(model)
