"""The thinking block in the chat: collapsed by default, opened with its arrow, growing
live while the model thinks; an answer cut off while thinking says so and continues."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.gguf_edit import with_string_metadata

from assistant.chat.records import StoredMessage
from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.models.messages import MessageListModel
from assistant.ui.chat.thinking_block import thinking_title
from assistant.ui.main_window import MainWindow

TEMPLATES = Path(__file__).resolve().parents[2] / "engines" / "templates"


def row(mid: int, role: str, content: str, status: str = "complete", thinking: str = "", thinking_s: float | None = None) -> StoredMessage:
    return StoredMessage(mid, 1, role, content, status, "llama.cpp", "m", None, None, None, None, None, None,
                         time.time(), thinking=thinking, thinking_s=thinking_s)


def test_titles() -> None:
    assert thinking_title(True, None) == "Thinking…"
    assert thinking_title(False, 12.4) == "Thought for 12 s"
    assert thinking_title(False, 0.3) == "Thought for less than a second"
    assert thinking_title(False, 300) == "Thought for 5 min"


def test_block_is_collapsed_by_default_and_opens(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = MessageListModel()
    view = ChatView(model)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    model.set_messages([row(1, "user", "Why?"), row(2, "assistant", "Because.", thinking="Let me think.", thinking_s=12.0),
                        row(3, "user", "And?"), row(4, "assistant", "Plain answer.")])
    answer = view.widget_at(1)
    assert answer is not None
    block = answer.thinking
    assert (not block.isHidden()) and block.body.isHidden()
    assert block.toggle.text() == "Thought for 12 s"
    assert block.toggle.accessibleName() == "Show the thinking"
    assert "Let me think." not in answer.text()  # copying the answer copies the answer
    block.toggle.click()
    assert (not block.body.isHidden()) and block.body.text() == "Let me think."
    assert block.toggle.accessibleName() == "Hide the thinking"
    plain = view.widget_at(3)
    assert plain is not None and plain.thinking.isHidden()


def test_block_updates_live_while_streaming(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = MessageListModel()
    view = ChatView(model)
    qtbot.addWidget(view)
    view.show()
    model.set_messages([row(1, "user", "Why?"), row(0, "assistant", "", status="streaming")])
    w = view.widget_at(1)
    assert w is not None and w.thinking.isHidden()
    model.set_streaming_text(1, "", "First")
    assert (not w.thinking.isHidden()) and w.thinking.toggle.text() == "Thinking…" and w.body.isHidden()
    w.thinking.toggle.click()
    model.set_streaming_text(1, "", "First thought, second")
    assert w.thinking.body.text() == "First thought, second"
    model.set_streaming_text(1, "The answer", "First thought, second", 3.0)
    assert w.thinking.toggle.text() == "Thought for 3 s" and (not w.body.isHidden())


@pytest.fixture
def qwq_model(gemma_path: Path, tmp_path: Path) -> Path:
    source = (TEMPLATES / "Qwen-QwQ-32B.jinja").read_text(encoding="utf-8")
    return with_string_metadata(gemma_path, tmp_path / "qwq-test.gguf", {"tokenizer.chat_template": source})


def test_window_shows_thinking_live_and_continues_a_cut_off_answer(qtbot, qwq_model: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(extra_models=[str(qwq_model)], context_length=1024, n_threads=2)
    settings.generation.temperature = 0.0
    settings.model_settings[str(qwq_model)] = {"max_tokens": 16}
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    w = MainWindow(paths, settings, store)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=60_000)
        titles: list[str] = []
        model = w.session.messages
        model.dataChanged.connect(lambda top, *_: titles.append(w.chat.widget_at(top.row()).thinking.toggle.text()))
        assert w.session.send("Why is the sky blue?")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=120_000)
        assert "Thinking…" in titles  # it was shown while the model thought
        (m,) = [r for r in store.messages(w.session.conversation_id) if r.role == "assistant"]
        assert m.thinking and m.cut_off_thinking
        answer = w.chat.widget_at(1)
        assert answer is not None and (not answer.thinking.isHidden()) and not answer.thinking.expanded
        assert answer.thinking.toggle.text().startswith("Thought for")
        assert "still thinking" in answer._error.text() and (not answer._continue.isHidden())
        answer._continue.click()
        qtbot.waitUntil(lambda: not w.session.busy, timeout=120_000)
        (m2,) = [r for r in store.messages(w.session.conversation_id) if r.role == "assistant"]
        assert len(m2.thinking) > len(m.thinking) and m2.thinking.startswith(m.thinking.strip()[:10])
    finally:
        w.close()
        store.close()
