"""The KV cache's choices and its size: shared by the engine (what to ask llama.cpp for),
the fit estimate (how much memory a context takes) and the model's Advanced settings.

The cache holds a key and a value vector per layer for every token of the context.
f16 stores each number in 2 bytes; q8_0 in 34 bytes per 32 numbers, q4_0 in 18 (ggml's
block formats). llama.cpp can read a quantized V cache only with flash attention, so
with flash attention off only the K half is quantized.
"""

from __future__ import annotations

KV_TYPES = ("f16", "q8_0", "q4_0")
FLASH_ATTN_CHOICES = ("auto", "on", "off")
BATCH_SIZES = (128, 256, 512, 1024, 2048)
DEFAULT_BATCH = 512

# bytes per number, from ggml's block sizes
_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


def effective_kv_types(kv_type: str, flash_attn: str) -> tuple[str, str]:
    """(K type, V type) llama.cpp will use: a quantized V needs flash attention."""
    kv = kv_type if kv_type in KV_TYPES else "f16"
    return kv, kv if flash_attn != "off" else "f16"


def kv_scale(kv_type: str, flash_attn: str = "auto") -> float:
    """The cache's size relative to f16 (1.0) with this type."""
    k, v = effective_kv_types(kv_type, flash_attn)
    return (_BYTES[k] + _BYTES[v]) / (2 * _BYTES["f16"])


def kv_bytes(f16_bytes: int, kv_type: str, flash_attn: str = "auto") -> int:
    """A cache of `f16_bytes` at f16, in this type."""
    return int(f16_bytes * kv_scale(kv_type, flash_attn))


def f16_bytes_per_token(metadata: dict[str, object], architecture: str) -> int | None:
    """An f16 cache's bytes per token of context, from a GGUF's metadata (all layers full
    size: an upper bound for sliding-window models); None when the fields are missing."""
    def num(key: str) -> int | None:
        v = metadata.get(f"{architecture}.{key}")
        if isinstance(v, (list, tuple)):  # per-layer values: the largest
            v = max((x for x in v if isinstance(x, (int, float))), default=None)
        return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    layers, heads = num("block_count"), num("attention.head_count")
    kv_heads = num("attention.head_count_kv") or heads
    embd = num("embedding_length")
    k_len = num("attention.key_length") or (embd // heads if embd and heads else None)
    v_len = num("attention.value_length") or k_len
    if not (layers and kv_heads and k_len and v_len):
        return None
    return int(layers * kv_heads * (k_len + v_len) * _BYTES["f16"])
