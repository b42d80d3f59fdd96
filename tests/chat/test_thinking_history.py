"""Thinking is stored in its own field, is never part of the history the model is shown,
and never goes to the cloud (preview, consent, the request itself)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chat import schema as schema_module
from assistant.chat.dispatch import SendPolicy
from assistant.chat.privacy import preview_text
from assistant.chat.store import ChatStore
from assistant.chat.turn import history_messages, run_turn
from assistant.core.types import Chunk, GenParams, Message, Timings, Usage
from assistant.settings import Settings

SECRET = "SECRET-THOUGHT-4242"


class ScriptedEngine:
    """Plays back a reasoning model's chunks (the real engines are tested in tests/engines)."""

    name = "llama.cpp"
    context_length = 4096
    backend = "CPU"

    def __init__(self, chunks: list[Chunk], finish: str = "stop") -> None:
        self.chunks, self.finish = chunks, finish
        self.seen: list[list[Message]] = []

    def count_tokens(self, messages: list[Message]) -> int:
        return sum(len(m.content) // 4 + 4 for m in messages)

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self.seen.append(list(messages))
        yield from self.chunks
        yield Chunk(done=True, finish_reason=self.finish, usage=Usage(10, len(self.chunks)), timings=Timings())  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore.open(tmp_path / "h.db") as s:
        yield s


def test_migration_adds_thinking_to_an_old_history(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in schema_module.MIGRATIONS[:3]:  # a history written before thinking existed
        migration(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('t', 0, 0)")
    conn.execute("INSERT INTO messages(conversation_id, role, content, created_at) VALUES (1, 'assistant', 'old', 0)")
    conn.close()
    with ChatStore.open(path) as new:
        (m,) = new.messages(1)
        assert (m.content, m.thinking, m.thinking_s) == ("old", "", None)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(schema_module.MIGRATIONS)


def test_a_turn_stores_thinking_apart_and_the_next_turn_does_not_see_it(store: ChatStore) -> None:
    conv = store.create_conversation("t")
    engine = ScriptedEngine([Chunk(thinking=SECRET[:6]), Chunk(thinking=SECRET[6:]), Chunk(text="Paris.")])
    thoughts: list[str] = []
    result = run_turn(store, engine, conv.id, system_prompt=None, params=GenParams(), cancel=threading.Event(),
                      model_name="m", user_text="Capital?", on_thinking=thoughts.append)
    row = store.get_message(result.message_id)
    assert row is not None and (row.content, row.thinking) == ("Paris.", SECRET)
    assert "".join(thoughts) == SECRET and row.thinking_s is not None and row.thinking_s >= 0
    assert store.search("SECRET") == []  # thinking is not in the search index
    run_turn(store, engine, conv.id, system_prompt=None, params=GenParams(), cancel=threading.Event(),
             model_name="m", user_text="And Spain?")
    assert all(SECRET not in m.content and not m.thinking for m in engine.seen[-1])


def test_cut_off_while_thinking_is_marked(store: ChatStore) -> None:
    conv = store.create_conversation("t")
    engine = ScriptedEngine([Chunk(thinking="still thinking")], finish="length")
    result = run_turn(store, engine, conv.id, system_prompt=None, params=GenParams(), cancel=threading.Event(),
                      model_name="m", user_text="Hard question")
    row = store.get_message(result.message_id)
    assert result.cut_off_thinking and row is not None and row.cut_off_thinking
    # the next question does not follow an empty answer: the pair is left out
    store.add_message(conv.id, "user", "Next")
    assert [m.content for m in history_messages(store, conv.id)] == ["Next"]


def test_thinking_never_reaches_the_cloud_preview(store: ChatStore) -> None:
    conv = store.create_conversation("t")
    store.add_message(conv.id, "user", "Hi")
    mid = store.begin_answer(conv.id, "llama.cpp", "m")
    store.finish_answer(mid, "Hello.", "complete", thinking=SECRET)
    mid = store.begin_answer(conv.id, "llama.cpp", "m")  # an old row with thinking in its text
    store.add_message(conv.id, "user", "Again")
    store.finish_answer(mid, f"<think>{SECRET}</think>Hi again.", "complete")
    settings = Settings()
    settings.cloud.provider, settings.cloud.model = "openai", "gpt-4o"
    sent = SendPolicy(store, settings).outgoing_preview("Capital of France?", conv.id, None)
    assert SECRET not in preview_text(sent) and all(not m.thinking for m in sent)


def test_markdown_export_keeps_thinking_collapsed(store: ChatStore) -> None:
    from assistant.chat.export import to_json, to_markdown

    conv = store.create_conversation("t")
    store.add_message(conv.id, "user", "Hi")
    mid = store.begin_answer(conv.id, "llama.cpp", "m")
    store.finish_answer(mid, "Hello.", "complete", thinking=SECRET)
    conv2 = store.get_conversation(conv.id)
    assert conv2 is not None
    md = to_markdown(conv2, store.messages(conv.id))
    assert f"<details><summary>Thinking</summary>\n\n{SECRET}\n\n</details>\n\nHello." in md
    assert f'"thinking": "{SECRET}"' in to_json(conv2, store.messages(conv.id))
