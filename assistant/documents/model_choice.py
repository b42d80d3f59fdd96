"""Choosing the embedding model: the catalog's embedding models with their language, size
and whether they are installed, and what changing the model costs.

A collection records the model that embedded it (`Collection.model`, a model id). After a
change its next index marks every file pending and embeds again each chunk that has no
vector for the new model yet (vectors are keyed by model and content hash, so going back to
a model used before reuses its vectors). `plan_model_change` counts those chunks and, when
this computer has indexed before, estimates the time from the rate measured then, scaled
by the models' file sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.core.units import format_bytes
from assistant.documents.indexer import model_id
from assistant.documents.service import RATE_KEY, Documents, embedding_models_dir
from assistant.errors import CatalogError, DownloadError
from assistant.library.catalog import CatalogEntry, embedding_models
from assistant.library.download_support import folder_name
from assistant.paths import Paths


@dataclass(frozen=True)
class EmbeddingChoice:
    entry: CatalogEntry
    language: str  # "English" / "multilingual"
    size_bytes: int  # the file the download fetches
    installed: Path | None  # where it is, when it is

    def label(self) -> str:
        """"BGE small English v1.5 — English, 36.7 MB, installed"."""
        state = "installed" if self.installed else "not installed"
        return f"{self.entry.name} — {self.language}, {format_bytes(self.size_bytes)}, {state}"


def language(entry: CatalogEntry) -> str:
    return "multilingual" if "languages" in entry.strengths else "English"


def installed_file(paths: Paths, entry: CatalogEntry) -> Path | None:
    """The entry's file in the documents' models folder (any of its quantizations), if there."""
    try:
        folder = embedding_models_dir(paths) / folder_name(entry.gguf_repo)
    except DownloadError:  # a malformed repo id: never installed by us
        return None
    for f in (entry.default_file(), *entry.files):
        p = folder / f.filenames[0]
        if p.is_file():
            return p.resolve()
    return None


def catalog_choices(paths: Paths) -> list[EmbeddingChoice]:
    """Every catalog embedding model, the default first; [] when the catalog cannot be read."""
    try:
        entries = embedding_models()
    except CatalogError:
        return []
    return [EmbeddingChoice(e, language(e), e.default_file().size_bytes, installed_file(paths, e)) for e in entries]


@dataclass(frozen=True)
class ModelChange:
    collections: list[str]  # embedded with another model: embedded again
    chunks: int  # chunks with no vector for the new model yet
    estimate_s: float | None  # None: this computer has not indexed yet

    @property
    def needed(self) -> bool:
        return bool(self.collections)

    def describe(self) -> str:
        if not self.collections:
            return "No collection is embedded yet: the new model is used from the next indexing."
        n = len(self.collections)
        what = f"“{self.collections[0]}”" if n == 1 else f"all {n} collections"
        text = f"Changing the model embeds {what} again: {self.chunks:,} passage{'s' if self.chunks != 1 else ''}"
        if self.chunks == 0:
            text += " (their vectors for this model are kept from before, so it is quick)"
        elif self.estimate_s is not None:
            minutes = self.estimate_s / 60
            when = f"about {minutes:.0f} minutes" if minutes >= 1.5 else \
                   "about a minute" if self.estimate_s >= 45 else "under a minute"
            text += f", {when} on this computer (judged from its last indexing)"
        text += ". Searches use keywords only until it is done; files attached to chats are embedded again when next used."
        return text


def plan_model_change(docs: Documents, new_path: Path) -> ModelChange:
    new_id = model_id(Path(new_path))
    cols = [c for c in docs.index.collections() if c.model and c.model != new_id]
    chunks = docs.index.chunks_without_vectors([c.id for c in cols], new_id) if cols else 0
    return ModelChange([c.name for c in cols], chunks, _estimate(docs, Path(new_path), chunks))


def _estimate(docs: Documents, new_path: Path, chunks: int) -> float | None:
    """Seconds to embed `chunks` with the model at `new_path`, from the last measured rate."""
    raw = docs.index.get_meta(RATE_KEY)
    if not raw or chunks <= 0:
        return None
    try:
        rate = json.loads(raw)
        per_s, old_bytes = float(rate["chunks_per_s"]), int(rate["bytes"])
        new_bytes = new_path.stat().st_size if new_path.is_file() else 0
    except (ValueError, KeyError, TypeError, OSError):
        return None
    if per_s <= 0 or old_bytes <= 0:
        return None
    scale = new_bytes / old_bytes if new_bytes > 0 else 1.0  # compute grows with the model's size
    return chunks / per_s * scale
