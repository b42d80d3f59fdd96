"""The embedding engine process with the real all-MiniLM-L6-v2 (written to GGUF at test time):
its vectors are the model's own (a numpy BERT from the safetensors), a crash costs the
process only, and a chat model is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.engines.embedding_host import EmbeddingProxy
from assistant.errors import EngineCrashedError, ModelError, ModelNotFoundError

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]


@pytest.fixture(scope="module")
def minilm() -> Path:
    from support.minilm_gguf import gguf_path

    return gguf_path()


def test_vectors_are_the_models_own(minilm: Path) -> None:
    from support.minilm_gguf import reference_embeddings

    proxy = EmbeddingProxy()
    try:
        proxy.load(minilm, n_threads=1)
        assert (proxy.dim, proxy.max_tokens, proxy.model_name) == (384, 512, "all-MiniLM-L6-v2")
        got = proxy.embed(TEXTS)
        want = reference_embeddings(TEXTS)
        assert got.shape == (3, 384) and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
        assert np.min(np.sum(got * want, axis=1)) > 0.999  # llama.cpp's F16 run vs numpy in F32
        assert 0.7 < float(got[0] @ got[1]) < 0.8 and float(got[0] @ got[2]) < 0.1  # paraphrase vs unrelated
        assert proxy.count_tokens(["hello world"]) == [4]  # [CLS] hello world [SEP]
        # max_tokens: each text's first tokens only (the router's bound on its time)
        long = "The harbour master writes every ship into the log before the tide turns. " * 4
        head = proxy.embed([long, TEXTS[0]], max_tokens=8)
        want_head = reference_embeddings(["the harbour master writes every ship into the", TEXTS[0]])
        assert np.min(np.sum(head * want_head, axis=1)) > 0.999  # the first 8 tokens; a shorter text whole
        assert float(head[0] @ proxy.embed([long])[0]) < 0.99
    finally:
        proxy.unload()


def test_a_crash_costs_the_process_only(minilm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TEST_EMBED_CRASH", "1")
    proxy = EmbeddingProxy()
    try:
        proxy.load(minilm, n_threads=1)
        first = proxy.pid
        with pytest.raises(EngineCrashedError) as e:
            proxy.embed(TEXTS[:1])
        assert "signal 11" in str(e.value) and "documents and chats are safe" in str(e.value)
        monkeypatch.delenv("ASSISTANT_TEST_EMBED_CRASH")
        assert proxy.embed(TEXTS[:1]).shape == (1, 384)  # a new process
        assert proxy.pid != first
    finally:
        proxy.unload()


def test_missing_and_chat_models_are_refused(gemma_path: Path, tmp_path: Path) -> None:
    proxy = EmbeddingProxy()
    with pytest.raises(ModelNotFoundError, match="is missing"):
        proxy.load(tmp_path / "gone.gguf")
    with pytest.raises(ModelError, match="not an embedding model"):
        proxy.load(gemma_path)
    assert proxy.pid is None
