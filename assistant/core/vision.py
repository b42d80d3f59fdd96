"""Which models can see images: the one place that decides (the API server, the chat and
the engine factory, which loads the projector with the model, ask here; in core so that
the engines may).

A GGUF model sees through a projector (`mmproj-*.gguf`: `is_projector`, which the
library's listings use too) in its own folder, as the catalog and Hub downloads put it beside the weights; an MLX model
when its config.json has a vision part (mlx-vlm's models). A folder with several
projectors: the one whose name shares the longest start with the model's (a repo that
ships mmproj-F16 and mmproj-Q8_0 beside several quantisations: any of them fits)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.core.types import ModelRef

_PROJECTOR = re.compile(r"(^|[-_.])mmproj([-_.]|$)", re.IGNORECASE)


def is_projector(filename: str) -> bool:
    """A vision projector's file name (`mmproj-*.gguf` and the like), with or without its folder."""
    return bool(_PROJECTOR.search(filename.replace("\\", "/").rsplit("/", 1)[-1]))


def projector_for(model: ModelRef) -> Path | None:
    """The projector file a GGUF model loads for images (an MLX vision model: its folder); None: text only."""
    if model.format == "mlx":
        try:
            config = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return model.path if isinstance(config, dict) and "vision_config" in config else None
    if model.format != "gguf" or is_projector(model.path.name):
        return None
    try:
        found = sorted(p for p in model.path.parent.iterdir()
                       if p.suffix.lower() == ".gguf" and is_projector(p.name) and p.is_file())
    except OSError:
        return None
    if not found:
        return None
    stem = model.path.stem.lower()

    def shared(p: Path) -> int:
        name = p.stem.lower().replace("mmproj-", "").replace("mmproj_", "")
        n = 0
        while n < min(len(name), len(stem)) and name[n] == stem[n]:
            n += 1
        return n

    return max(found, key=shared)


def has_vision(model: ModelRef) -> bool:
    return projector_for(model) is not None


def vision_models(models: list[ModelRef]) -> list[ModelRef]:
    """Of `models` (installed_models(...), say), those that see: what the chat offers when an
    image is attached to a model that cannot."""
    return [m for m in models if has_vision(m)]
