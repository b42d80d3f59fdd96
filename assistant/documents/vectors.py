"""Nearest chunks by cosine similarity: sqlite-vec inside SQLite where the Python build can
load SQLite extensions, else numpy over a matrix held in memory.

Vectors are stored once per (model, content hash) as float32 blobs, unit length. With
sqlite-vec, `vec_distance_cosine` scans them in SQLite (nothing held in the app's memory);
without it (Pythons built without `enable_load_extension`: some Linux and macOS builds,
this project's test machine among them) the collection's vectors are read once into a
matrix, cached until the index changes, and one matrix-vector product ranks them all
(100,000 chunks of 384 floats: 150 MB, a few milliseconds). `assistant doctor` says which.
"""

from __future__ import annotations

import sqlite3
import threading
from functools import lru_cache

import numpy as np

from assistant.documents.index import DocumentIndex


@lru_cache(maxsize=1)
def sqlite_vec_status() -> tuple[bool, str]:
    """(usable, why): whether this Python can load sqlite-vec into SQLite."""
    conn = sqlite3.connect(":memory:")
    try:
        if not hasattr(conn, "enable_load_extension"):
            return False, "this Python's sqlite3 cannot load SQLite extensions; vectors are searched with numpy"
        try:
            import sqlite_vec
        except ImportError:
            return False, "sqlite-vec is not installed; vectors are searched with numpy"
        try:
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            version = conn.execute("SELECT vec_version()").fetchone()[0]
        except sqlite3.Error as exc:
            return False, f"sqlite-vec did not load ({exc}); vectors are searched with numpy"
        return True, f"sqlite-vec {version}"
    finally:
        conn.close()


class VectorSearch:
    """Top-k chunk ids by cosine similarity for one index."""

    def __init__(self, index: DocumentIndex, *, use_sqlite_vec: bool | None = None) -> None:
        self.index = index
        self.use_sqlite_vec = sqlite_vec_status()[0] if use_sqlite_vec is None else use_sqlite_vec
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, tuple[int, ...], str], np.ndarray, np.ndarray] | None = None
        self._loaded = False

    @property
    def backend(self) -> str:
        return "sqlite-vec" if self.use_sqlite_vec else "numpy"

    def _load_extension(self) -> None:
        if self._loaded:
            return
        import sqlite_vec

        with self.index._lock:
            conn = self.index._conn
            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.enable_load_extension(False)
        self._loaded = True

    def search(self, query: np.ndarray, collection_ids: list[int], model: str, k: int) -> list[tuple[int, float]]:
        if not collection_ids:
            return []
        q = np.asarray(query, dtype=np.float32).ravel()
        if self.use_sqlite_vec:
            self._load_extension()
            marks = ",".join("?" * len(collection_ids))
            rows = self.index.query(
                f"SELECT c.id, 1.0 - vec_distance_cosine(v.vec, ?) AS s FROM chunks c JOIN files f ON f.id = c.file_id "
                f"JOIN vectors v ON v.model = ? AND v.hash = c.hash WHERE f.collection_id IN ({marks}) "
                f"ORDER BY s DESC LIMIT ?", (q.tobytes(), model, *collection_ids, k))
            return [(int(r[0]), float(r[1])) for r in rows]
        ids, mat = self._matrix(collection_ids, model)
        if len(ids) == 0 or mat.shape[1] != q.shape[0]:
            return []
        scores = mat @ q
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _matrix(self, collection_ids: list[int], model: str) -> tuple[np.ndarray, np.ndarray]:
        # data_version changes when another process (the command line) commits to the file
        version = self.index.generation * 1_000_003 + int(self.index.query("PRAGMA data_version")[0][0])
        key = (version, tuple(sorted(collection_ids)), model)
        with self._lock:
            if self._cache is None or self._cache[0] != key:
                ids, mat = self.index.vectors_for(list(key[1]), model)
                self._cache = (key, ids, np.ascontiguousarray(mat))
            return self._cache[1], self._cache[2]
