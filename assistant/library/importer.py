"""Import a model the user already has: a GGUF file (all its shards) or an MLX folder,
checked first, then hard-linked (same disk: no space used), else copied, into the
models folder under `models/local__<name>/`.

Copying can take minutes for a large file: call `import_model` off the GUI thread.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Callable

from assistant.core.gguf_meta import SHARD_RE, GgufInfo, check_architecture_known, read_gguf, shard_paths
from assistant.core.template_syntax import check_syntax
from assistant.errors import ModelFormatError, ModelNotFoundError, StorageError

log = logging.getLogger(__name__)

LOCAL_PREFIX = "local__"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "model"


def check_source(src: Path) -> str:
    """'gguf' or 'mlx', after checking the file's header or the folder's contents."""
    src = Path(src).expanduser()
    if not src.exists():
        raise ModelNotFoundError(f"{src} does not exist.", "Choose another file.")
    if src.is_dir() and not src.name.lower().endswith(".gguf"):  # a folder called x.gguf: read_gguf says what it is
        if (src / "config.json").is_file() and any(src.glob("*.safetensors")):
            return "mlx"
        raise ModelFormatError(
            f"{src.name} is not a model folder: an MLX model folder holds config.json and .safetensors files.",
            "Choose a .gguf file, or an MLX model folder.",
        )
    check_gguf(src)
    missing = [p.name for p in shard_paths(src) if not p.exists()]
    if missing:
        raise ModelFormatError(
            f"{src.name} is one part of a split model, and parts are missing: {', '.join(missing)}.",
            f"Put all parts in {src.parent} and try again.",
        )
    return "gguf"


def check_gguf(path: Path, template_override: str | None = None) -> GgufInfo:
    """What loading the file would refuse, refused now with the same message: the header
    (magic, values llama.cpp cannot take, tensor table, truncation), an architecture this
    llama.cpp does not know, and a chat template that is not valid Jinja."""
    info = read_gguf(path)
    check_architecture_known(info)
    template = template_override or info.chat_template
    if template:
        check_syntax(template)
    return info


def _place(src: Path, dst: Path, progress: Callable[[int], None] | None) -> None:
    """Hard link when the models folder is on the same disk; else copy."""
    try:
        os.link(src, dst)
        if progress:
            progress(dst.stat().st_size)
        return
    except OSError:
        pass
    tmp = dst.with_name(dst.name + ".part")
    try:
        with src.open("rb") as fi, tmp.open("wb") as fo:
            while chunk := fi.read(8 * 1024 * 1024):
                fo.write(chunk)
                if progress:
                    progress(len(chunk))
        os.replace(tmp, dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"Could not copy {src.name} into the models folder: {exc.strerror or exc}.",
            "Check the free disk space and try again.",
        ) from exc


def import_model(src: Path, models_dir: Path, progress: Callable[[int], None] | None = None) -> Path:
    """Check `src` and bring it into the models folder; returns the imported model's path
    (the first shard for a split GGUF, the folder for MLX)."""
    src = Path(src).expanduser().absolute()
    fmt = check_source(src)
    models_dir = Path(models_dir)
    if fmt == "mlx":
        folder = models_dir / f"{LOCAL_PREFIX}{_safe(src.name)}"
        if folder.exists():
            raise StorageError(f"A model called {src.name} is already in the library.", f"It is in {folder}.")
        tmp = models_dir / f".import-{_safe(src.name)}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            for f in sorted(src.rglob("*")):
                if f.is_file():
                    target = tmp / f.relative_to(src)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _place(f, target, progress)
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder
    stem = SHARD_RE.sub("", src.name).removesuffix(".gguf")
    folder = models_dir / f"{LOCAL_PREFIX}{_safe(stem)}"
    dst_first = folder / src.name
    if dst_first.exists():
        raise StorageError(f"{src.name} is already in the library.", f"It is in {folder}.")
    folder.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    try:
        for part in shard_paths(src):
            dst = folder / part.name
            _place(part, dst, progress)
            placed.append(dst)
    except BaseException:
        for p in placed:
            p.unlink(missing_ok=True)
        raise
    log.info("imported %s into %s", src, folder)
    return dst_first
