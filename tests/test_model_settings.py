"""Per-model settings: stored per path, persisted, reaching load options and GenParams."""

from __future__ import annotations

from pathlib import Path

from assistant import model_settings as ms_mod
from assistant.core.types import ModelRef
from assistant.engines.factory import prepare
from assistant.model_settings import ModelSettings
from assistant.settings import Settings, load_settings, save_settings


def test_overrides_persist_and_only_set_values_are_stored(tmp_path: Path) -> None:
    s = Settings()
    ms_mod.put(s, "/m/a.gguf", ModelSettings(context_length=1024, temperature=0.2, chat_template="{{x}}"))
    assert s.model_settings == {"/m/a.gguf": {"context_length": 1024, "temperature": 0.2, "chat_template": "{{x}}"}}
    save_settings(s, tmp_path / "s.json")
    back = load_settings(tmp_path / "s.json").settings
    assert ms_mod.get(back, "/m/a.gguf") == ModelSettings(context_length=1024, temperature=0.2, chat_template="{{x}}")
    assert ms_mod.get(back, "/m/b.gguf") == ModelSettings()
    ms_mod.put(back, "/m/a.gguf", ModelSettings())
    assert back.model_settings == {}


def test_bad_values_are_dropped() -> None:
    m = ModelSettings.from_dict({"context_length": "big", "temperature": 1, "engine": "vllm", "top_k": True})
    assert m == ModelSettings(temperature=1.0)


def test_gen_params_and_system_prompt_follow_the_model() -> None:
    s = Settings(system_prompt="global")
    ms_mod.put(s, "/m/a.gguf", ModelSettings(temperature=0.1, top_k=7, max_tokens=99, system_prompt="pirate"))
    p = ms_mod.gen_params(s, "/m/a.gguf")
    assert (p.temperature, p.top_k, p.max_tokens, p.top_p) == (0.1, 7, 99, s.generation.top_p)
    assert ms_mod.system_prompt(s, "/m/a.gguf") == "pirate"
    assert ms_mod.system_prompt(s, "/m/b.gguf") == "global"
    assert ms_mod.gen_params(s, "/m/b.gguf").temperature == s.generation.temperature


def test_needs_reload_only_for_load_options() -> None:
    a = ModelSettings(temperature=0.1)
    assert not ms_mod.needs_reload(a, ModelSettings(temperature=0.9, system_prompt="x"))
    assert ms_mod.needs_reload(a, ModelSettings(temperature=0.1, context_length=512))
    assert ms_mod.needs_reload(a, ModelSettings(temperature=0.1, n_gpu_layers=0))


def test_load_options_reach_the_engine_factory(gemma_path: Path) -> None:
    s = Settings(context_length=4096, n_threads=0)
    ms_mod.put(s, gemma_path, ModelSettings(context_length=1536, n_threads=1, n_gpu_layers=0,
                                            chat_template="{% for m in messages %}{{ m.content }}{% endfor %}"))
    engine, options, plan = prepare(ModelRef(gemma_path, "gguf"), s)
    assert engine.name == "llama.cpp"
    assert (options.n_ctx, options.n_threads, options.n_gpu_layers) == (1536, 1, 0)
    assert options.chat_template and "messages" in options.chat_template
    # the global settings object is not changed
    assert s.context_length == 4096
