"""llama.cpp's speed options in a model's Advanced settings: the choices, the memory the
KV cache takes for the chosen context, and only non-default choices kept as overrides."""

from __future__ import annotations

from pathlib import Path

from assistant import model_settings as msm
from assistant.core.types import ModelRef
from assistant.settings import Settings
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog


def test_speed_options_are_stored_and_show_the_memory_saved(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings()
    settings.advanced_settings = True
    ref = ModelRef(gemma_path, "gguf")
    dlg = ModelSettingsDialog(ref, settings, ["llama.cpp"])
    qtbot.addWidget(dlg)
    speed = dlg.speed
    assert not speed.isHidden()
    assert [speed.kv_cache_type.itemData(i) for i in range(speed.kv_cache_type.count())] == ["f16", "q8_0", "q4_0"]
    assert dlg.values().kv_cache_type is None and dlg.values().flash_attn is None  # defaults are not overrides
    assert "less" not in speed.memory.text() and "4,096 tokens" in speed.memory.text()
    speed.kv_cache_type.setCurrentIndex(speed.kv_cache_type.findData("q8_0"))
    assert "less than at f16" in speed.memory.text()
    dlg.context.setValue(8192)
    assert "8,192 tokens" in speed.memory.text()
    speed.flash_attn.setCurrentIndex(speed.flash_attn.findData("off"))
    speed.n_batch.setCurrentIndex(speed.n_batch.findData(1024))
    speed.prompt_lookup.setCurrentIndex(speed.prompt_lookup.findData("off"))
    for w in (speed.flash_attn, speed.kv_cache_type, speed.n_batch, speed.prompt_lookup):
        assert w.toolTip()  # each says what it does
    dlg.accept()
    ms = msm.get(settings, gemma_path)
    assert (ms.flash_attn, ms.kv_cache_type, ms.n_batch, ms.prompt_lookup) == ("off", "q8_0", 1024, "off")

    again = ModelSettingsDialog(ref, settings, ["llama.cpp"])
    qtbot.addWidget(again)
    assert again.speed.kv_cache_type.currentData() == "q8_0" and again.speed.n_batch.currentData() == 1024
    again._on_defaults()
    assert again.values().kv_cache_type is None and again.values().n_batch is None
