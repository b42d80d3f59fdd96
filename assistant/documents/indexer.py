"""Bring a collection's index in step with its files: new and changed files are read,
chunked and embedded; unchanged ones are skipped; files gone are dropped.

Blocking (run it off the GUI thread). Each file is stored in one transaction, and files
to do are marked pending first, so a run that is cancelled, killed or stopped by a full
disk resumes where it stopped. Only chunks whose content hash has no vector yet are
embedded, in batches across files. A file that changes while it is read is read again
once, then left pending with a note.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from assistant.documents.chunk import chunk_file
from assistant.documents.errors import DocumentError
from assistant.documents.formats import kind_of
from assistant.documents.index import Collection, DocumentIndex
from assistant.documents.parse_host import ParserHost
from assistant.documents.types import ChunkText, ParsedFile
from assistant.documents.walk import walk_roots
from assistant.errors import DiskFullError, StorageError

log = logging.getLogger(__name__)

# chunks gathered across files before one embedding call (the test of a killed run sets 1
# through ASSISTANT_TEST_EMBED_BATCH, so that files are stored one by one)
EMBED_BATCH = int(os.environ.get("ASSISTANT_TEST_EMBED_BATCH") or 64)


class Embedder(Protocol):
    def embed(self, texts: list[str], *, cancel: threading.Event | None = None,
              progress: Callable[[int], None] | None = None) -> np.ndarray: ...


@dataclass
class IndexProgress:
    files_done: int
    files_total: int
    current: str  # the file being read
    chunks_embedded: int


@dataclass
class IndexReport:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    scanned: list[tuple[str, list[int]]] = field(default_factory=list)  # PDFs with pages that were not read
    notes: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    cancelled: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{self.indexed} file{'s' if self.indexed != 1 else ''} indexed"]
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.removed:
            parts.append(f"{self.removed} removed")
        if self.failed:
            parts.append(f"{len(self.failed)} could not be read")
        text = ", ".join(parts) + "."
        if self.cancelled:
            text += " Stopped: the rest is indexed next time."
        return text


@dataclass
class _Pending:
    file_id: int
    path: Path
    size: int
    mtime: float
    parsed: ParsedFile
    chunks: list[ChunkText]
    note: str


def model_id(path: Path) -> str:
    """A name for the embedding model that changes when its file does."""
    try:
        return f"{path.name}#{path.stat().st_size}"
    except OSError:
        return path.name


class Indexer:
    def __init__(self, index: DocumentIndex, parser: ParserHost, embedder: Embedder, model: str) -> None:
        self.index = index
        self.parser = parser
        self.embedder = embedder
        self.model = model

    def sync(self, collection: Collection, *, cancel: threading.Event | None = None,
             progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
        cancel = cancel or threading.Event()
        t0 = time.monotonic()
        report = IndexReport()
        if collection.model and collection.model != self.model:
            report.notes.append(f"The embedding model changed ({collection.model.split('#')[0]} → "
                                f"{self.model.split('#')[0]}): every file is embedded again.")
            self.index.mark_all_pending(collection.id)
        walk = walk_roots(self.index.roots(collection.id))
        report.notes.extend(walk.notes)
        known = {f.path: f for f in self.index.files(collection.id)}
        wanted = {str(p) for p in walk.files}
        for path, gone in known.items():
            if path not in wanted:
                self.index.remove_file(gone.id)
                report.removed += 1
        todo: list[Path] = []
        for p in walk.files:
            row = known.get(str(p))
            try:
                st = p.stat()
            except OSError:
                st = None
            if row is not None and row.status != "pending" and st is not None and row.size == st.st_size \
                    and abs(row.mtime - st.st_mtime) < 1e-6:
                report.unchanged += 1
                continue
            self.index.upsert_pending(collection.id, str(p), kind_of(p))
            todo.append(p)
        self.index.set_collection_model(collection.id, self.model)
        ids = {f.path: f.id for f in self.index.files(collection.id)}
        batch: list[_Pending] = []
        done = 0
        for p in todo:
            if cancel.is_set():
                report.cancelled = True
                break
            if progress is not None:
                progress(IndexProgress(done, len(todo), p.name, report.chunks_embedded))
            item = self._read(ids[str(p)], p, report)
            if item is not None:
                batch.append(item)
            if sum(len(b.chunks) for b in batch) >= EMBED_BATCH:
                self._flush(batch, report, cancel)
                batch = []
            done += 1
        if batch and not cancel.is_set():
            self._flush(batch, report, cancel)
        report.cancelled = report.cancelled or cancel.is_set()
        if progress is not None:
            progress(IndexProgress(done, len(todo), "", report.chunks_embedded))
        report.seconds = time.monotonic() - t0
        log.info("indexed collection %s: %s (%.1f s)", collection.id, report.summary(), report.seconds)
        return report

    def _read(self, file_id: int, path: Path, report: IndexReport) -> _Pending | None:
        for attempt in range(2):
            try:
                before = os.stat(path)
                parsed = self.parser.parse(path)
                after = os.stat(path)
            except DocumentError as exc:
                self._fail(file_id, path, exc.message + (f" {exc.hint}" if exc.hint else ""), report)
                return None
            except OSError as exc:
                self._fail(file_id, path, f"{path.name} could not be read ({exc.strerror or exc}).", report)
                return None
            if (before.st_size, before.st_mtime) == (after.st_size, after.st_mtime):
                break
            log.info("a file changed while it was read; reading it again")
        else:
            report.notes.append(f"{path.name} kept changing while it was read; it is indexed next time.")
            return None
        note = ""
        if parsed.scanned_pages:
            pages = parsed.scanned_pages
            report.scanned.append((str(path), pages))
            listed = ", ".join(str(n) for n in pages[:10]) + ("…" if len(pages) > 10 else "")
            note = (f"{len(pages)} page{'s' if len(pages) != 1 else ''} ({listed}) {'are' if len(pages) != 1 else 'is'} "
                    "a scan with no text layer and was not read. Run OCR on the PDF (for example ocrmypdf) to include it.")
        chunks = chunk_file(parsed)
        if not chunks and not note:
            note = f"{path.name} has no text to index."
        return _Pending(file_id, path, after.st_size, after.st_mtime, parsed, chunks, note)

    def _fail(self, file_id: int, path: Path, why: str, report: IndexReport) -> None:
        log.info("a document could not be read: %s", why.split(" (")[0])
        try:
            st = path.stat()
            size, mtime = st.st_size, st.st_mtime
        except OSError:
            size, mtime = 0, 0.0
        self.index.mark_failed(file_id, why, size, mtime)
        report.failed.append((str(path), why))

    def _flush(self, batch: list[_Pending], report: IndexReport, cancel: threading.Event) -> None:
        hashes = list({c.hash: None for b in batch for c in b.chunks})
        missing = self.index.missing_hashes(self.model, hashes)
        texts = {c.hash: c.text for b in batch for c in b.chunks if c.hash in missing}
        order = list(texts)
        vectors: dict[str, np.ndarray] = {}
        if order:
            mat = self.embedder.embed([texts[h] for h in order], cancel=cancel)
            vectors = {h: mat[i] for i, h in enumerate(order[: len(mat)])}
        report.chunks_embedded += len(vectors)
        report.chunks_reused += len(hashes) - len(missing)
        for b in batch:
            if any(c.hash in missing and c.hash not in vectors for c in b.chunks):
                continue  # cancelled before its chunks were embedded: still pending
            mine = {c.hash: vectors[c.hash] for c in b.chunks if c.hash in vectors}
            try:
                self.index.store_file(b.file_id, b.chunks, mine, self.model, size=b.size, mtime=b.mtime,
                                      kind=b.parsed.kind, pages=b.parsed.pages, scanned=b.parsed.scanned_pages,
                                      title=b.parsed.title, note=b.note)
            except (StorageError, DiskFullError):
                report.cancelled = True
                raise
            report.indexed += 1
