"""Vision projectors (`mmproj-*.gguf`): the image encoder that a multimodal GGUF model
loads beside its weights. Not a model on its own: Hub listings and the installed models
leave them out, and say what they are, until the app takes images."""

from __future__ import annotations

from assistant.core.vision import is_projector

__all__ = ["is_projector", "projector_note"]


def projector_note(filenames: list[str]) -> str:
    """A sentence for a repo that holds projectors ("" when it holds none)."""
    names = [f.rsplit("/", 1)[-1] for f in filenames if is_projector(f)]
    if not names:
        return ""
    which = names[0] if len(names) == 1 else f"{names[0]} and {len(names) - 1} more"
    return (f"This repository also holds a vision projector ({which}): it lets the model read images, "
            "which this app does not do yet, so it is not offered as a model.")
