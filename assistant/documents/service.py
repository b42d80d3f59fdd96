"""The one object the window, the command line and the server hold: collections, indexing,
search, and the embedding model (loaded once, in its own process, when first needed).

`embed_texts` is the small API other parts use to embed a few texts (the router).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.core.units import format_bytes
from assistant.documents.errors import CollectionError, EmbeddingModelMissingError
from assistant.documents.index import Collection, DocumentIndex
from assistant.documents.indexer import Indexer, IndexProgress, IndexReport, model_id
from assistant.documents.parse_host import ParserHost
from assistant.documents.retrieve import Retrieval, Retriever
from assistant.engines.embedding_host import EmbeddingProxy
from assistant.errors import CatalogError
from assistant.library.catalog import DEFAULT_EMBEDDING_ID, default_embedding_model
from assistant.paths import Paths, get_paths

MODEL_KEY = "embedding_model"
RATE_KEY = "index_rate"  # the last measured indexing rate: chunks/s with a model of that many bytes
MIN_RATE_CHUNKS = 16  # fewer embedded chunks measure start-up more than speed


def documents_dir(paths: Paths) -> Path:
    return paths.data_dir / "documents"


def embedding_models_dir(paths: Paths) -> Path:
    """Embedding models live apart from chat models, so the chat's model list never shows them."""
    return documents_dir(paths) / "models"


def default_model_words() -> str:
    """" (bge-small-en-v1.5, about 35.0 MB)": the catalog's default embedding model, in words."""
    try:
        entry = default_embedding_model()
    except CatalogError:
        return ""
    if entry is None:
        return ""
    return f" ({entry.id}, about {format_bytes(entry.default_file().size_bytes)})"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    files: int
    indexed: int
    failed: int
    pending: int
    chunks: int
    never_cloud: bool
    roots: list[str]
    model: str | None


class Documents:
    def __init__(self, paths: Paths | None = None, *, embedder: EmbeddingProxy | None = None, n_threads: int = 0) -> None:
        self.paths = paths or get_paths()
        self.index = DocumentIndex(documents_dir(self.paths) / "index.sqlite3")
        self.retriever = Retriever(self.index)
        self._embedder = embedder
        self._own_embedder = embedder is None
        self._n_threads = n_threads
        self._lock = threading.RLock()

    # -- the embedding model -------------------------------------------------------------
    def embedding_model_path(self) -> Path:
        chosen = self.index.get_meta(MODEL_KEY)
        if chosen:
            p = Path(chosen)
            if not p.is_file():
                raise EmbeddingModelMissingError(
                    f"The embedding model {p.name} is missing ({p}).",
                    f"It was moved or deleted. Download the default{default_model_words()} in Documents, or choose "
                    "one with `assistant docs model PATH`; your collections are kept and are embedded again.")
            return p
        folder = embedding_models_dir(self.paths)
        found = sorted(folder.rglob("*.gguf")) if folder.is_dir() else []
        found = [f for f in found if not any(part.startswith(".") for part in f.relative_to(folder).parts)]
        if not found:
            raise EmbeddingModelMissingError(
                "No embedding model is installed: documents need one to be searched by meaning.",
                f"Download the default{default_model_words()} in Documents (or `assistant models pull "
                f"{DEFAULT_EMBEDDING_ID}`), or choose a GGUF embedding model with `assistant docs model PATH`.")
        return found[0]

    def set_embedding_model(self, path: Path) -> None:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise EmbeddingModelMissingError(f"{path} is not a file.", "Give the path of a GGUF embedding model.")
        with self._lock:
            self.index.set_meta(MODEL_KEY, str(path))
            if self._embedder is not None and self._embedder.path != path:
                self._embedder.unload()

    def model_id(self) -> str:
        return model_id(self.embedding_model_path())

    def embedder(self) -> EmbeddingProxy:
        with self._lock:
            path = self.embedding_model_path()
            if self._embedder is None:
                self._embedder = EmbeddingProxy()
            if self._embedder.path != path or self._embedder.pid is None:
                self._embedder.load(path, n_threads=self._n_threads)
            return self._embedder

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder().embed(texts)

    # -- collections -----------------------------------------------------------------
    def add(self, name: str, paths: list[Path], *, never_cloud: bool | None = None, chat: int | None = None) -> Collection:
        name = name.strip()
        if not name:
            raise CollectionError("A collection needs a name.", "Give it a short name, such as “contracts”.")
        missing = [str(p) for p in paths if not Path(p).exists()]
        if missing:
            raise CollectionError(f"Not found: {', '.join(missing)}.", "Check the paths and try again.")
        col = self.index.ensure_collection(name, chat=chat)
        for p in paths:
            self.index.add_root(col.id, str(Path(p).expanduser().resolve()))
        if never_cloud is not None:
            self.index.set_never_cloud(col.id, never_cloud)
        return self.index.collection(name)

    def detach(self, name: str, path: Path) -> None:
        """Take a file (or folder) off a collection; the file itself is not touched."""
        self.index.remove_root(self.index.collection(name).id, str(Path(path).expanduser().resolve()))

    def collection(self, name: str) -> Collection:
        return self.index.collection(name)

    def remove(self, name: str) -> None:
        self.index.remove_collection(self.index.collection(name).id)

    def set_never_cloud(self, name: str, never: bool) -> None:
        self.index.set_never_cloud(self.index.collection(name).id, never)

    def info(self, col: Collection) -> CollectionInfo:
        files = self.index.files(col.id)
        count = {s: sum(1 for f in files if f.status == s) for s in ("indexed", "failed", "pending")}
        return CollectionInfo(col.name, len(files), count["indexed"], count["failed"], count["pending"],
                              self.index.chunk_count([col.id]), col.never_cloud, self.index.roots(col.id), col.model)

    def infos(self) -> list[CollectionInfo]:
        return [self.info(c) for c in self.index.collections()]

    # -- indexing and search -----------------------------------------------------------
    def sync(self, name: str, *, cancel: threading.Event | None = None,
             progress: Callable[[IndexProgress], None] | None = None) -> IndexReport:
        col = self.index.collection(name)
        embedder = self.embedder()
        path = embedder.path or self.embedding_model_path()
        with ParserHost() as parser:
            report = Indexer(self.index, parser, embedder, model_id(path)).sync(col, cancel=cancel, progress=progress)
        self._note_rate(report, path)
        return report

    def _note_rate(self, report: IndexReport, path: Path) -> None:
        """Keep the rate of a run that embedded enough chunks (estimates of a model change use it)."""
        if report.chunks_embedded < MIN_RATE_CHUNKS or report.seconds <= 0:
            return
        try:
            size = path.stat().st_size
        except OSError:
            return
        self.index.set_meta(RATE_KEY, json.dumps({"chunks_per_s": report.chunks_embedded / report.seconds, "bytes": size}))

    def search(self, question: str, names: list[str], *, top_k: int = 5, mode: str = "hybrid") -> Retrieval:
        cols = [self.index.collection(n) for n in names]
        needs_vectors = mode != "keyword"
        model = self.model_id() if needs_vectors else None
        return self.retriever.search(question, [c.id for c in cols], model=model,
                                     embed=self.embed if needs_vectors else None, top_k=top_k, mode=mode)

    def close(self) -> None:
        if self._embedder is not None and self._own_embedder:
            self._embedder.unload()
        self.index.close()

    def __enter__(self) -> "Documents":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def embed_texts(texts: list[str], paths: Paths | None = None) -> np.ndarray:
    """Unit vectors for a few texts with the documents' embedding model (started, used and
    ended here: callers that embed often keep a `Documents` and call `embed`)."""
    with Documents(paths) as docs:
        return docs.embed(texts)
