"""Safe mode in the model's settings: a real crash at load (the child's test hook) puts
the model in safe mode; the dialog says so; its button resets it, and the next load runs
at normal settings again."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.types import LoadOptions, ModelRef
from assistant.engines import safe_mode
from assistant.engines.host import EngineProxy
from assistant.engines.host_child import CRASH_ENV
from assistant.settings import Settings
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog

LIGHT = LoadOptions(n_ctx=512, n_threads=1)


def test_safe_mode_is_shown_and_reset_in_the_models_settings(qtbot, gemma_path: Path,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ref = ModelRef(gemma_path, "gguf")
    plain = ModelSettingsDialog(ref, Settings(), ["llama.cpp"])
    qtbot.addWidget(plain)
    plain.show()
    assert not plain.safe_mode.isVisible()  # never crashed: nothing to say

    monkeypatch.setenv(CRASH_ENV, "load:SIGSEGV:repack")  # crashes only while repacking is on
    p = EngineProxy("llama.cpp")
    p.load(ref, LIGHT)
    p.unload()
    assert safe_mode.level_for(gemma_path) == 1

    dlg = ModelSettingsDialog(ref, Settings(), ["llama.cpp"])
    qtbot.addWidget(dlg)
    dlg.show()
    note = dlg.safe_mode
    assert note.isVisible()
    text = note.label.text()
    assert "Safe mode" in text and "repacking and AMX" in text and "signal 11" in text
    reset: list[object] = []
    note.safe_mode_reset.connect(reset.append)
    note.reset_button.click()
    assert reset == [gemma_path] and not note.isVisible()
    assert safe_mode.get(gemma_path) is None

    monkeypatch.delenv(CRASH_ENV)
    p = EngineProxy("llama.cpp")
    p.load(ref, LIGHT)
    try:
        assert p.safe_level == 0 and p.safe_settings.repack  # normal settings again
    finally:
        p.unload()
