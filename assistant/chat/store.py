"""Chat history in SQLite: conversations, messages, full-text search.

One connection per store, shared by the GUI thread and the inference worker and
guarded by a lock. WAL with synchronous=FULL: every commit is on disk before it
returns, so a message (or a partial answer) survives a crash or a power cut.
Rows still 'streaming' when the store opens belong to a process that died
mid-answer; `recover_interrupted` marks them failed and keeps their text.

The schema and its migrations are in schema.py.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from assistant.chat.extras import MessageExtras
from assistant.chat.images import ImageRows, ImageStore
from assistant.chat.records import (
    CONV_COLS,
    MSG_COLS,
    Conversation,
    SearchHit,
    StoredMessage,
    conversation_from_row,
    fts_query,
    message_from_row,
)
from assistant.chat.schema import BUSY_TIMEOUT_MS, configure, migrate, open_error
from assistant.errors import StorageError

log = logging.getLogger(__name__)

ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "stopped", "failed", "streaming")
FINAL_STATUSES = ("complete", "stopped", "failed")
INTERRUPTED_ERROR = "interrupted: the app stopped before this answer finished"


# --- the store ------------------------------------------------------------------


class ChatStore(ImageRows, MessageExtras):
    """Conversations and messages in one SQLite file. Thread-safe. Images: chat/images.py."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        # Use ChatStore.open(); this only wraps a ready connection.
        self.path = path
        self._conn: sqlite3.Connection | None = conn
        self._lock = threading.RLock()
        # beside the history file; an in-memory history keeps its images in a temporary folder
        memory = str(path) == ":memory:"
        self._temp_images = tempfile.mkdtemp(prefix="assistant-images-") if memory else None
        self.images = ImageStore(Path(self._temp_images) if self._temp_images else Path(path).parent / "images")

    # --- opening and closing

    @classmethod
    def open(cls, path: Path) -> ChatStore:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the folder for the chat history: {path.parent} ({exc.strerror}).",
                "Check that the folder is writable, or point the app at another data folder.",
            ) from exc
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            conn = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise open_error(path, exc) from exc
        try:
            configure(conn, path)
            migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        store = cls(path, conn)
        n = store.recover_interrupted()
        if n:
            log.warning("marked %d interrupted answer(s) as failed in %s", n, path)
        return store

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # an optimisation hint; closing matters more
            self._conn.close()
            self._conn = None
            if self._temp_images:
                shutil.rmtree(self._temp_images, ignore_errors=True)

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- plumbing

    @contextmanager
    def _tx(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; sqlite errors become StorageError."""
        with self._lock:
            conn = self._live()
            try:
                # IMMEDIATE: take the write lock now, so busy_timeout applies
                # here rather than failing midway on lock upgrade.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise _runtime_error(self.path, action, exc) from exc

    @contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._live()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise _runtime_error(self.path, action, exc) from exc

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(
                "The chat history is closed.", "This is a bug: the store was used after close()."
            )
        return self._conn

    # --- conversations

    def create_conversation(
        self, title: str = "New chat", system_prompt: str | None = None, model: str | None = None
    ) -> Conversation:
        now = time.time()
        with self._tx("create a conversation") as c:
            cur = c.execute(
                "INSERT INTO conversations(title, created_at, updated_at, system_prompt, model)"
                " VALUES (?, ?, ?, ?, ?)",
                (title, now, now, system_prompt, model),
            )
            cid = int(cur.lastrowid or 0)
        return Conversation(cid, title, now, now, system_prompt, model, False)

    def list_conversations(self) -> list[Conversation]:
        """Most recently active first."""
        with self._read("list conversations") as c:
            rows = c.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE deleted_at IS NULL"
                " ORDER BY updated_at DESC, id DESC"
            ).fetchall()
        return [conversation_from_row(r) for r in rows]

    def get_conversation(self, conversation_id: int) -> Conversation | None:
        with self._read("read a conversation") as c:
            row = c.execute(
                f"SELECT {CONV_COLS} FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        return conversation_from_row(row) if row else None

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        # Renaming does not bump updated_at: the list is ordered by chat activity.
        self._update_conversation(conversation_id, "title = ?", (title,), "rename a conversation")

    def set_never_cloud(self, conversation_id: int, never_cloud: bool) -> None:
        self._update_conversation(
            conversation_id, "never_cloud = ?", (int(never_cloud),), "change a conversation"
        )

    def set_routing_mode(self, conversation_id: int, mode: str | None) -> None:
        self._update_conversation(conversation_id, "routing_mode = ?", (mode,), "change a conversation")

    def set_system_prompt(self, conversation_id: int, system_prompt: str | None) -> None:
        self._update_conversation(
            conversation_id, "system_prompt = ?", (system_prompt,), "change a conversation"
        )

    def set_conversation_model(self, conversation_id: int, model: str | None) -> None:
        self._update_conversation(conversation_id, "model = ?", (model,), "change a conversation")

    def set_documents(self, conversation_id: int, names: list[str]) -> None:
        """The document collections chosen for this chat (remembered with it)."""
        value = json.dumps(list(dict.fromkeys(names))) if names else None
        self._update_conversation(conversation_id, "documents = ?", (value,), "change a conversation")

    def documents(self, conversation_id: int) -> list[str]:
        with self._read("read a conversation") as c:
            row = c.execute("SELECT documents FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return [str(n) for n in json.loads(row[0])] if row and row[0] else []

    def _update_conversation(
        self, conversation_id: int, assignment: str, args: tuple[Any, ...], action: str
    ) -> None:
        with self._tx(action) as c:
            cur = c.execute(
                f"UPDATE conversations SET {assignment} WHERE id = ?", (*args, conversation_id)
            )
            if cur.rowcount == 0:
                raise _no_conversation(conversation_id)

    def trash_conversation(self, conversation_id: int) -> None:
        """Hide a conversation until `restore_conversation` or `purge_trash`."""
        self._update_conversation(conversation_id, "deleted_at = ?", (time.time(),), "delete a conversation")

    def restore_conversation(self, conversation_id: int) -> None:
        self._update_conversation(conversation_id, "deleted_at = NULL", (), "restore a conversation")

    def purge_trash(self) -> int:
        """Delete for good every trashed conversation (and the images no other chat uses); returns how many."""
        with self._lock:  # files go after the commit, before another attach can look for them
            with self._tx("empty the trash") as c:
                trashed = "conversation_id IN (SELECT id FROM conversations WHERE deleted_at IS NOT NULL)"
                held = self._held_by(c, "m." + trashed, (), trashed)
                n = c.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount
                unused = self._unused(c, held)
            self.images.remove(unused)
            return n

    def delete_conversation(self, conversation_id: int) -> None:
        """Deletes it, its messages and the images no other chat uses. Deleting a missing one is not an error."""
        with self._lock:
            with self._tx("delete a conversation") as c:
                held = self._held_by(c, "m.conversation_id = ?", (conversation_id,), "conversation_id = ?")
                c.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
                unused = self._unused(c, held)
            self.images.remove(unused)

    # --- messages

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: str = "complete",
        engine: str | None = None,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_s: float | None = None,
        decode_tokens_per_s: float | None = None,
        duration_s: float | None = None,
        error: str | None = None,
        origin: str | None = None,
        provider: str | None = None,
        finish_reason: str | None = None,
    ) -> StoredMessage:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        now = time.time()
        values = (
            conversation_id, role, content, status, engine, model, prompt_tokens,
            completion_tokens, ttft_s, decode_tokens_per_s, duration_s, error, now, origin, provider, None,
            "", None, finish_reason,
        )  # fmt: skip
        with self._tx("save a message") as c:
            self._require_conversation(c, conversation_id)
            cur = c.execute(
                f"INSERT INTO messages({MSG_COLS.split(', ', 1)[1]})"
                f" VALUES ({', '.join('?' * len(values))})",
                values,
            )
            mid = int(cur.lastrowid or 0)
            self._touch(c, conversation_id, now)
        return StoredMessage(mid, *values)

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        """The conversation's messages, oldest first."""
        with self._read("read messages") as c:
            rows = c.execute(
                f"SELECT {MSG_COLS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    def get_message(self, message_id: int) -> StoredMessage | None:
        with self._read("read a message") as c:
            sql = f"SELECT {MSG_COLS} FROM messages WHERE id = ?"
            row = c.execute(sql, (message_id,)).fetchone()
        return message_from_row(row) if row else None

    def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        """Delete this message and every later one in the conversation (edit, regenerate).

        Returns how many were deleted. Relies on ids growing with time, which
        INTEGER PRIMARY KEY guarantees for new rows (max(id) + 1).
        """
        with self._lock:
            with self._tx("delete messages") as c:
                held = self._held_by(c, "m.conversation_id = ? AND m.id >= ?", (conversation_id, message_id))
                n = c.execute("DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
                              (conversation_id, message_id)).rowcount
                if n:
                    self._touch(c, conversation_id, time.time())
                unused = self._unused(c, held)
            self.images.remove(unused)
            return n

    # --- streaming answers

    def begin_answer(
        self, conversation_id: int, engine: str | None, model: str | None,
        origin: str | None = None, provider: str | None = None,
    ) -> int:
        """Insert an empty assistant row marked 'streaming'; returns its id."""
        return self.add_message(
            conversation_id, "assistant", "", status="streaming", engine=engine, model=model,
            origin=origin, provider=provider,
        ).id

    def save_partial(self, message_id: int, content: str, thinking: str = "") -> bool:
        """Commit the text streamed so far. False if the row is gone or already finished.

        Only touches a row still 'streaming', so a late call cannot overwrite a
        finished answer.
        """
        with self._tx("save a partial answer") as c:
            cur = c.execute(
                "UPDATE messages SET content = ?, thinking = ? WHERE id = ? AND status = 'streaming'",
                (content, thinking, message_id),
            )
            return cur.rowcount > 0

    def finish_answer(
        self,
        message_id: int,
        content: str,
        status: str,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_s: float | None = None,
        decode_tokens_per_s: float | None = None,
        duration_s: float | None = None,
        error: str | None = None,
        cost_usd: float | None = None,
        thinking: str = "",
        thinking_s: float | None = None,
        finish_reason: str | None = None,
    ) -> bool:
        """Write the final text, status and usage. False if the row no longer exists
        (the user deleted the conversation mid-answer: not an error worth raising)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, not {status!r}")
        now = time.time()
        with self._tx("save an answer") as c:
            row = c.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                return False
            c.execute(
                "UPDATE messages SET content = ?, status = ?, prompt_tokens = ?,"
                " completion_tokens = ?, ttft_s = ?, decode_tokens_per_s = ?, duration_s = ?,"
                " error = ?, cost_usd = ?, thinking = ?, thinking_s = ?, finish_reason = ? WHERE id = ?",
                (
                    content, status, prompt_tokens, completion_tokens, ttft_s,
                    decode_tokens_per_s, duration_s, error, cost_usd, thinking, thinking_s, finish_reason, message_id,
                ),
            )  # fmt: skip
            self._touch(c, row[0], now)
            return True

    def recover_interrupted(self) -> int:
        """Mark answers left 'streaming' by a dead process as failed; keep their text."""
        with self._tx("recover interrupted answers") as c:
            cur = c.execute(
                "UPDATE messages SET status = 'failed', error = ? WHERE status = 'streaming'",
                (INTERRUPTED_ERROR,),
            )
            return cur.rowcount

    # --- search

    def search(
        self, query: str, limit: int = 50, marks: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Full-text search over all messages, best matches first.

        Any user text is safe (see fts_query). `marks` wrap matched words in the snippet.
        """
        match = fts_query(query)
        if not match:
            return []
        with self._read("search the history") as c:
            rows = c.execute(
                "SELECT m.conversation_id, m.id,"
                " snippet(messages_fts, 0, ?, ?, '…', 12), c.title"
                " FROM messages_fts"
                " JOIN messages m ON m.id = messages_fts.rowid"
                " JOIN conversations c ON c.id = m.conversation_id"
                " WHERE messages_fts MATCH ? AND c.deleted_at IS NULL ORDER BY rank LIMIT ?",
                (marks[0], marks[1], match, limit),
            ).fetchall()
        return [SearchHit(*r) for r in rows]

    def cloud_spend(self, since: float = 0.0, conversation_id: int | None = None) -> float:
        """US dollars of priced answers created since `since` (trashed chats count: the money is spent)."""
        where, args = "cost_usd IS NOT NULL AND created_at >= ?", [since]
        if conversation_id is not None:
            where, args = where + " AND conversation_id = ?", [since, conversation_id]
        with self._read("add up cloud costs") as c:
            return float(c.execute(f"SELECT COALESCE(SUM(cost_usd), 0) FROM messages WHERE {where}", args).fetchone()[0])

    # --- diagnostics

    def journal_mode(self) -> str:
        with self._read("read the journal mode") as c:
            return str(c.execute("PRAGMA journal_mode").fetchone()[0]).lower()

    def synchronous(self) -> int:
        """0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA."""
        with self._read("read the sync mode") as c:
            return int(c.execute("PRAGMA synchronous").fetchone()[0])

    def integrity_check(self) -> str:
        """'ok', or SQLite's description of what is damaged. Reads the whole file."""
        with self._read("check the history") as c:
            rows = c.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(r[0]) for r in rows)

    # --- helpers

    @staticmethod
    def _touch(c: sqlite3.Connection, conversation_id: int, now: float) -> None:
        c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    @staticmethod
    def _require_conversation(c: sqlite3.Connection, conversation_id: int) -> None:
        row = c.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise _no_conversation(conversation_id)


def _runtime_error(path: Path, action: str, exc: sqlite3.Error) -> StorageError:
    text = str(exc).lower()
    if "full" in text:
        hint = "The disk is full. Free some space and try again."
    elif "locked" in text or "busy" in text:
        hint = (
            "Another program (perhaps a second copy of the app) is using the history."
            " Close it and try again."
        )
    elif "readonly" in text or "read-only" in text:
        return StorageError(
            f"The chat history {path} is read-only, so the app could not {action}.",
            f"Check the permissions of {path} and its folder (or move it to a folder you can write to).",
        )
    elif "malformed" in text or "not a database" in text or "corrupt" in text:
        hint = f"The history file is damaged. Quit the app and move {path} away to start a new one."
    else:
        hint = "Try again; if it keeps failing, restart the app."
    return StorageError(f"Could not {action} in the chat history {path}: {exc}.", hint)


def _no_conversation(conversation_id: int) -> StorageError:
    return StorageError(
        f"Conversation {conversation_id} does not exist.",
        "It may have been deleted in another window. Reload the conversation list.",
    )
