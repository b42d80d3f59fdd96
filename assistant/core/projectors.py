"""Vision projector files (`mmproj-*.gguf`) by name, and the one beside a model: no app
imports, so the engines' factory finds a model's projector as the library lists them
(library/projectors.py says what they are in listings)."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.core.gguf_meta import SHARD_RE

_PROJECTOR = re.compile(r"(^|[-_.])mmproj([-_.]|$)", re.IGNORECASE)
_QUANT_TAIL = re.compile(r"[-_.](i?q\d[\w]*|f16|f32|bf16|fp16|fp32)$", re.IGNORECASE)
_F16 = re.compile(r"(^|[-_.])(f16|fp16)([-_.]|$)", re.IGNORECASE)


def is_projector(filename: str) -> bool:
    return bool(_PROJECTOR.search(filename.replace("\\", "/").rsplit("/", 1)[-1]))


def _base(name: str) -> str:
    """A model or projector file's name without the shard suffix, .gguf, quant and 'mmproj'."""
    stem = SHARD_RE.sub("", name).removesuffix(".gguf").removesuffix(".GGUF")
    stem = _PROJECTOR.sub("-", stem).strip("-_.")
    while True:
        shorter = _QUANT_TAIL.sub("", stem)
        if shorter == stem:
            return stem.lower()
        stem = shorter


def _quant(name: str) -> str:
    stem = SHARD_RE.sub("", name.rsplit("/", 1)[-1]).removesuffix(".gguf").removesuffix(".GGUF")
    m = _QUANT_TAIL.search(stem)
    return m.group(1).upper().replace("FP", "F") if m else ""


def choose_projector(filenames: list[str], model_filename: str = "") -> str | None:
    """The projector to use with a model from a list of files: among those named for the
    model (all when none is), the one in the model's quant family (a BF16 model: the BF16
    projector), else the f16 one (llama.cpp's usual), else the first; None if none."""
    names = sorted(f for f in filenames if is_projector(f))
    if not names:
        return None
    model = _base(model_filename.rsplit("/", 1)[-1]) if model_filename else ""
    named = [n for n in names if model and _base(n.rsplit("/", 1)[-1]) and _base(n.rsplit("/", 1)[-1]) in model]
    pool = named or names
    family = _quant(model_filename) if model_filename else ""
    same = [n for n in pool if family and _quant(n) == family]
    return (same or [n for n in pool if _F16.search(n.rsplit("/", 1)[-1])] or pool)[0]


def projector_for(model_path: str | Path, catalog_projector: str | None = None) -> Path | None:
    """The projector file of a GGUF model, or None (a text-only model, or none downloaded).

    Looks in the model's folder: the catalog entry's projector when present there, else a
    projector whose name matches the model's; in a folder of one model (its shards count
    as one), any projector there (f16 first). A folder that holds several models and only
    projectors named for none of them gets none: a mismatched projector fails the load.
    """
    path = Path(model_path)
    if path.is_dir() or not path.name.lower().endswith(".gguf") or is_projector(path.name):
        return None
    folder = path.parent
    try:
        files = [p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(".gguf")]
    except OSError:
        return None
    projectors = [p.name for p in files if is_projector(p.name) and not p.name.startswith(".")]
    if not projectors:
        return None
    if catalog_projector and catalog_projector in projectors:
        return folder / catalog_projector
    model = _base(path.name)
    named = [n for n in projectors if _base(n) and _base(n) in model]
    if named:
        return folder / choose_projector(named, path.name)  # type: ignore[operator]
    models = {_base(p.name) for p in files if not is_projector(p.name)}
    if len(models) > 1:
        return None
    return folder / choose_projector(projectors, path.name)  # type: ignore[operator]
