"""ChatStore against real SQLite files under tmp_path."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chat import schema as schema_module
from assistant.chat.records import fts_query
from assistant.chat.store import INTERRUPTED_ERROR, ChatStore
from assistant.errors import StorageError

REPO_ROOT = Path(__file__).resolve().parents[2]
KILLED_WRITER = Path(__file__).with_name("_killed_writer.py")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[ChatStore]:
    with ChatStore.open(db_path) as s:
        yield s


# --- conversations ----------------------------------------------------------------


def test_open_creates_parent_dirs_and_latest_schema(db_path: Path) -> None:
    with ChatStore.open(db_path):
        pass
    assert db_path.is_file()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema_module.MIGRATIONS)
    conn.close()


def test_create_get_rename_and_flags(store: ChatStore) -> None:
    conv = store.create_conversation()
    assert conv.title == "New chat" and conv.never_cloud is False
    other = store.create_conversation("Recipes", system_prompt="Be brief.", model="gemma")
    assert store.get_conversation(other.id) == other

    store.rename_conversation(conv.id, "Trip to Lisbon")
    store.set_never_cloud(conv.id, True)
    got = store.get_conversation(conv.id)
    assert got is not None and got.title == "Trip to Lisbon" and got.never_cloud is True
    assert store.get_conversation(9999) is None
    with pytest.raises(StorageError, match="9999"):
        store.rename_conversation(9999, "x")


def test_list_is_newest_activity_first(store: ChatStore) -> None:
    a = store.create_conversation("a")
    b = store.create_conversation("b")
    assert [c.id for c in store.list_conversations()] == [b.id, a.id]
    time.sleep(0.01)
    store.add_message(a.id, "user", "hello")
    assert [c.id for c in store.list_conversations()] == [a.id, b.id]


def test_trash_restore_and_purge(store: ChatStore) -> None:
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    store.add_message(gone.id, "user", "zebra crossing")
    store.trash_conversation(gone.id)
    assert [c.title for c in store.list_conversations()] == ["keep"]
    assert store.search("zebra") == []
    store.restore_conversation(gone.id)
    assert {c.title for c in store.list_conversations()} == {"keep", "gone"}
    assert len(store.search("zebra")) == 1
    store.trash_conversation(gone.id)
    assert store.purge_trash() == 1
    assert store.get_conversation(gone.id) is None and store.messages(gone.id) == []
    assert store.get_conversation(keep.id) is not None


def test_delete_conversation_cascades(store: ChatStore) -> None:
    conv = store.create_conversation("doomed")
    keep = store.create_conversation("kept")
    store.add_message(conv.id, "user", "pelican")
    store.add_message(keep.id, "user", "pelican too")
    store.delete_conversation(conv.id)
    store.delete_conversation(conv.id)  # idempotent

    assert [c.id for c in store.list_conversations()] == [keep.id]
    assert store.messages(conv.id) == []
    assert [h.conversation_id for h in store.search("pelican")] == [keep.id]


def test_changes_survive_reopen(db_path: Path) -> None:
    with ChatStore.open(db_path) as s:
        conv = s.create_conversation("persist")
        s.set_never_cloud(conv.id, True)
        s.add_message(conv.id, "user", "remember me")
    with ChatStore.open(db_path) as s:
        got = s.get_conversation(conv.id)
        assert got is not None and got.never_cloud
        assert [m.content for m in s.messages(conv.id)] == ["remember me"]


# --- messages ---------------------------------------------------------------------


def test_messages_in_order_with_metadata(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "system", "You are helpful.")
    u = store.add_message(conv.id, "user", "Hi")
    a = store.add_message(
        conv.id, "assistant", "Hello!", engine="llamacpp", model="gemma",
        prompt_tokens=12, completion_tokens=3, ttft_s=0.1, decode_tokens_per_s=40.0,
        duration_s=0.2,
    )  # fmt: skip
    msgs = store.messages(conv.id)
    assert [m.role for m in msgs] == ["system", "user", "assistant"]
    assert msgs[1] == u and msgs[2] == a
    assert a.completion_tokens == 3 and a.status == "complete" and a.engine == "llamacpp"
    assert store.get_message(a.id) == a


def test_add_message_rejects_bad_input(store: ChatStore) -> None:
    conv = store.create_conversation()
    with pytest.raises(ValueError):
        store.add_message(conv.id, "robot", "x")
    with pytest.raises(ValueError):
        store.add_message(conv.id, "user", "x", status="done")
    with pytest.raises(StorageError, match="does not exist"):
        store.add_message(12345, "user", "x")
    assert store.messages(conv.id) == []


def test_streaming_answer_lifecycle(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "Count")
    mid = store.begin_answer(conv.id, "mlx", "tiny")
    started = store.get_message(mid)
    assert started is not None and started.status == "streaming" and started.content == ""

    assert store.save_partial(mid, "one two")
    assert store.get_message(mid).content == "one two"  # type: ignore[union-attr]
    assert store.finish_answer(
        mid, "one two three", "stopped", completion_tokens=3, duration_s=1.5
    )
    done = store.get_message(mid)
    assert done is not None
    assert (done.content, done.status, done.completion_tokens) == ("one two three", "stopped", 3)
    assert (done.engine, done.model) == ("mlx", "tiny")

    # A late partial save must not clobber the finished answer.
    assert not store.save_partial(mid, "one")
    assert store.get_message(mid).content == "one two three"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        store.finish_answer(mid, "x", "streaming")

    # The conversation deleted mid-answer: finishing is a quiet no-op.
    mid2 = store.begin_answer(conv.id, "mlx", "tiny")
    store.delete_conversation(conv.id)
    assert not store.save_partial(mid2, "x")
    assert not store.finish_answer(mid2, "x", "complete")


def test_recover_interrupted_on_open(db_path: Path) -> None:
    with ChatStore.open(db_path) as s:
        conv = s.create_conversation()
        mid = s.begin_answer(conv.id, "llamacpp", "gemma")
        s.save_partial(mid, "half an ans")
        finished = s.begin_answer(conv.id, "llamacpp", "gemma")
        s.finish_answer(finished, "whole", "complete")
    with ChatStore.open(db_path) as s:
        m = s.get_message(mid)
        assert m is not None
        assert (m.status, m.error, m.content) == ("failed", INTERRUPTED_ERROR, "half an ans")
        assert s.get_message(finished).status == "complete"  # type: ignore[union-attr]
        assert s.recover_interrupted() == 0


def test_delete_messages_from(store: ChatStore) -> None:
    conv = store.create_conversation()
    other = store.create_conversation()
    roles = ["user", "assistant"] * 3
    ids = [store.add_message(conv.id, r, f"m{i}").id for i, r in enumerate(roles)]
    foreign = store.add_message(other.id, "user", "elsewhere")
    assert store.delete_messages_from(conv.id, ids[2]) == 4
    assert [m.id for m in store.messages(conv.id)] == ids[:2]
    assert store.messages(other.id) == [foreign]
    # New messages still sort after the survivors.
    new = store.add_message(conv.id, "user", "again")
    assert [m.id for m in store.messages(conv.id)] == [*ids[:2], new.id]


def test_sources_go_with_their_answer(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "q")
    answer = store.add_message(conv.id, "assistant", "a [1]").id
    cited = [{"n": 1, "where": "notes.md, line 3", "snippet": "chairs"}]
    store.save_sources(answer, cited)
    assert store.sources(answer) == cited and store.sources(answer + 1) == []
    store.save_sources(answer, cited[:0])  # saved again: replaced
    assert store.sources(answer) == []
    store.save_sources(answer, cited)
    store.delete_messages_from(conv.id, answer)
    again = store.add_message(conv.id, "assistant", "a plain answer").id
    assert again == answer and store.sources(again) == []  # SQLite gave the id again; not its sources
    store.save_sources(again, cited)
    store.delete_conversation(conv.id)
    with store._read("count") as c:
        assert c.execute("SELECT count(*) FROM message_sources").fetchone()[0] == 0


def test_store_shared_between_threads(store: ChatStore) -> None:
    conv = store.create_conversation()
    errors: list[BaseException] = []

    def write(tag: str) -> None:
        try:
            for i in range(30):
                store.add_message(conv.id, "user", f"{tag}{i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.messages(conv.id)) == 60


def test_closed_store_raises_storage_error(db_path: Path) -> None:
    s = ChatStore.open(db_path)
    s.close()
    s.close()
    with pytest.raises(StorageError):
        s.list_conversations()


# --- search -----------------------------------------------------------------------


def test_search_finds_words_with_snippet_and_title(store: ChatStore) -> None:
    conv = store.create_conversation("Birds")
    store.add_message(conv.id, "user", "Where do Pelicans nest in winter?")
    m = store.add_message(conv.id, "assistant", "Brown pelicans nest on islands.")
    other = store.create_conversation("Code")
    store.add_message(other.id, "user", "Explain Python decorators")

    hits = store.search("islands")
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.conversation_id, hit.message_id, hit.conversation_title) == (conv.id, m.id, "Birds")
    assert "[islands]" in hit.snippet

    assert len(store.search("pelicans nest")) == 2  # case-insensitive, all words
    assert len(store.search("pelic")) == 2  # prefix on the last word
    assert store.search("pelic ") == []  # a finished word is not a prefix
    assert [h.conversation_id for h in store.search("decorator")] == [other.id]
    assert store.search("pelicans decorators") == []
    assert len(store.search("x", limit=0)) == 0


@pytest.mark.parametrize(
    ("query", "hits"),
    [('"foo', 1), ("AND(", 1), ("NEAR(", 0), ("(", 0), (")", 0), ("*", 0), ("-", 0), ("^", 0), ("'", 0),
     ('"', 0), ("a AND", 0), ("NOT", 1), ("OR", 0), ('foo" OR "', 0), ("content:foo", 1), ("x:", 0),
     ("{a b}", 0), ("+", 0), ("", 0), ("   ", 0), ("foo*bar", 0), ("quoted bar", 1), ("ünïcödé", 1), ("🙂", 0)],
)  # fmt: skip
def test_search_is_safe_with_odd_input(store: ChatStore, query: str, hits: int) -> None:
    """Operators and punctuation are text, never FTS5 syntax: each query finds what its
    words find, and a query with no words finds nothing (and none raises)."""
    conv = store.create_conversation()
    mid = store.add_message(conv.id, "user", 'foo AND( bar "quoted" NOT done content:foo ünïcödé').id
    store.add_message(conv.id, "assistant", "an unrelated answer")
    found = store.search(query)
    assert [h.message_id for h in found] == [mid] * hits


def test_search_treats_operators_as_text(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "cats and dogs")
    store.add_message(conv.id, "user", "cats or birds")
    assert len(store.search("cats AND")) == 1  # "and" is a word here, not an operator
    assert len(store.search("cats OR birds")) == 1
    assert len(store.search('"cats')) == 2
    assert len(store.search("Cafe")) == 0
    store.add_message(conv.id, "user", "Café crème")
    assert len(store.search("cafe creme")) == 1  # diacritics folded


def test_search_reflects_edits_and_deletes(store: ChatStore) -> None:
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "question")
    mid = store.begin_answer(conv.id, "llamacpp", "gemma")
    store.save_partial(mid, "partial zebra")
    assert [h.message_id for h in store.search("zebra")] == [mid]
    store.finish_answer(mid, "final giraffe", "complete")
    assert store.search("zebra") == []
    assert [h.message_id for h in store.search("giraffe")] == [mid]
    store.delete_messages_from(conv.id, mid)
    assert store.search("giraffe") == []
    raw = sqlite3.connect(store.path)  # the FTS index agrees with its table
    raw.execute("INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')")
    raw.close()


def test_fts_query_quoting() -> None:
    assert fts_query("hello world") == '"hello" "world"*'
    assert fts_query("hello ") == '"hello"'
    assert fts_query('say "hi') == '"say" """hi"*'
    assert fts_query("?? !!") == ""
    assert fts_query("") == ""


# --- durability and format ----------------------------------------------------------


def test_wal_and_full_sync(store: ChatStore) -> None:
    assert store.journal_mode() == "wal"
    assert store.synchronous() == 2  # FULL
    assert store.integrity_check() == "ok"


def _v3_add_pinned(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")


def _build_v1(path: Path) -> None:
    """A history as version 1 of the app left it: only migration 1, with data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    schema_module._migration_1(conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO conversations(title, created_at, updated_at) VALUES ('old', 1, 1)")
    conn.execute(
        "INSERT INTO messages(conversation_id, role, content, created_at)"
        " VALUES (1, 'user', 'ancient walrus', 1)"
    )
    conn.close()


def test_opening_v1_runs_later_migrations(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build_v1(db_path)
    # the real migration 2 (trash) plus a stand-in third one
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, _v3_add_pinned))
    with ChatStore.open(db_path) as s:
        assert [c.title for c in s.list_conversations()] == ["old"]
        assert len(s.search("walrus")) == 1
        s.trash_conversation(1)
        assert s.list_conversations() == []
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema_module.MIGRATIONS)
    assert conn.execute("SELECT pinned, deleted_at IS NOT NULL FROM conversations").fetchall() == [(0, 1)]
    conn.close()


def test_failed_migration_leaves_file_at_old_version(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _build_v1(db_path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE conversations ADD COLUMN half INTEGER")
        conn.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(schema_module, "MIGRATIONS", (schema_module._migration_1, broken))
    with pytest.raises(StorageError, match="upgrade"):
        ChatStore.open(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    cols = [r[1] for r in conn.execute("PRAGMA table_info(conversations)")]
    assert "half" not in cols
    conn.close()


def test_newer_version_is_refused(db_path: Path) -> None:
    with ChatStore.open(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageError, match="newer version") as info:
        ChatStore.open(db_path)
    assert str(db_path) in str(info.value)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


def test_garbage_file_is_reported_and_left_alone(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database, just some text that happens to be here\n" * 100
    db_path.write_bytes(garbage)
    with pytest.raises(StorageError) as info:
        ChatStore.open(db_path)
    assert str(db_path) in str(info.value)
    assert "damaged" in info.value.message and "Move it" in info.value.hint
    assert db_path.read_bytes() == garbage


# --- crash --------------------------------------------------------------------------


def _answer_text(n: int) -> str:
    # Same text as _killed_writer.answer_text.
    return "".join(f"word{i} " for i in range(1, n + 1))


def test_sigkill_mid_answer_keeps_committed_text(db_path: Path) -> None:
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": pythonpath}
    proc = subprocess.Popen(
        [sys.executable, str(KILLED_WRITER), str(db_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if not first.startswith("ready"):
            proc.kill()
            pytest.fail(f"writer did not start: {first!r} {proc.communicate()[1]}")
        _, conv_id, message_id = first.split()
        last_saved = 0
        for _ in range(25):
            line = proc.stdout.readline()
            assert line.startswith("saved"), line
            last_saved = int(line.split()[1])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert proc.returncode == -signal.SIGKILL
    # The writer died without closing: its WAL was never checkpointed away.
    assert db_path.with_name(db_path.name + "-wal").exists()

    with ChatStore.open(db_path) as s:
        assert s.integrity_check() == "ok"
        msgs = s.messages(int(conv_id))
        assert [m.role for m in msgs] == ["user", "assistant"]
        assert msgs[0].content.startswith("Tell me a very long story")
        assert msgs[0].status == "complete"
        answer = msgs[1]
        assert answer.id == int(message_id)
        assert answer.status == "failed" and answer.error == INTERRUPTED_ERROR
        # At least what was acknowledged before the kill; maybe one more commit.
        assert answer.content.startswith(_answer_text(last_saved))
        n = answer.content.count("word")
        assert answer.content == _answer_text(n) and n >= last_saved
