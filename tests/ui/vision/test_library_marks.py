"""The library marks the models that read pictures here with an eye, and says what their
projector is, Qwen3.5 (M-RoPE positions) as well as Gemma 3."""

from __future__ import annotations

from PySide6.QtCore import Qt

from assistant.library.catalog import load_catalog
from assistant.ui.library.models.catalog import VISION_MARK, CatalogModel, CatalogRow
from assistant.ui.library.tabs.recommended import describe_abilities


def test_vision_models_have_an_eye_and_say_their_projector_downloads_with_them(qtbot) -> None:  # type: ignore[no-untyped-def]
    by_id = {e.id: e for e in load_catalog()}
    gemma, qwen, text = by_id["gemma-3-4b-it"], by_id["qwen3.5-4b"], by_id["smollm3-3b"]
    model = CatalogModel()
    model.set_rows([CatalogRow(gemma, ()), CatalogRow(qwen, ()), CatalogRow(text, ())])
    names = [model.index(r, 0).data() for r in range(3)]
    assert names[0].startswith(f"{gemma.name} {VISION_MARK}") and names[1].startswith(f"{qwen.name} {VISION_MARK}")
    assert VISION_MARK not in names[2]
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole).startswith(f"{VISION_MARK} Reads pictures")
    assert gemma.projector is not None
    assert f"Reads pictures: its projector file ({gemma.projector.filenames[0]}, " in describe_abilities(gemma)
    assert "downloads with it" in describe_abilities(gemma) and "does not use" not in describe_abilities(gemma)
    assert qwen.projector is not None
    assert f"Reads pictures: its projector file ({qwen.projector.filenames[0]}, " in describe_abilities(qwen)
    assert "pictures" not in describe_abilities(text)
