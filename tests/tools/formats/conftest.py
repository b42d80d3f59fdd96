"""The test model's vocab for the grammar checks (llama.cpp's grammar sampler needs one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.tool_calls import Vocab


@pytest.fixture(scope="session")
def vocab(gemma_path: Path) -> Iterator[Vocab]:
    v = Vocab(gemma_path)
    yield v
    v.close()
