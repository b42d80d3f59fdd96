"""Semantic features for the router: what the instruction means, not only how it looks.

The instruction (router_material.py separates it from pasted material) is embedded by
the documents' embedding model, and a small linear head fitted offline
(tools/fit_router.py) turns the vector into one feature, `semantic`: the logit of
"hard for a 1B model" from the meaning alone. The structural model then weighs it
beside its readable features. The head is a few KB of numbers in
assistant/resources/router_semantic.json, computed here with numpy.

A head only fits the embedding model it was fitted with: each head keeps the vector of
a probe sentence, and a loaded model whose own vector for that sentence differs is not
used (the router falls back to its structural model alone, which has its own weights
and threshold). No embedding model on the machine: the same fallback.

Threads: the model runs in a child process of its own (engines/embedding_host.py),
loaded and called from one worker thread here, never from the caller's. A caller on
the GUI thread waits at most `wait_s` for the vector (a few ms once loaded) and
otherwise decides without it; loading the model never happens on the caller's thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.chat.router_material import split

__all__ = [
    "PROBE",
    "SEMANTIC_PATH",
    "Head",
    "InstructionEmbedder",
    "Meaning",
    "active",
    "heads",
    "instruction_text",
    "match_head",
    "semantic_feature",
    "shared",
]

log = logging.getLogger(__name__)

SEMANTIC_PATH = Path(__file__).resolve().parents[1] / "resources" / "router_semantic.json"
# The sentence whose vector tells one embedding model from another.
PROBE = "Fix the typo in this sentence, then prove that the sum of two odd numbers is even."
PROBE_MATCH = 0.98  # cosine between the stored and the loaded model's probe vectors
MAX_CHARS = 1_500  # the instruction embedded: its start (a longer one is long anyway)
# ...and of that its first tokens: the embedding's time grows with them (~0.2 ms each on 2
# cores), and a WordPiece vocabulary spends a token per letter on Arabic or Cyrillic text
# and per sign on a formula, so a cap in characters would not bound it (p99 under 20 ms)
MAX_TOKENS = 32
CACHE_SIZE = 64
RETRY_S = 60.0  # no model, or none that fits: look again after this long


@dataclass(frozen=True)
class Head:
    model: str  # the embedding model it was fitted with, in words
    probe: np.ndarray  # unit vector of PROBE from that model
    weights: dict[str, np.ndarray]  # anchor size ("1B", "8B") -> (dim,)
    biases: dict[str, float]

    def logit(self, vector: np.ndarray, anchor: str) -> float:
        return float(self.weights[anchor] @ vector + self.biases[anchor])


@dataclass(frozen=True)
class Meaning:
    """An instruction's vector and the head that reads it."""

    head: Head
    vector: np.ndarray

    def feature(self, anchor: str) -> float:
        return semantic_feature(self.head.logit(self.vector, anchor))


@lru_cache(maxsize=2)
def heads(path: Path = SEMANTIC_PATH) -> tuple[Head, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    out = []
    for h in data.get("heads", []):
        sizes = h["sizes"]
        out.append(Head(str(h["model"]), np.asarray(h["probe"], dtype=np.float32),
                        {a: np.asarray(v["weights"], dtype=np.float32) for a, v in sizes.items()},
                        {a: float(v["bias"]) for a, v in sizes.items()}))
    return tuple(out)


def match_head(probe_vector: np.ndarray, path: Path = SEMANTIC_PATH) -> Head | None:
    """The head fitted with the model that gave `probe_vector` for PROBE, if any."""
    for h in heads(path):
        if h.probe.shape == probe_vector.shape and float(h.probe @ probe_vector) >= PROBE_MATCH:
            return h
    return None


def instruction_text(prompt: str) -> str:
    """What is embedded: the request without its pasted material, at most MAX_CHARS (and
    of that, the engine embeds the first MAX_TOKENS tokens)."""
    return split(prompt).instruction[:MAX_CHARS] or prompt[:MAX_CHARS]


def semantic_feature(logit: float) -> float:
    """The head's logit as a bounded feature (a wild vector cannot swamp the rest)."""
    return max(-4.0, min(4.0, logit)) / 2


class Embedder(Protocol):
    def load(self, path: Path, *, n_threads: int = 0) -> None: ...
    def embed(self, texts: list[str], *, max_tokens: int | None = None) -> np.ndarray: ...
    def unload(self) -> None: ...


def _default_model_path() -> Path | None:
    """The documents' embedding model, when one is installed (nothing is downloaded, and
    nothing is created: without a documents index, the models folder is only looked in)."""
    from assistant.documents.service import Documents, documents_dir, embedding_models_dir
    from assistant.errors import AssistantError
    from assistant.paths import get_paths

    paths = get_paths()
    try:
        if (documents_dir(paths) / "index.sqlite3").is_file():
            with Documents(paths) as docs:
                return docs.embedding_model_path()
        folder = embedding_models_dir(paths)
        found = sorted(folder.rglob("*.gguf")) if folder.is_dir() else []
        return next((f for f in found if not any(p.startswith(".") for p in f.relative_to(folder).parts)), None)
    except (AssistantError, OSError):
        return None


def _default_engine() -> Embedder:
    from assistant.engines.embedding_host import EmbeddingProxy

    return EmbeddingProxy(niceness=0)  # a decision waits for it: not niced like indexing


class InstructionEmbedder:
    """The instruction's vector and the head that fits the model, off the caller's thread.

    `locate` gives the embedding model's path (None: none installed); `engine` makes the
    engine (the documents' llama.cpp child process by default). One worker thread loads
    the model on first use, checks the probe, and embeds; results are kept for the last
    few texts, so asking again for a text whose vector came late costs nothing.
    """

    def __init__(self, locate: Callable[[], Path | None] = _default_model_path,
                 engine: Callable[[], Embedder] = _default_engine, *, path: Path = SEMANTIC_PATH) -> None:
        self._locate, self._make, self._path = locate, engine, path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="router-embed")
        self._lock = threading.Lock()
        self._engine: Embedder | None = None
        self._head: Head | None = None
        self._state = "new"  # new -> loading -> ready | unavailable (-> loading again, later)
        self._unavailable_at = 0.0
        self._cache: OrderedDict[str, Future[np.ndarray | None]] = OrderedDict()
        self._closed = False

    @property
    def state(self) -> str:
        return self._state

    def warm(self) -> None:
        """Start loading the model in the background (returns at once). After "unavailable",
        looks again at most once every RETRY_S: a model installed meanwhile is found."""
        with self._lock:
            retry = self._state == "unavailable" and time.monotonic() - self._unavailable_at >= RETRY_S
            if (self._state == "new" or retry) and not self._closed:
                self._state = "loading"
                self._pool.submit(self._load)

    def _unavailable(self) -> None:
        self._unavailable_at = time.monotonic()
        self._state = "unavailable"

    def _load(self) -> None:
        try:
            path = self._locate()
            if path is None:
                self._unavailable()
                return
            engine = self._make()
            engine.load(path, n_threads=os.cpu_count() or 1)  # a decision waits for it: every core
            head = match_head(engine.embed([PROBE])[0], self._path)
            if head is None:
                log.info("router: no semantic head fits the embedding model %s; structural model only", path.name)
                engine.unload()
                self._unavailable()
                return
            self._engine, self._head, self._state = engine, head, "ready"
        except Exception as exc:  # any failure: the structural model decides
            log.warning("router: embedding model unavailable (%s); structural model only", exc)
            self._unavailable()

    def _embed(self, text: str) -> np.ndarray | None:
        if self._state != "ready" or self._engine is None:
            return None
        try:
            return np.asarray(self._engine.embed([text], max_tokens=MAX_TOKENS)[0], dtype=np.float32)
        except Exception as exc:
            log.warning("router: embedding failed (%s); structural model only", exc)
            return None

    def meaning(self, prompt: str, wait_s: float) -> Meaning | None:
        """The instruction's vector with its head, or None when it is not there within
        `wait_s` seconds (no model, no fitting head, still loading, or slow)."""
        self.warm()
        if self._state == "unavailable":
            return None
        text = instruction_text(prompt)
        with self._lock:
            fut = self._cache.get(text)
            if fut is None:
                fut = self._pool.submit(self._embed, text)  # queued behind the load, if any
                self._cache[text] = fut
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(text)
        try:
            vector = fut.result(timeout=max(0.0, wait_s))
        except FutureTimeout:
            return None
        if vector is None:
            with self._lock:
                self._cache.pop(text, None)  # not cached: the model may be ready next time
            return None
        head = self._head
        return Meaning(head, vector) if head is not None else None

    def forget(self) -> None:
        """Drop the kept vectors (benchmarks time fresh ones)."""
        with self._lock:
            self._cache.clear()

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._engine is not None:
            self._engine.unload()
            self._engine = None
        self._state = "unavailable"


_shared: InstructionEmbedder | None = None
_shared_lock = threading.Lock()


def active() -> bool:
    """Whether routing in this process uses the meaning (its embedder is loaded and fits)."""
    return _shared is not None and _shared.state == "ready"


def shared() -> InstructionEmbedder:
    """The process's embedder for routing (the documents' model, its own engine process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = InstructionEmbedder()
        return _shared
