"""The real embedding model (all-MiniLM-L6-v2 written to GGUF at test time, cached) and a
folder of real documents."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from support.minilm_gguf import gguf_path

    return gguf_path()


@pytest.fixture
def docs_folder(tmp_path: Path) -> Path:
    from support.documents import make_folder

    return make_folder(tmp_path / "docs")
