"""A reasoning model's "Thinking" control in its simple settings: on / off where the
template has enable_thinking, low / medium / high for gpt-oss; none for other models.
Reasoning models get a larger answer budget by default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import model_settings as msm
from assistant.chat.dispatch import SendPolicy
from assistant.chat.store import ChatStore
from assistant.core.types import ModelRef
from assistant.settings import Settings
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog

TEMPLATES = Path(__file__).resolve().parents[2] / "engines" / "templates"


def model_folder(tmp_path: Path, template: str) -> ModelRef:
    folder = tmp_path / template.removesuffix(".jinja")
    folder.mkdir()
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps({"chat_template": source}))
    return ModelRef(folder, "mlx")


@pytest.mark.parametrize(("template", "choices", "default"), [
    ("Qwen-Qwen3-0.6B.jinja", ["on", "off"], "on"),
    ("google-gemma-4-31B-it.jinja", ["on", "off"], "off"),
    ("openai-gpt-oss-120b.jinja", ["low", "medium", "high"], "medium"),
])
def test_reasoning_models_offer_thinking(qtbot, tmp_path: Path, template: str, choices: list[str], default: str) -> None:  # type: ignore[no-untyped-def]
    ref = model_folder(tmp_path, template)
    settings = Settings()
    dlg = ModelSettingsDialog(ref, settings, ["mlx"])
    qtbot.addWidget(dlg)
    assert [dlg.thinking.itemData(i) for i in range(dlg.thinking.count())] == choices
    assert dlg.thinking.currentData() == default and not dlg.thinking.isHidden()
    assert dlg.max_tokens.value() == msm.REASONING_MAX_TOKENS
    assert dlg.values().thinking is None and dlg.values().max_tokens is None  # defaults are not overrides
    other = next(c for c in choices if c != default)
    dlg.thinking.setCurrentIndex(dlg.thinking.findData(other))
    dlg.accept()
    with ChatStore.open(tmp_path / "h.db") as store:
        params = SendPolicy(store, settings).params(ref.path)
    assert params.thinking == other and params.max_tokens == msm.REASONING_MAX_TOKENS


def test_other_models_have_no_thinking_control(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ref = model_folder(tmp_path, "meta-llama-Llama-3.1-8B-Instruct.jinja")
    settings = Settings()
    dlg = ModelSettingsDialog(ref, settings, ["mlx"])
    qtbot.addWidget(dlg)
    assert dlg.thinking_control is None and dlg.thinking.parent() is None or dlg.thinking.isHidden()
    assert dlg.max_tokens.value() == settings.generation.max_tokens
    with ChatStore.open(tmp_path / "h.db") as store:
        params = SendPolicy(store, settings).params(ref.path)
    assert params.thinking is None and params.max_tokens == settings.generation.max_tokens
