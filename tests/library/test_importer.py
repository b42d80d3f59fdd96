"""Importing a local GGUF file (checked, then linked or copied into the models folder)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from assistant.errors import ModelFormatError, StorageError
from assistant.library import importer
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
    assert not (tmp_path / "models").exists()  # refused before anything was created


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


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        dst.write_bytes(src.read_bytes())


def _no_hard_links(monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(_src: object, _dst: object) -> None:  # the models folder on another disk
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(importer.os, "link", cross_device)


def test_another_disk_falls_back_to_a_copy(tmp_path: Path, gemma_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_hard_links(monkeypatch)
    seen: list[int] = []
    dst = import_model(gemma_path, tmp_path / "models", progress=seen.append)
    assert dst.stat().st_ino != gemma_path.stat().st_ino  # a copy, not a link
    assert dst.stat().st_size == gemma_path.stat().st_size == sum(seen) and len(seen) > 1  # progress per chunk
    assert not list(dst.parent.glob("*.part"))


def test_a_failed_copy_says_so_and_leaves_nothing(tmp_path: Path, gemma_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_hard_links(monkeypatch)

    def disk_full(_src: object, _dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importer.os, "replace", disk_full)
    models = tmp_path / "models"
    with pytest.raises(StorageError, match="No space left on device") as info:
        import_model(gemma_path, models)
    assert "free disk space" in info.value.hint
    assert [p for p in models.rglob("*") if p.is_file()] == []  # the partial copy is gone
    assert list_installed(models) == []


def test_a_split_gguf_with_missing_parts_names_them(tmp_path: Path, gemma_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    first = src / "big-model-Q4_K_M-00001-of-00003.gguf"
    _link_or_copy(gemma_path, first)
    (src / "big-model-Q4_K_M-00003-of-00003.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelFormatError, match="parts are missing: big-model-Q4_K_M-00002-of-00003.gguf") as info:
        import_model(first, tmp_path / "models")
    assert str(src) in info.value.hint
    assert not (tmp_path / "models").exists()


def test_a_failed_shard_rolls_back_the_ones_placed(tmp_path: Path, gemma_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "src"
    src.mkdir()
    first = src / "big-model-Q4_K_M-00001-of-00002.gguf"
    _link_or_copy(gemma_path, first)
    (src / "big-model-Q4_K_M-00002-of-00002.gguf").write_bytes(b"second part")
    real_place = importer._place

    def second_fails(part: Path, dst: Path, progress: object) -> None:
        if "00002" in part.name:
            raise StorageError("Could not copy the second part.", "Check the free disk space and try again.")
        real_place(part, dst, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_place", second_fails)
    models = tmp_path / "models"
    with pytest.raises(StorageError, match="second part"):
        import_model(first, models)
    assert [p for p in models.rglob("*") if p.is_file()] == []  # the first part was taken back out
    assert list_installed(models) == []


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "holiday photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ModelFormatError, match="is not a model folder") as info:
        import_model(folder, tmp_path / "models")
    assert "MLX model folder" in info.value.hint


def test_the_same_mlx_folder_twice_is_refused_and_the_first_kept(tmp_path: Path) -> None:
    src = tmp_path / "tiny-mlx"
    src.mkdir()
    (src / "config.json").write_text("{}")
    (src / "model.safetensors").write_bytes(bytes(64))
    models = tmp_path / "models"
    first = import_model(src, models)
    with pytest.raises(StorageError, match="already in the library"):
        import_model(src, models)
    assert (first / "model.safetensors").read_bytes() == bytes(64)
    assert not list(models.glob(".import-*"))  # no half-made folder left behind
    assert [m.path for m in list_installed(models)] == [first]
