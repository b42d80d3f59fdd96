"""The chat history's schema: migrations and open-time set-up of the SQLite file.

Schema changes are append-only functions in MIGRATIONS; PRAGMA user_version is
how many of them the file has had.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import StorageError

log = logging.getLogger("assistant.chat.store")

BUSY_TIMEOUT_MS = 5000


# --- migrations -----------------------------------------------------------------
# Each runs inside one transaction with the version bump; never edit a shipped
# one, append a new function instead.


def _migration_1(conn: sqlite3.Connection) -> None:
    statements = [
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            system_prompt TEXT NULL,
            model TEXT NULL,
            never_cloud INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX conversations_updated ON conversations(updated_at)",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL
                REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'stopped', 'failed', 'streaming')),
            engine TEXT NULL,
            model TEXT NULL,
            prompt_tokens INTEGER NULL,
            completion_tokens INTEGER NULL,
            ttft_s REAL NULL,
            decode_tokens_per_s REAL NULL,
            duration_s REAL NULL,
            error TEXT NULL,
            created_at REAL NOT NULL
        )""",
        "CREATE INDEX messages_conversation ON messages(conversation_id, id)",
        # Partial index: recovery at start-up must not scan the whole history.
        "CREATE INDEX messages_streaming ON messages(status) WHERE status = 'streaming'",
        # External-content FTS: the text is stored once, in messages.
        """CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )""",
        """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END""",
        """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
        END""",
        """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
        END""",
    ]
    for sql in statements:
        conn.execute(sql)


def _migration_2(conn: sqlite3.Connection) -> None:
    # Deleting a chat moves it to the trash first, so "Undo" can bring it back;
    # the trash is emptied after the undo window and at the next start.
    conn.execute("ALTER TABLE conversations ADD COLUMN deleted_at REAL NULL")


def _migration_3(conn: sqlite3.Connection) -> None:
    # Cloud answers: where each answer came from and what it cost; a chat's own
    # routing mode (NULL: the settings' default). never_cloud exists since version 1.
    conn.execute("ALTER TABLE conversations ADD COLUMN routing_mode TEXT NULL")
    conn.execute("ALTER TABLE messages ADD COLUMN origin TEXT NULL")  # local / cloud
    conn.execute("ALTER TABLE messages ADD COLUMN provider TEXT NULL")
    conn.execute("ALTER TABLE messages ADD COLUMN cost_usd REAL NULL")
    conn.execute("CREATE INDEX messages_cost ON messages(created_at) WHERE cost_usd IS NOT NULL")


def _migration_4(conn: sqlite3.Connection) -> None:
    # A reasoning model's thinking, kept apart from the answer (never sent back or to the
    # cloud, not searched), and how long it thought.
    conn.execute("ALTER TABLE messages ADD COLUMN thinking TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE messages ADD COLUMN thinking_s REAL NULL")


def _migration_5(conn: sqlite3.Connection) -> None:
    # Regenerate keeps the earlier answers as versions (‹1/2›): one row per earlier answer
    # to a user message; they go with the question (edit and resend) and with the chat.
    conn.execute(
        """CREATE TABLE answer_versions (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete',
            engine TEXT NULL,
            model TEXT NULL,
            prompt_tokens INTEGER NULL,
            completion_tokens INTEGER NULL,
            ttft_s REAL NULL,
            decode_tokens_per_s REAL NULL,
            duration_s REAL NULL,
            error TEXT NULL,
            created_at REAL NOT NULL,
            origin TEXT NULL,
            provider TEXT NULL,
            cost_usd REAL NULL,
            thinking TEXT NOT NULL DEFAULT '',
            thinking_s REAL NULL
        )"""
    )
    conn.execute("CREATE INDEX answer_versions_question ON answer_versions(question_id, created_at)")


def _migration_6(conn: sqlite3.Connection) -> None:
    # Why an answer ended ("length": cut off at the answer limit, shown with Continue), and
    # the exchanges an edit replaced, kept as versions of the question (‹1/2› on it): the
    # messages from the edited question on, as JSON, keyed by the message before them
    # (anchor 0: the chat's first message).
    conn.execute("ALTER TABLE messages ADD COLUMN finish_reason TEXT NULL")
    conn.execute("ALTER TABLE answer_versions ADD COLUMN finish_reason TEXT NULL")
    conn.execute(
        """CREATE TABLE exchange_versions (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            anchor_id INTEGER NOT NULL,
            created_at REAL NOT NULL,
            exchange TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX exchange_versions_anchor ON exchange_versions(conversation_id, anchor_id)")


def _migration_7(conn: sqlite3.Connection) -> None:
    # The document collections chosen for a chat (documents/, by name), as a JSON list;
    # NULL: none. The chat's own attached files are a collection of their own, named there.
    conn.execute("ALTER TABLE conversations ADD COLUMN documents TEXT NULL")


def _migration_8(conn: sqlite3.Connection) -> None:
    # The passages an answer from documents cited (JSON list), shown again with it. Here and
    # not in the documents' index: they go with their message (ON DELETE CASCADE), so an id
    # SQLite gives again after a delete never shows an older answer's sources.
    conn.execute(
        """CREATE TABLE message_sources (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            data TEXT NOT NULL
        )"""
    )


def _migration_9(conn: sqlite3.Connection) -> None:
    # The tool calls an answer made and what each returned (tools/loop.py's records, a JSON
    # list): shown as a collapsed block under the answer, and sent back to the model as
    # the assistant's calls and the tool results. They go with their message.
    # conversations.tools: the tools a chat has switched on (tools/registry.EnabledTools, JSON).
    conn.execute("ALTER TABLE conversations ADD COLUMN tools TEXT NULL")
    conn.execute(
        """CREATE TABLE message_tools (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
            data TEXT NOT NULL
        )"""
    )


def _migration_10(conn: sqlite3.Connection) -> None:
    # The images of a user message (chat/images.py): the files are in the data folder by
    # content hash, never here; a row per image, in order, gone with its message. The index
    # on the hash answers "does any message still use this file?" when messages are deleted.
    # conversations.never_images: the chat's "never send images" mark (the cloud gets text only).
    conn.execute("ALTER TABLE conversations ADD COLUMN never_images INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        """CREATE TABLE message_images (
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            format TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            frames INTEGER NOT NULL DEFAULT 1,
            bytes INTEGER NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (message_id, position)
        )"""
    )
    conn.execute("CREATE INDEX message_images_sha ON message_images(sha256)")


# Index i holds the migration to version i + 1. Tests patch this name.
MIGRATIONS: Sequence[Callable[[sqlite3.Connection], None]] = (
    _migration_1, _migration_2, _migration_3, _migration_4, _migration_5, _migration_6, _migration_7, _migration_8, _migration_9,
    _migration_10,
)


def configure(conn: sqlite3.Connection, path: Path) -> None:
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the header first: a non-database file fails here, untouched.
        conn.execute("PRAGMA user_version").fetchone()
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise open_error(path, exc) from exc
    if str(mode).lower() != "wal" and str(path) != ":memory:":  # `ask --no-history` keeps nothing
        # Some network file systems refuse WAL; the rollback journal is still safe.
        log.warning("chat history %s runs in %s mode, not WAL", path, mode)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    known = len(MIGRATIONS)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        _refuse_newer(path, version, known)
        while version < known:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another instance may have migrated.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                _refuse_newer(path, version, known)
                if version < known:
                    MIGRATIONS[version](conn)
                    version += 1
                    conn.execute(f"PRAGMA user_version = {version}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise StorageError(
            f"Could not upgrade the chat history {path} to the current format: {exc}.",
            "The file was left as it was. Free some disk space or close other copies of the"
            " app and try again; if it keeps failing, move the file away to start a new history.",
        ) from exc


def _refuse_newer(path: Path, version: int, known: int) -> None:
    if version > known:
        raise StorageError(
            f"The chat history {path} was written by a newer version of the app"
            f" (format {version}; this version reads up to {known}).",
            "Update the app, or move that file away to start a new, empty history.",
        )


def open_error(path: Path, exc: sqlite3.Error) -> StorageError:
    text = str(exc).lower()
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return StorageError(
            f"The chat history file {path} is damaged or is not a chat database.",
            "The app has not changed it. Move it to another folder (or rename it) and start"
            " the app again to begin a new history; keep the old file if you want to try"
            " recovering it.",
        )
    return StorageError(
        f"Could not open the chat history {path}: {exc}.",
        "Check that the file and its folder are readable and writable.",
    )


