"""Per-model settings: overrides of the global defaults, kept in
`settings.model_settings[<model path>]` as a dict of only the values that were set.

Two kinds of value: load options (context length, GPU layers, threads, chat template,
engine), which take effect at the next load (the GUI reloads the model when they
change for the loaded one), and sampling values plus the system prompt, which take
effect at the next message.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, cast

from assistant.core.kv_cache import BATCH_SIZES, FLASH_ATTN_CHOICES, KV_TYPES
from assistant.core.types import GenParams
from assistant.settings import ModelOverrides, Settings

ENGINES = ("llama.cpp", "mlx")
SAMPLING_KEYS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "thinking")
THINKING_VALUES = ("on", "off", "low", "medium", "high")
# a reasoning model thinks before it answers: 1,024 tokens can end the turn mid-thought
REASONING_MAX_TOKENS = 8192
SPEED_KEYS = ("flash_attn", "kv_cache_type", "n_batch", "prompt_lookup")  # llama.cpp's power-user options
LOAD_KEYS = ("context_length", "n_gpu_layers", "n_threads", "chat_template", "engine", *SPEED_KEYS)
PROMPT_LOOKUP_VALUES = ("auto", "off")


@dataclass
class ModelSettings:
    """None everywhere means "use the app-wide default"."""

    context_length: int | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    n_gpu_layers: int | None = None  # -1: auto (hardware.plan decides), 0: CPU only, N: layers
    n_threads: int | None = None  # 0: auto (physical cores)
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    repeat_penalty: float | None = None
    max_tokens: int | None = None
    chat_template: str | None = None  # a Jinja template that replaces the model's own
    engine: str | None = None  # "llama.cpp" or "mlx"
    thinking: str | None = None  # a reasoning model's Thinking: on / off, or low / medium / high
    # llama.cpp load options (core/kv_cache.py has the choices)
    flash_attn: str | None = None  # auto / on / off
    kv_cache_type: str | None = None  # f16 / q8_0 / q4_0
    n_batch: int | None = None  # prompt batch size
    prompt_lookup: str | None = None  # auto / off

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ModelSettings:
        """Unknown keys and wrong types are dropped, not fatal (a hand-edited file)."""
        out = cls()
        for f in fields(cls):
            v = (data or {}).get(f.name)
            if v is None:
                continue
            kind = f.type if isinstance(f.type, str) else ""
            if kind.startswith("int") and isinstance(v, int) and not isinstance(v, bool):
                setattr(out, f.name, v)
            elif kind.startswith("float") and isinstance(v, (int, float)) and not isinstance(v, bool):
                setattr(out, f.name, float(v))
            elif kind.startswith("str") and isinstance(v, str):
                setattr(out, f.name, v)
        if out.engine not in (None, *ENGINES):
            out.engine = None
        if out.thinking not in (None, *THINKING_VALUES):
            out.thinking = None
        if out.flash_attn not in (None, *FLASH_ATTN_CHOICES):
            out.flash_attn = None
        if out.kv_cache_type not in (None, *KV_TYPES):
            out.kv_cache_type = None
        if out.n_batch not in (None, *BATCH_SIZES):
            out.n_batch = None
        if out.prompt_lookup not in (None, *PROMPT_LOOKUP_VALUES):
            out.prompt_lookup = None
        if out.chat_template is not None and not out.chat_template.strip():
            out.chat_template = None
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def load_key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, k) for k in LOAD_KEYS)


def key_for(path: Path | str) -> str:
    return str(path)


def get(settings: Settings, path: Path | str) -> ModelSettings:
    return ModelSettings.from_dict(settings.model_settings.get(key_for(path)))


def put(settings: Settings, path: Path | str, ms: ModelSettings) -> None:
    """Store (or clear, when nothing is overridden) a model's settings in `settings`."""
    data = ms.to_dict()
    if data:
        settings.model_settings[key_for(path)] = cast(ModelOverrides, data)
    else:
        settings.model_settings.pop(key_for(path), None)


def forget(settings: Settings, path: Path | str) -> None:
    settings.model_settings.pop(key_for(path), None)


def needs_reload(old: ModelSettings, new: ModelSettings) -> bool:
    """True when a load option changed: the loaded model must be loaded again."""
    return old.load_key() != new.load_key()


def default_max_tokens(settings: Settings, reasoning: bool) -> int:
    """The answer budget when the model has none of its own: larger for reasoning models."""
    g = settings.generation.max_tokens
    return max(g, REASONING_MAX_TOKENS) if reasoning else g


def effective(settings: Settings, path: Path | str, *, reasoning: bool = False) -> ModelSettings:
    """Every value filled in: the model's override, else the app-wide default."""
    ms = get(settings, path)
    g = settings.generation
    return ModelSettings(
        context_length=ms.context_length or settings.context_length,
        system_prompt=settings.system_prompt if ms.system_prompt is None else ms.system_prompt,
        temperature=g.temperature if ms.temperature is None else ms.temperature,
        n_gpu_layers=settings.n_gpu_layers if ms.n_gpu_layers is None else ms.n_gpu_layers,
        n_threads=settings.n_threads if ms.n_threads is None else ms.n_threads,
        top_p=g.top_p if ms.top_p is None else ms.top_p,
        top_k=g.top_k if ms.top_k is None else ms.top_k,
        min_p=g.min_p if ms.min_p is None else ms.min_p,
        repeat_penalty=g.repeat_penalty if ms.repeat_penalty is None else ms.repeat_penalty,
        max_tokens=ms.max_tokens or default_max_tokens(settings, reasoning),
        chat_template=ms.chat_template,
        engine=ms.engine,
        thinking=ms.thinking,
        flash_attn=ms.flash_attn,
        kv_cache_type=ms.kv_cache_type,
        n_batch=ms.n_batch,
        prompt_lookup=ms.prompt_lookup,
    )


def load_settings_for(settings: Settings, path: Path | str) -> Settings:
    """A copy of `settings` with the model's load options in the global fields that
    engines/factory.py reads (context length, threads, GPU layers)."""
    eff = effective(settings, path)
    out = copy.deepcopy(settings)
    out.context_length = int(eff.context_length or settings.context_length)
    out.n_threads = int(eff.n_threads or 0)
    out.n_gpu_layers = int(settings.n_gpu_layers if eff.n_gpu_layers is None else eff.n_gpu_layers)
    return out


def gen_params(settings: Settings, path: Path | str | None, *, reasoning: bool = False) -> GenParams:
    """Sampling values for the next message with this model: the app-wide values with the
    model's own overrides on top. `reasoning`: the model thinks (a larger answer budget)."""
    if path is None:
        return dataclasses.replace(settings.generation)
    ms = get(settings, path)
    overrides = {name: getattr(ms, name) for name in SAMPLING_KEYS if getattr(ms, name) is not None}
    overrides.setdefault("max_tokens", default_max_tokens(settings, reasoning))
    return dataclasses.replace(settings.generation, **overrides)


def system_prompt(settings: Settings, path: Path | str | None) -> str:
    if path is None:
        return settings.system_prompt
    sp = get(settings, path).system_prompt
    return settings.system_prompt if sp is None else sp


def engine_choices(model_format: str, hw: Any) -> list[str]:
    """Engines that can run a model of this format here. A GGUF file runs on llama.cpp;
    an MLX folder on MLX (Apple Silicon). Both only for a format both can read."""
    out = []
    if model_format == "gguf" and getattr(hw, "llama_backend", "none") != "none":
        out.append("llama.cpp")
    if model_format == "mlx" and getattr(hw, "mlx_available", False):
        out.append("mlx")
    return out
