"""The store when SQLite fails at run time: a second copy of the app holding the lock,
a full disk, a read-only file. Each is a StorageError in plain words with what to do,
and nothing already saved is lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chat import schema
from assistant.chat.store import ChatStore
from assistant.errors import StorageError

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")  # what a second copy of the app does while it writes
print("locked", flush=True)
sys.stdin.readline()  # until the test says so
db.execute("COMMIT")
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def test_a_second_copy_holding_the_lock(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "BUSY_TIMEOUT_MS", 300)  # the app waits 5 s; the test need not
    with ChatStore.open(db_path) as store:
        conv = store.create_conversation("kept")
        store.add_message(conv.id, "user", "saved before the other copy started")
        other = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db_path)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout is not None and other.stdout.readline().strip() == "locked"
            with pytest.raises(StorageError) as info:
                store.add_message(conv.id, "user", "written while it holds the lock")
            assert "locked" in info.value.message
            assert "second copy of the app" in info.value.hint
        finally:
            assert other.stdin is not None
            other.stdin.write("\n")
            other.stdin.flush()
            other.wait(timeout=10)
        store.add_message(conv.id, "user", "after it let go")  # the store works again
        assert [m.content for m in store.messages(conv.id)] == ["saved before the other copy started", "after it let go"]


def test_a_full_disk(db_path: Path) -> None:
    with ChatStore.open(db_path) as store:
        conv = store.create_conversation("kept")
        store.add_message(conv.id, "user", "saved before the disk filled")
        conn = store._live()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own SQLITE_FULL, as on a full disk
        with pytest.raises(StorageError) as info:
            store.add_message(conv.id, "user", "x" * 1_000_000)
        assert "full" in info.value.message
        assert info.value.hint == "The disk is full. Free some space and try again."
        conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
        store.add_message(conv.id, "user", "after space was freed")
        assert [m.content for m in store.messages(conv.id)] == ["saved before the disk filled", "after space was freed"]


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """chattr +i: read-only even for root (plain permissions are not, and CI runs as root)."""
    if shutil.which("chattr") is None:
        pytest.fail("chattr (Debian: e2fsprogs) is needed to make a file read-only for root")
    marked: list[Path] = []
    yield marked
    for p in marked:
        subprocess.run(["chattr", "-i", str(p)], check=False)


def test_a_read_only_history_file(db_path: Path, immutable: list[Path]) -> None:
    with ChatStore.open(db_path) as store:
        conv = store.create_conversation("kept")
        store.add_message(conv.id, "user", "saved while it was writable")
    for extra in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        extra.unlink(missing_ok=True)
    r = subprocess.run(["chattr", "+i", str(db_path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"chattr +i failed here: {r.stderr.strip()}")
    immutable.append(db_path)
    with pytest.raises(StorageError) as info:
        with ChatStore.open(db_path) as store:
            store.add_message(conv.id, "user", "cannot be written")
    # refused at open, where it first tries to write (marking answers a crash cut short)
    assert info.value.message.startswith(f"The chat history {db_path} is read-only, so the app could not")
    assert info.value.hint.startswith("Check the permissions")
    subprocess.run(["chattr", "-i", str(db_path)], check=True)
    with ChatStore.open(db_path) as store:  # nothing was lost
        assert [m.content for m in store.messages(conv.id)] == ["saved while it was writable"]
