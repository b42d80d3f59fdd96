"""Importing a local GGUF file (checked, then linked or copied into the models folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ModelFormatError, StorageError
from assistant.library.importer import import_model
from assistant.library.installed import list_installed


def test_import_a_gguf_file(tmp_path: Path, gemma_path: Path) -> None:
    models = tmp_path / "models"
    seen: list[int] = []
    dst = import_model(gemma_path, models, progress=seen.append)
    assert dst.parent.parent == models and dst.name == gemma_path.name
    assert dst.stat().st_size == gemma_path.stat().st_size and sum(seen) == dst.stat().st_size
    [m] = list_installed(models)
    assert m.path == dst and m.quant == "Q4_K_M"
    with pytest.raises(StorageError):
        import_model(gemma_path, models)


def test_a_non_gguf_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "page.gguf"
    bad.write_text("<!doctype html><html>not found</html>")
    with pytest.raises(ModelFormatError, match="web page"):
        import_model(bad, tmp_path / "models")
    assert not (tmp_path / "models").exists() or list_installed(tmp_path / "models") == []


def test_a_truncated_gguf_is_refused(tmp_path: Path, gemma_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with gemma_path.open("rb") as fh:
        cut.write_bytes(fh.read(2_000_000))
    with pytest.raises(ModelFormatError, match="incomplete"):
        import_model(cut, tmp_path / "models")


def test_import_an_mlx_folder(tmp_path: Path) -> None:
    src = tmp_path / "tiny-mlx"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(bytes(64))
    dst = import_model(src, tmp_path / "models")
    [m] = list_installed(tmp_path / "models")
    assert m.path == dst and m.format == "MLX"
