"""Which models can see images: the one place that decides (the API server, the chat and
the engine factory, which loads the projector with the model, ask here; in core so that
the engines may).

A GGUF model sees through a projector (`mmproj-*.gguf`: `is_projector`, which the
library's listings use too) in its own folder, as the catalog and Hub downloads put it
beside the weights (core/projectors.py picks among several); an MLX model when its
config.json has a vision part (mlx-vlm's models)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.core.projectors import is_projector
from assistant.core.projectors import projector_for as projector_beside
from assistant.core.types import ModelRef

__all__ = ["has_vision", "is_projector", "projector_for", "vision_models"]

def projector_for(model: ModelRef) -> Path | None:
    """The projector file a GGUF model loads for images (core/projectors.py chooses it
    among the files beside the weights); an MLX vision model: its folder; None: text only."""
    if model.format == "mlx":
        try:
            config = json.loads((model.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return model.path if isinstance(config, dict) and "vision_config" in config else None
    if model.format != "gguf":
        return None
    return projector_beside(model.path)


def has_vision(model: ModelRef) -> bool:
    return projector_for(model) is not None


def vision_models(models: list[ModelRef]) -> list[ModelRef]:
    """Of `models` (installed_models(...), say), those that see: what the chat offers when an
    image is attached to a model that cannot."""
    return [m for m in models if has_vision(m)]
