"""Installed models on a real models folder: dot folders skipped, sizes, quant, delete."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assistant.errors import StorageError
from assistant.library import usage
from assistant.library.installed import delete_model, freed_bytes, installed_models, list_installed


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        dst.write_bytes(src.read_bytes())


def test_partials_and_dot_folders_are_not_models(tmp_path: Path, gemma_path: Path) -> None:
    models = tmp_path / "models"
    _link_or_copy(gemma_path, models / "org__repo" / "gemma.gguf")
    (models / ".downloads" / "x").mkdir(parents=True)
    (models / ".downloads" / "x" / "big.gguf").write_bytes(b"GGUF")
    (models / "org__repo" / "other.gguf.part").write_bytes(b"GGUF")
    (models / "org__repo" / "notes.part").write_bytes(b"x")
    refs = installed_models(models)
    assert [r.path.name for r in refs] == ["gemma.gguf"]


def test_describe_reads_quant_size_and_last_used(tmp_path: Path, gemma_path: Path) -> None:
    models = tmp_path / "models"
    _link_or_copy(gemma_path, models / "org__repo" / "gemma.gguf")
    usage_file = tmp_path / "model_usage.json"
    usage.record_used(usage_file, models / "org__repo" / "gemma.gguf")
    [m] = list_installed(models, usage=usage.load_usage(usage_file))
    assert m.format == "GGUF" and m.quant == "Q4_K_M"
    assert m.size_bytes == gemma_path.stat().st_size
    assert m.last_used is not None and usage.describe_last_used(m.last_used) == "Today"


def test_shards_count_and_delete_frees_the_whole_folder(tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = models / "org__split"
    folder.mkdir(parents=True)
    for i in (1, 2, 3):
        (folder / f"m-0000{i}-of-00003.gguf").write_bytes(b"GGUF" + bytes(1000 * i))
    (folder / ".assistant-model.json").write_text(json.dumps({"repo_id": "org/split"}))
    [m] = list_installed(models)
    assert len(m.files) == 3 and m.size_bytes == 4 * 3 + 6000
    assert freed_bytes(m) == m.size_bytes
    assert delete_model(m, models) == m.size_bytes
    assert not folder.exists() and models.exists()
    assert list_installed(models) == []


def test_delete_keeps_other_models_in_a_shared_folder(tmp_path: Path) -> None:
    models = tmp_path / "models"
    folder = models / "org__repo"
    folder.mkdir(parents=True)
    (folder / "a-Q4_K_M.gguf").write_bytes(b"GGUF" + bytes(10))
    (folder / "a-Q8_0.gguf").write_bytes(b"GGUF" + bytes(20))
    ms = {m.path.name: m for m in list_installed(models)}
    assert ms["a-Q8_0.gguf"].quant == "Q8_0"  # from the file name when the header is unreadable
    delete_model(ms["a-Q8_0.gguf"], models)
    assert [m.path.name for m in list_installed(models)] == ["a-Q4_K_M.gguf"]


def test_extra_files_outside_the_models_folder_are_never_deleted(tmp_path: Path, gemma_path: Path) -> None:
    [m] = list_installed(tmp_path / "models", extra=[str(gemma_path)])
    assert not m.in_models_dir
    with pytest.raises(StorageError):
        delete_model(m, tmp_path / "models")
    assert gemma_path.exists()


def test_mlx_folder_is_one_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    f = models / "mlx-community__tiny"
    f.mkdir(parents=True)
    (f / "config.json").write_text("{}")
    (f / "model.safetensors").write_bytes(bytes(500))
    [m] = list_installed(models)
    assert m.format == "MLX" and m.size_bytes == 502
    assert delete_model(m, models) == 502 and not f.exists()
