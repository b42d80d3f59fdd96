"""The power-user load options reach llama.cpp: what llama.cpp reports it used while
creating the context (its own log), the context's batch size, and the cache's size."""

from __future__ import annotations

import threading
from pathlib import Path

from assistant import model_settings as msm
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines import factory
from assistant.engines.host import EngineProxy
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.settings import Settings


def load(path: Path, **options: object) -> LlamaCppEngine:
    e = LlamaCppEngine()
    e.load(ModelRef(path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2, **options))  # type: ignore[arg-type]
    return e


def answer(e, text: str = "Name a colour.") -> str:  # type: ignore[no-untyped-def]
    chunks = list(e.stream_chat([Message("user", text)], GenParams(max_tokens=8, temperature=0.0), threading.Event()))
    assert chunks[-1].usage.completion_tokens > 0
    return "".join(c.text for c in chunks)


def test_flash_attention_cache_type_and_batch_size_reach_llama_cpp(gemma_path: Path) -> None:
    e = load(gemma_path)
    try:
        default = e.load_report
        assert default["type_k"] == default["type_v"] == "f16" and default["n_batch"] == 512
        assert default["flash_attn"] in ("enabled", "disabled")  # "auto", resolved by llama.cpp
        assert default["swa_full"] is False  # Gemma 3's sliding-window layers keep only their window
        answer(e)
    finally:
        e.unload()

    e = load(gemma_path, flash_attn="on", kv_cache_type="q4_0", n_batch=256)
    try:
        r = e.load_report
        assert r["flash_attn"] == "enabled" and r["type_k"] == r["type_v"] == "q4_0"
        assert r["n_batch"] == 256 and e._lib.llama_n_batch(e._ctx) == 256 and e._lib.llama_n_ubatch(e._ctx) == 256
        assert r["kv_cache_bytes"] < default["kv_cache_bytes"] * 0.4  # 18 bytes per 32 numbers against 64
        answer(e)
    finally:
        e.unload()

    # a quantized V cache needs flash attention: with it off, only K is quantized
    e = load(gemma_path, flash_attn="off", kv_cache_type="q8_0")
    try:
        r = e.load_report
        assert r["flash_attn"] == "disabled" and r["type_k"] == "q8_0" and r["type_v"] == "f16"
        answer(e)
    finally:
        e.unload()


def test_safe_mode_without_flash_attention_wins_over_the_setting(gemma_path: Path) -> None:
    from assistant.engines import safe_mode

    e = LlamaCppEngine()
    e.safe = safe_mode.settings(2)  # the step that turns flash attention off
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2, flash_attn="on", kv_cache_type="q8_0"))
    try:
        assert e.load_report["flash_attn"] == "disabled" and e.load_report["type_v"] == "f16"
    finally:
        e.unload()


def test_model_settings_carry_the_options_to_the_engine_process(gemma_path: Path) -> None:
    settings = Settings()
    settings.context_length = 2048
    settings.n_threads = 2
    msm.put(settings, gemma_path, msm.ModelSettings(flash_attn="off", kv_cache_type="q8_0", n_batch=128, prompt_lookup="off"))
    engine, options, _plan = factory.prepare(ModelRef(gemma_path, "gguf"), settings)
    assert (options.flash_attn, options.kv_cache_type, options.n_batch, options.prompt_lookup) == ("off", "q8_0", 128, "off")
    assert isinstance(engine, EngineProxy)
    engine.load(ModelRef(gemma_path, "gguf"), options)
    try:
        r = engine.load_report  # sent by the child with "loaded"
        assert r["flash_attn"] == "disabled" and r["type_k"] == "q8_0" and r["n_batch"] == 128
        assert r["prompt_lookup"] == "off"
        assert answer(engine)
    finally:
        engine.unload()


def test_bad_values_in_a_hand_edited_file_fall_back_to_defaults() -> None:
    ms = msm.ModelSettings.from_dict({"flash_attn": "fast", "kv_cache_type": "q2", "n_batch": 7, "prompt_lookup": "yes"})
    assert (ms.flash_attn, ms.kv_cache_type, ms.n_batch, ms.prompt_lookup) == (None, None, None, None)
    ms = msm.ModelSettings.from_dict({"flash_attn": "on", "kv_cache_type": "q4_0", "n_batch": 1024})
    assert msm.needs_reload(msm.ModelSettings(), ms)
