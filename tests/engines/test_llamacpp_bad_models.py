"""Bad model files give a clear, typed error naming the file and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gguf_edit import sparse_huge_copy, truncated_copy, with_string_metadata

from assistant.core.types import LoadOptions, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.errors import (
    ModelFormatError,
    ModelNotFoundError,
    ModelTooLargeError,
    UnsupportedArchitectureError,
)

OPTS = LoadOptions(n_ctx=512, n_threads=2)


def load(path: Path) -> LlamaCppEngine:
    e = LlamaCppEngine()
    e.load(ModelRef(path, "gguf"), OPTS)
    return e


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not found") as err:
        load(tmp_path / "nope.gguf")
    assert str(tmp_path / "nope.gguf") in str(err.value)


def test_not_a_gguf(tmp_path: Path) -> None:
    p = tmp_path / "notes.gguf"
    p.write_text("just some text, not a model")
    with pytest.raises(ModelFormatError, match="not a GGUF model file") as err:
        load(p)
    assert str(p) in str(err.value)


def test_html_page_saved_as_model(tmp_path: Path) -> None:
    p = tmp_path / "model.gguf"
    p.write_text("<!DOCTYPE html><html><body>Rate limited</body></html>")
    with pytest.raises(ModelFormatError, match="web page"):
        load(p)


def test_truncated_gguf(gemma_path: Path, tmp_path: Path) -> None:
    p = truncated_copy(gemma_path, tmp_path / "cut.gguf", 100_000_000)
    with pytest.raises(ModelFormatError, match="incomplete") as err:
        load(p)
    assert "download it again" in str(err.value).lower()


def test_header_cut_short(gemma_path: Path, tmp_path: Path) -> None:
    p = truncated_copy(gemma_path, tmp_path / "head.gguf", 50_000)
    with pytest.raises(ModelFormatError, match="damaged or incomplete"):
        load(p)


def test_unknown_architecture_is_named(gemma_path: Path, tmp_path: Path) -> None:
    p = with_string_metadata(gemma_path, tmp_path / "future.gguf", {"general.architecture": "fancynet9"})
    with pytest.raises(UnsupportedArchitectureError) as err:
        load(p)
    msg = str(err.value)
    assert "fancynet9" in msg and "Update llama-cpp-python" in msg
    assert err.value.architecture == "fancynet9"


def test_model_larger_than_free_memory(gemma_path: Path, tmp_path: Path) -> None:
    # a sparse file: 4 TB declared, almost nothing on disk
    p = sparse_huge_copy(gemma_path, tmp_path / "huge.gguf", 4 * 1024**4)
    with pytest.raises(ModelTooLargeError) as err:
        load(p)
    msg = str(err.value)
    assert "huge.gguf" in msg and "GB" in msg and "smaller" in msg
