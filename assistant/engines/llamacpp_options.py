"""The power-user load options for llama.cpp (flash attention, KV cache type, batch size),
applied to a context's parameters, and what llama.cpp reports it actually did.

The report comes from llama.cpp's own log while the context is created (it resolves
"auto" flash attention and turns it on for a quantized V cache), so it tells what was
used, not what was asked for. The engine's process sends it to the app with "loaded".
"""

from __future__ import annotations

import re
from typing import Any

from assistant.core.kv_cache import BATCH_SIZES, FLASH_ATTN_CHOICES, KV_TYPES, effective_kv_types

_GGML_TYPES = {"f16": "GGML_TYPE_F16", "q8_0": "GGML_TYPE_Q8_0", "q4_0": "GGML_TYPE_Q4_0"}
_GGML_IDS = {"f16": 1, "q8_0": 8, "q4_0": 2}  # ggml.h, should a build not export the names
_FLASH = {"auto": ("LLAMA_FLASH_ATTN_TYPE_AUTO", -1), "on": ("LLAMA_FLASH_ATTN_TYPE_ENABLED", 1),
          "off": ("LLAMA_FLASH_ATTN_TYPE_DISABLED", 0)}
_SIZE = re.compile(r"llama_kv_cache: size = +([\d.]+) MiB .*K \((\w+)\): .*V \((\w+)\)")
_FA_SET = re.compile(r"flash_attn += (\w+)")
_FA_RESOLVED = re.compile(r"Flash Attention (enabled|not supported)|flash_attn (enabled|disabled)", re.I)


def _ggml_type(lib: Any, name: str) -> int:
    return int(getattr(lib, _GGML_TYPES[name], _GGML_IDS[name]))


def apply(options: Any, cparams: Any, lib: Any, n_ctx: int, flash_allowed: bool) -> None:
    """Set batch sizes, flash attention and cache types from LoadOptions on `cparams`.

    `flash_allowed` is False in safe mode's no-flash-attention steps: then flash attention
    is off whatever was chosen, and a quantized V cache (which needs it) stays f16."""
    batch = options.n_batch if options.n_batch in BATCH_SIZES else 512
    cparams.n_batch = cparams.n_ubatch = min(batch, n_ctx)
    flash = options.flash_attn if options.flash_attn in FLASH_ATTN_CHOICES else "auto"
    if not flash_allowed:
        flash = "off"
    if hasattr(cparams, "flash_attn_type"):
        const, value = _FLASH[flash]
        cparams.flash_attn_type = int(getattr(lib, const, value))
    elif hasattr(cparams, "flash_attn"):
        cparams.flash_attn = flash != "off"
    kv = options.kv_cache_type if options.kv_cache_type in KV_TYPES else "f16"
    k, v = effective_kv_types(kv, flash)
    cparams.type_k = _ggml_type(lib, k)
    cparams.type_v = _ggml_type(lib, v)


def report(lines: list[str], cparams: Any) -> dict[str, Any]:
    """What llama.cpp used, from its log while creating the context."""
    out: dict[str, Any] = {"n_batch": int(cparams.n_batch), "n_ubatch": int(cparams.n_ubatch),
                           "swa_full": bool(getattr(cparams, "swa_full", False)), "kv_cache_bytes": 0}
    flash = ""
    for line in lines:
        if m := _FA_SET.search(line):
            flash = m.group(1)  # enabled / disabled / auto
        elif flash == "auto" and (m := _FA_RESOLVED.search(line)):
            flash = "enabled" if (m.group(1) or m.group(2)).lower() == "enabled" else "disabled"
        if m := _SIZE.search(line):
            out["kv_cache_bytes"] += int(float(m.group(1)) * 1024 * 1024)
            out["type_k"], out["type_v"] = m.group(2), m.group(3)
    out["flash_attn"] = flash or "unknown"
    return out
