"""An embedding model on llama.cpp: texts in, one unit-length vector per text out.

It runs llama-cpp-python's own embedding path (`Llama.embed`: sequences packed into
batches of `n_batch` tokens, one `llama_decode` per batch, the model's pooling), the path
llama-server's `--embeddings` takes too. A text longer than the model's window is cut to it,
as llama-server does. A model without pooling (a chat model) is refused at load.

`engines/embedding_host.py` runs this in a child process of its own; tests and benchmarks
may use it in-process.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import EngineError, ModelError, ModelNotFoundError

log = logging.getLogger(__name__)

N_BATCH = 512  # tokens per decode; BERT-class models take 512 positions at most


class LlamaEmbedder:
    name = "llama.cpp"

    def __init__(self) -> None:
        self._llm: Any = None
        self.dim = 0
        self.max_tokens = 0
        self.model_name = ""
        self.path: Path | None = None

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self, path: Path, *, n_threads: int = 0, n_batch: int = N_BATCH) -> None:
        from assistant.core import ggml_backends
        from assistant.core.gguf_meta import read_gguf

        path = Path(path)
        if not path.is_file():
            raise ModelNotFoundError(f"The embedding model {path.name} is missing ({path}).",
                                     "Download it again in Documents (or `assistant models pull`), or choose another one.")
        meta = read_gguf(path)  # a damaged or truncated file is named before llama.cpp sees it
        import llama_cpp

        ggml_backends.ensure_loaded(llama_cpp)
        threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        train_ctx = int(meta.context_length or n_batch)
        batch = max(64, min(n_batch, train_ctx))
        try:
            llm = llama_cpp.Llama(model_path=str(path), embedding=True, n_ctx=batch, n_batch=batch, n_ubatch=batch,
                                  n_threads=threads, n_threads_batch=threads, verbose=False)
        except ValueError as exc:
            raise ModelError(f"llama.cpp could not load the embedding model {path.name} ({exc}).",
                             "The file may be damaged or of an architecture this llama.cpp does not know.") from None
        if llm.pooling_type() == llama_cpp.LLAMA_POOLING_TYPE_NONE:
            llm.close()
            raise ModelError(f"{path.name} is not an embedding model (it has no pooling).",
                             "Choose an embedding model, such as bge-small-en-v1.5 or all-MiniLM-L6-v2.")
        self._llm = llm
        self.dim = int(llm.n_embd())
        self.max_tokens = batch
        self.model_name = str(meta.name or path.stem)
        self.path = path

    def embed(self, texts: list[str], max_tokens: int | None = None) -> np.ndarray:
        """Unit vectors; with `max_tokens`, each text's first max_tokens tokens only."""
        if self._llm is None:
            raise EngineError("No embedding model is loaded.", "Load one first.")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if max_tokens is not None:
            texts = [self._head(t, max_tokens) for t in texts]
        # an empty text would be a sequence of [CLS][SEP] only: keep it defined
        vecs = self._llm.embed([t if t.strip() else " " for t in texts], normalize=False, truncate=True)
        out = np.asarray(vecs, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _head(self, text: str, n: int) -> str:
        """The text of its first n tokens (the text itself when it has no more)."""
        assert self._llm is not None
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False)
        if len(tokens) <= n:
            return text
        return self._llm.detokenize(tokens[:n]).decode("utf-8", errors="ignore")

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self._llm is None:
            raise EngineError("No embedding model is loaded.", "Load one first.")
        return [len(self._llm.tokenize(t.encode("utf-8"), add_bos=True)) for t in texts]

    def unload(self) -> None:
        if self._llm is not None:
            self._llm.close()
        self._llm = None
