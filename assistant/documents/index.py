"""The documents' index in SQLite: collections, their files and chunks, keywords (FTS5) and
the vectors cached by content hash.

WAL with synchronous=NORMAL (an index can be rebuilt from the files; a crash loses at most
the last file, which is indexed again): each file is written in one transaction, so a
process killed mid-index leaves every file either whole or not there, and the next run
resumes with the files still pending. Vectors are keyed by (model, content hash), so a
chunk whose text did not change is never embedded again, and changing the model leaves
the old vectors to be dropped (`forget_other_models`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.documents.errors import CollectionNotFoundError
from assistant.documents.types import ChunkText, Passage
from assistant.errors import DiskFullError, StorageError

SCHEMA = 1
_STATEMENTS = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE collections (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
        never_cloud INTEGER NOT NULL DEFAULT 0, model TEXT NULL, chat INTEGER NULL)""",
    """CREATE TABLE roots (
        id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL, UNIQUE (collection_id, path))""",
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        path TEXT NOT NULL, kind TEXT NULL, size INTEGER NOT NULL DEFAULT 0, mtime REAL NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'indexed', 'failed')),
        note TEXT NOT NULL DEFAULT '', pages INTEGER NOT NULL DEFAULT 0, scanned TEXT NOT NULL DEFAULT '[]',
        title TEXT NOT NULL DEFAULT '', indexed_at REAL NULL, UNIQUE (collection_id, path))""",
    "CREATE INDEX files_status ON files(collection_id, status)",
    """CREATE TABLE chunks (
        id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL, text TEXT NOT NULL, page INTEGER NULL, line_start INTEGER NULL,
        line_end INTEGER NULL, hash TEXT NOT NULL)""",
    "CREATE INDEX chunks_file ON chunks(file_id, ord)",
    "CREATE INDEX chunks_hash ON chunks(hash)",
    """CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text); END",
    """CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
        INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END""",
    "CREATE TABLE vectors (model TEXT NOT NULL, hash TEXT NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID",
    # (an answer's sources live in the chat history, with their message: chat/schema.py)
]


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    never_cloud: bool
    model: str | None
    chat: int | None  # the conversation a chat's attached files belong to (None: a named collection)


@dataclass(frozen=True)
class FileRow:
    id: int
    collection_id: int
    path: str
    kind: str | None
    size: int
    mtime: float
    status: str
    note: str
    pages: int
    scanned: list[int]


def _storage_error(path: Path, exc: sqlite3.Error) -> StorageError | DiskFullError:
    text = str(exc).lower()
    if "full" in text:
        return DiskFullError(f"The disk is full: the document index ({path}) cannot grow.",
                             "Free some space, then index again: it resumes where it stopped.")
    return StorageError(f"The document index ({path}) could not be written ({exc}).",
                        "Check that the data folder is writable and the disk is not full; then index again.")


class DocumentIndex:
    """One SQLite file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            if self._conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA:
                with self._tx():
                    for sql in _STATEMENTS:
                        self._conn.execute(sql)
                    self._conn.execute(f"PRAGMA user_version={SCHEMA}")
        except sqlite3.Error as exc:
            raise _storage_error(self.path, exc) from exc
        except OSError as exc:
            raise StorageError(f"The document index cannot be created in {self.path.parent} ({exc.strerror}).",
                               "Check that the data folder is writable.") from exc
        self._lock = threading.RLock()
        self.generation = 0  # bumped by every change of chunks or vectors (vector search caches by it)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            if self._conn.in_transaction:  # SQLite ends it itself on some errors (a full disk)
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with self._tx() as conn:
                    yield conn
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from exc
            self.generation += 1

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str | None) -> None:
        with self.write() as c:
            if value is None:
                c.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                c.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          (key, value))

    # -- collections -----------------------------------------------------------------
    def collections(self, *, include_chats: bool = False) -> list[Collection]:
        sql = "SELECT id, name, never_cloud, model, chat FROM collections"
        rows = self.query(sql + ("" if include_chats else " WHERE chat IS NULL") + " ORDER BY name COLLATE NOCASE")
        return [Collection(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def collection(self, name: str) -> Collection:
        rows = self.query("SELECT id, name, never_cloud, model, chat FROM collections WHERE name = ?", (name,))
        if not rows:
            names = ", ".join(c.name for c in self.collections()) or "none yet"
            raise CollectionNotFoundError(f"There is no document collection named “{name}”.",
                                  f"Collections: {names}. Make one with `assistant docs add NAME PATH`.")
        r = rows[0]
        return Collection(r[0], r[1], bool(r[2]), r[3], r[4])

    def ensure_collection(self, name: str, *, chat: int | None = None) -> Collection:
        with self.write() as c:
            c.execute("INSERT OR IGNORE INTO collections(name, created_at, chat) VALUES (?, ?, ?)", (name, time.time(), chat))
        return self.collection(name)

    def set_never_cloud(self, collection_id: int, never: bool) -> None:
        with self.write() as c:
            c.execute("UPDATE collections SET never_cloud = ? WHERE id = ?", (int(never), collection_id))

    def set_collection_model(self, collection_id: int, model: str) -> None:
        with self.write() as c:
            c.execute("UPDATE collections SET model = ? WHERE id = ?", (model, collection_id))

    def remove_collection(self, collection_id: int) -> None:
        with self.write() as c:
            c.execute("DELETE FROM collections WHERE id = ?", (collection_id,))

    def add_root(self, collection_id: int, path: str) -> None:
        with self.write() as c:
            c.execute("INSERT OR IGNORE INTO roots(collection_id, path) VALUES (?, ?)", (collection_id, path))

    def remove_root(self, collection_id: int, path: str) -> None:
        """A root and what was indexed under it (a file attached to a chat, taken off)."""
        with self.write() as c:
            c.execute("DELETE FROM roots WHERE collection_id = ? AND path = ?", (collection_id, path))
            c.execute("DELETE FROM files WHERE collection_id = ? AND (path = ? OR path LIKE ? ESCAPE '\\')",
                      (collection_id, path, path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"))

    def roots(self, collection_id: int) -> list[str]:
        return [r[0] for r in self.query("SELECT path FROM roots WHERE collection_id = ? ORDER BY id", (collection_id,))]

    # -- files -------------------------------------------------------------------------
    def files(self, collection_id: int) -> list[FileRow]:
        rows = self.query("SELECT id, collection_id, path, kind, size, mtime, status, note, pages, scanned FROM files "
                          "WHERE collection_id = ? ORDER BY path", (collection_id,))
        return [FileRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9])) for r in rows]

    def upsert_pending(self, collection_id: int, path: str, kind: str | None) -> None:
        with self.write() as c:
            c.execute("INSERT INTO files(collection_id, path, kind) VALUES (?, ?, ?) "
                      "ON CONFLICT(collection_id, path) DO UPDATE SET status = 'pending'", (collection_id, path, kind))

    def remove_file(self, file_id: int) -> None:
        with self.write() as c:
            c.execute("DELETE FROM files WHERE id = ?", (file_id,))

    def mark_failed(self, file_id: int, note: str, size: int, mtime: float) -> None:
        with self.write() as c:
            c.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            c.execute("UPDATE files SET status = 'failed', note = ?, size = ?, mtime = ?, indexed_at = ? WHERE id = ?",
                      (note, size, mtime, time.time(), file_id))

    def missing_hashes(self, model: str, hashes: list[str]) -> set[str]:
        """The content hashes that have no vector for this model yet."""
        have: set[str] = set()
        for i in range(0, len(hashes), 500):
            part = hashes[i:i + 500]
            marks = ",".join("?" * len(part))
            have.update(r[0] for r in self.query(f"SELECT hash FROM vectors WHERE model = ? AND hash IN ({marks})", (model, *part)))
        return set(hashes) - have

    def store_file(self, file_id: int, chunks: list[ChunkText], vectors: dict[str, np.ndarray], model: str, *,
                   size: int, mtime: float, kind: str, pages: int, scanned: list[int], title: str, note: str) -> None:
        """The file's chunks and the new vectors, in one transaction."""
        with self.write() as c:
            c.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
            c.executemany("INSERT INTO chunks(file_id, ord, text, page, line_start, line_end, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [(file_id, ch.ord, ch.text, ch.page, ch.line_start, ch.line_end, ch.hash) for ch in chunks])
            c.executemany("INSERT OR IGNORE INTO vectors(model, hash, vec) VALUES (?, ?, ?)",
                          [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in vectors.items()])
            c.execute("UPDATE files SET status = 'indexed', note = ?, size = ?, mtime = ?, kind = ?, pages = ?, "
                      "scanned = ?, title = ?, indexed_at = ? WHERE id = ?",
                      (note, size, mtime, kind, pages, json.dumps(scanned), title, time.time(), file_id))

    def forget_other_models(self, model: str) -> int:
        """Drop vectors of other models (after the embedding model changed); how many."""
        with self.write() as c:
            return c.execute("DELETE FROM vectors WHERE model != ?", (model,)).rowcount

    def mark_all_pending(self, collection_id: int) -> None:
        with self.write() as c:
            c.execute("UPDATE files SET status = 'pending' WHERE collection_id = ?", (collection_id,))

    # -- chunks ------------------------------------------------------------------------
    _PASSAGE = ("SELECT c.id, c.file_id, f.path, c.text, c.page, c.line_start, c.line_end, c.ord, coalesce(f.kind, '') "
                "FROM chunks c "
                "JOIN files f ON f.id = c.file_id")

    def passages(self, chunk_ids: list[int]) -> dict[int, Passage]:
        out: dict[int, Passage] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i:i + 500]
            marks = ",".join("?" * len(part))
            for r in self.query(f"{self._PASSAGE} WHERE c.id IN ({marks})", tuple(part)):
                out[r[0]] = Passage(*r)
        return out

    def neighbour(self, file_id: int, ord_: int) -> Passage | None:
        rows = self.query(f"{self._PASSAGE} WHERE c.file_id = ? AND c.ord = ?", (file_id, ord_))
        return Passage(*rows[0]) if rows else None

    def file_chunks(self, file_id: int) -> list[Passage]:
        return [Passage(*r) for r in self.query(f"{self._PASSAGE} WHERE c.file_id = ? ORDER BY c.ord", (file_id,))]

    def chunk_count(self, collection_ids: list[int]) -> int:
        marks = ",".join("?" * len(collection_ids)) or "NULL"
        return int(self.query(f"SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id "
                              f"WHERE f.collection_id IN ({marks})", tuple(collection_ids))[0][0])

    def chunks_without_vectors(self, collection_ids: list[int], model: str) -> int:
        """Distinct chunk texts of the collections that `model` has not embedded yet."""
        marks = ",".join("?" * len(collection_ids)) or "NULL"
        return int(self.query(f"SELECT count(DISTINCT c.hash) FROM chunks c JOIN files f ON f.id = c.file_id "
                              f"WHERE f.collection_id IN ({marks}) AND NOT EXISTS "
                              "(SELECT 1 FROM vectors v WHERE v.model = ? AND v.hash = c.hash)",
                              (*collection_ids, model))[0][0])

    def text_chars(self, collection_ids: list[int]) -> int:
        marks = ",".join("?" * len(collection_ids)) or "NULL"
        return int(self.query(f"SELECT coalesce(sum(length(c.text)), 0) FROM chunks c JOIN files f ON f.id = c.file_id "
                              f"WHERE f.collection_id IN ({marks})", tuple(collection_ids))[0][0])

    def keyword_search(self, match: str, collection_ids: list[int], limit: int) -> list[tuple[int, float]]:
        """The `limit` best chunks for an FTS5 query (bm25; lower is better) in the collections.

        Why not one query joined to chunks and files: the join runs for every chunk that
        matches (a common word matches a third of 100,000 chunks), and doubles the time. When
        the collections hold every file, nothing needs filtering; else the best `limit * 8`
        of the whole index are filtered, which is exact whenever `limit` of them are left
        (any better chunk of the collections would be among them); only when fewer are does
        the joined query run (bench/documents_speed.py)."""
        plain = "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?"
        marks = ",".join("?" * len(collection_ids)) or "NULL"
        try:
            if not self.query(f"SELECT 1 FROM collections c WHERE c.id NOT IN ({marks}) AND EXISTS "
                              f"(SELECT 1 FROM files f WHERE f.collection_id = c.id) LIMIT 1", tuple(collection_ids)):
                return [(int(r[0]), float(r[1])) for r in self.query(plain, (match, limit))]
            wide = self.query(plain, (match, limit * 8))
            ids = [int(r[0]) for r in wide]
            keep = {int(r[0]) for r in self.query(
                f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({','.join('?' * len(ids)) or 'NULL'}) "
                f"AND f.collection_id IN ({marks})", (*ids, *collection_ids))}
            found = [(int(r[0]), float(r[1])) for r in wide if int(r[0]) in keep][:limit]
            if len(found) == limit or len(wide) < limit * 8:
                return found
            sql = (f"SELECT chunks_fts.rowid, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
                   f"JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ? AND f.collection_id IN ({marks}) "
                   f"ORDER BY s LIMIT ?")
            return [(int(r[0]), float(r[1])) for r in self.query(sql, (match, *collection_ids, limit))]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse: no keyword hits
            return []

    def vectors_for(self, collection_ids: list[int], model: str) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, matrix of unit vectors) of the collections' chunks embedded by `model`."""
        marks = ",".join("?" * len(collection_ids)) or "NULL"
        rows = self.query(f"SELECT c.id, v.vec FROM chunks c JOIN files f ON f.id = c.file_id "
                          f"JOIN vectors v ON v.model = ? AND v.hash = c.hash WHERE f.collection_id IN ({marks})",
                          (model, *collection_ids))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, mat

