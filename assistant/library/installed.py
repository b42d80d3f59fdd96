"""Models on disk: find them in the models folder, describe them, resolve a path or a
name, and delete them.

Layout (docs: library_api): `models/<org>__<repo>/<file>.gguf` (shards side by side)
or an MLX folder `models/<org>__<repo>/` with config.json + *.safetensors, each with
an optional `.assistant-model.json` manifest. Dot folders (`models/.downloads` holds
partial downloads) and `*.part` files are never models.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from assistant.core.gguf_meta import SHARD_RE, read_gguf, shard_paths
from assistant.core.types import ModelRef
from assistant.errors import ModelError, ModelNotFoundError, StorageError
from assistant.library.hub import parse_quant
from assistant.library.manifest import read_manifest
from assistant.library.projectors import is_projector
from assistant.library.usage import last_used

log = logging.getLogger(__name__)

MLX_MARKER = "config.json"
MANIFEST_NAME = ".assistant-model.json"


def model_ref_for_path(path: Path) -> ModelRef:
    """GGUF file, or MLX folder (config.json + safetensors)."""
    path = path.expanduser()
    if path.is_dir() and not path.name.lower().endswith(".gguf"):  # a folder called x.gguf is no MLX model
        return ModelRef(path=path, format="mlx", name=path.name)
    return ModelRef(path=path, format="gguf", name=SHARD_RE.sub("", path.name).removesuffix(".gguf"))


def _hidden(path: Path, root: Path) -> bool:
    """Inside a dot folder (models/.downloads) or a dot/partial file."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    return any(p.startswith(".") for p in parts) or path.name.endswith(".part")


def installed_models(models_dir: Path) -> list[ModelRef]:
    """GGUF files (first shard only for split models) and MLX folders, by name."""
    found: list[ModelRef] = []
    if not models_dir.is_dir():
        return found
    for p in sorted(models_dir.rglob("*.gguf")):
        m = SHARD_RE.search(p.name)
        if m and int(m.group(1)) != 1:
            continue
        if _hidden(p, models_dir) or not p.is_file() or is_projector(p.name):
            continue  # a vision projector is part of a model, not one
        found.append(model_ref_for_path(p))
    for cfg in sorted(models_dir.rglob(MLX_MARKER)):
        if _hidden(cfg, models_dir):
            continue
        if any(cfg.parent.glob("*.safetensors")):
            found.append(model_ref_for_path(cfg.parent))
    return found


def resolve_model(spec: str, models_dir: Path) -> ModelRef:
    """`spec` is a path to a GGUF file or MLX folder, or the name of an installed model."""
    spec = spec.strip()
    path = Path(spec).expanduser()
    if path.exists():
        return model_ref_for_path(path.resolve())
    installed = installed_models(models_dir)
    wanted = spec.lower().removesuffix(".gguf")
    for ref in installed:
        if ref.name.lower() == wanted or ref.path.name.lower() == spec.lower():
            return ref
    looks_like_path = any(sep in spec for sep in ("/", "\\")) or spec.endswith(".gguf")
    if looks_like_path:
        raise ModelNotFoundError(f"Model file not found: {path}", "Check the path and try again.")
    names = ", ".join(r.name for r in installed) or "none yet"
    raise ModelNotFoundError(
        f"No installed model is called '{spec}'. Installed: {names}.",
        f"Pass a path to a .gguf file, or put models in {models_dir}.",
    )


# ------------------------------------------------------------------ describing


@dataclass(frozen=True)
class InstalledModel:
    ref: ModelRef
    files: tuple[Path, ...]  # every file that belongs to the model (shards, MLX folder contents)
    size_bytes: int
    format: str  # "GGUF" / "MLX"
    quant: str | None
    license: str | None  # a name for people ("Apache 2.0"), or the licence id
    repo_id: str | None
    catalog_id: str | None
    last_used: datetime | None
    in_models_dir: bool  # False: an extra model file elsewhere on disk (it is never deleted)

    @property
    def path(self) -> Path:
        return self.ref.path

    @property
    def name(self) -> str:
        return self.ref.display_name


def model_files(ref: ModelRef) -> list[Path]:
    """The files that make up a model: all shards of a split GGUF, or an MLX folder's files."""
    p = Path(ref.path)
    if ref.format == "mlx" or p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and not _hidden(f, p))
    return [s for s in shard_paths(p) if s.exists() or s.is_symlink()]


def _file_bytes(f: Path) -> int:
    try:
        return f.lstat().st_size if f.is_symlink() else f.stat().st_size
    except OSError:
        return 0


def _manifest(folder: Path) -> Any:
    """The download's manifest for the folder, or None (no manifest, or an unreadable one)."""
    if not (folder / MANIFEST_NAME).exists():
        return None
    try:
        return read_manifest(folder)
    except Exception as exc:  # a damaged manifest must not hide the model
        log.warning("manifest in %s unreadable: %s", folder, exc)
        return None


def quant_from_name(filename: str) -> str | None:
    return parse_quant(filename)


def _gguf_details(path: Path) -> tuple[str | None, str | None]:
    """(quantization, licence) from the GGUF header; (None, None) when unreadable."""
    try:
        info = read_gguf(path)
    except (ModelError, OSError):
        return None, None
    return info.quantization, info.license


def describe(ref: ModelRef, models_dir: Path, usage: dict[str, str] | None = None) -> InstalledModel:
    """Size on disk, format, quantization, licence, source repo and last use of one model.
    Reads the model's header: call it off the GUI thread."""
    files = model_files(ref)
    folder = ref.path if ref.format == "mlx" else ref.path.parent
    in_dir = _inside(ref.path, models_dir)
    man = _manifest(folder) if in_dir else None
    quant = getattr(man, "quant", None)
    # a folder may hold several quants of one repo: the file's own entry says which
    own = next((f for f in getattr(man, "files", ()) if getattr(f, "filename", None) == ref.path.name), None)
    if ref.format == "gguf" and man is not None:
        quant = getattr(own, "quant", None) if own is not None else None
    lic = getattr(man, "license_name", None) or getattr(man, "license", None)
    if ref.format == "gguf":
        if not quant or not lic:
            q, gguf_lic = _gguf_details(ref.path)
            quant = quant or q or quant_from_name(ref.path.name)
            lic = lic or gguf_lic
    elif not quant:
        quant = quant_from_name(ref.path.name)
    return InstalledModel(
        ref=ref,
        files=tuple(files),
        size_bytes=sum(_file_bytes(f) for f in files),
        format="MLX" if ref.format == "mlx" else "GGUF",
        quant=quant,
        license=lic,
        repo_id=getattr(man, "repo_id", None),
        catalog_id=getattr(man, "catalog_id", None),
        last_used=last_used(usage or {}, ref.path),
        in_models_dir=in_dir,
    )


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(path).absolute().relative_to(Path(root).absolute())
        return True
    except ValueError:
        return False


def list_installed(models_dir: Path, extra: Iterable[str] = (), usage: dict[str, str] | None = None) -> list[InstalledModel]:
    """Every model in the models folder plus the extra files the user added."""
    refs = installed_models(models_dir)
    seen = {str(r.path) for r in refs}
    for e in extra:
        p = Path(e)
        if p.exists() and str(p) not in seen:
            refs.append(model_ref_for_path(p))
            seen.add(str(p))
    return [describe(r, models_dir, usage) for r in refs]


# ------------------------------------------------------------------ deleting


def freed_bytes(model: InstalledModel) -> int:
    """What deleting frees: links (and files with other hard links) free nothing."""
    total = 0
    for f in model.files:
        try:
            st = f.lstat()
        except OSError:
            continue
        if not f.is_symlink() and st.st_nlink <= 1:
            total += st.st_size
    return total


def _model_files_left(folder: Path) -> bool:
    return any(folder.glob("*.gguf")) or any(folder.glob("*.safetensors"))


def delete_model(model: InstalledModel, models_dir: Path) -> int:
    """Delete a model's files from the models folder; returns the bytes freed.

    A model in its own `<org>__<repo>` folder goes with the whole folder (shards,
    manifest, tokenizer files); a model that shares a folder with others loses only
    its own files. Files outside the models folder are never touched.
    """
    if not model.in_models_dir:
        raise StorageError(
            f"{model.path} is outside the models folder, so it is not deleted.",
            "Remove it from the list instead; the file stays where it is.",
        )
    freed = freed_bytes(model)
    root = Path(models_dir).absolute()
    try:
        if model.ref.format == "mlx":
            folder = Path(model.path).absolute()
            if folder == root:
                raise StorageError("The models folder itself cannot be deleted.", "")
            shutil.rmtree(folder)
        else:
            for f in model.files:
                f.unlink(missing_ok=True)
            folder = Path(model.path).parent.absolute()
            if folder != root and not _model_files_left(folder):
                shutil.rmtree(folder, ignore_errors=True)
    except OSError as exc:
        raise StorageError(
            f"Could not delete {model.name}: {exc.strerror or exc}.",
            f"Check the permissions of {model.path}.",
        ) from exc
    log.info("deleted %s (%d bytes freed)", model.path, freed)
    return freed
