"""The real embedding model for the router's semantic path: all-MiniLM-L6-v2 written to
GGUF at test time (cached), loaded once per session in its own engine process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from support.minilm_gguf import gguf_path

    return gguf_path()


@pytest.fixture(scope="session")
def router_embedder(minilm_path: Path) -> Iterator[object]:
    from assistant.chat.router_semantic import InstructionEmbedder

    embedder = InstructionEmbedder(lambda: minilm_path)
    yield embedder
    embedder.close()
