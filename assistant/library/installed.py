"""Models on disk: find them in the models folder, and resolve a path or a name."""

from __future__ import annotations

from pathlib import Path

from ..engines.base import ModelRef
from ..errors import ModelNotFoundError
from .gguf_meta import SHARD_RE

MLX_MARKER = "config.json"


def model_ref_for_path(path: Path) -> ModelRef:
    """GGUF file, or MLX folder (config.json + safetensors)."""
    path = path.expanduser()
    if path.is_dir():
        return ModelRef(path=path, format="mlx", name=path.name)
    return ModelRef(path=path, format="gguf", name=SHARD_RE.sub("", path.name).removesuffix(".gguf"))


def installed_models(models_dir: Path) -> list[ModelRef]:
    """GGUF files (first shard only for split models) and MLX folders, by name."""
    found: list[ModelRef] = []
    if not models_dir.is_dir():
        return found
    for p in sorted(models_dir.rglob("*.gguf")):
        m = SHARD_RE.search(p.name)
        if m and int(m.group(1)) != 1:
            continue
        if p.name.startswith(".") or p.name.endswith(".part"):
            continue
        found.append(model_ref_for_path(p))
    for cfg in sorted(models_dir.rglob(MLX_MARKER)):
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
