"""Vision projectors (`mmproj-*.gguf`): the image encoder that a multimodal GGUF model
loads beside its weights. Not a model on its own: Hub listings and the installed models
leave them out. A model's projector is found beside it (`projector_for`): downloads keep
a repository's files together in one folder, so the catalog's projector (or the one a
Hub search offered) lands next to the weights."""

from __future__ import annotations

from assistant.core.projectors import choose_projector, is_projector, projector_for
from assistant.core.units import format_bytes

__all__ = ["choose_projector", "is_projector", "projector_for", "projector_note"]


def projector_note(filenames: list[str], chosen: str | None = None, size: int | None = None) -> str:
    """A sentence for a repo that holds projectors ("" when it holds none): the one that
    downloads with the model (`chosen`, else the usual pick) and its size."""
    chosen = chosen or choose_projector(filenames)
    if chosen is None:
        return ""
    name = chosen.rsplit("/", 1)[-1]
    more = len([f for f in filenames if is_projector(f)]) - 1
    which = name + (f", {format_bytes(size)}" if size else "")
    others = f" (the repository holds {more} more)" if more else ""
    return (f"This model reads pictures: its vision projector ({which}){others} downloads with it "
            "and is added to the memory it needs.")
