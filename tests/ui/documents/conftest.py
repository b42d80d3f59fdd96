"""What the documents window tests share: the tests' embedding model and a local Hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from support.minilm_gguf import gguf_path

    return gguf_path()


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    with LocalHub() as h:
        yield h
