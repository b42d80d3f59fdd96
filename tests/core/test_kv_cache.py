"""The KV cache's size per type (ggml's block formats) and from a real GGUF's metadata,
and the fit estimate's saving with a quantized cache."""

from __future__ import annotations

from pathlib import Path

from assistant.core import kv_cache
from assistant.core.gguf_meta import read_gguf
from assistant.hardware import HardwareInfo
from assistant.library.fit import estimate_fit_bytes

GB = 1024**3


def test_sizes_follow_the_block_formats_and_flash_attention() -> None:
    assert kv_cache.kv_scale("f16") == 1.0
    assert kv_cache.kv_scale("q8_0") == 34 / 64 and kv_cache.kv_scale("q4_0") == 18 / 64
    # without flash attention only K is quantized
    assert kv_cache.effective_kv_types("q4_0", "off") == ("q4_0", "f16")
    assert kv_cache.kv_scale("q4_0", "off") == (18 / 32 + 2) / 4
    assert kv_cache.kv_bytes(1000, "unknown") == 1000


def test_bytes_per_token_from_the_gemma_file(gemma_path: Path) -> None:
    info = read_gguf(gemma_path)
    # 18 layers x 1 KV head x (256 + 256) x 2 bytes
    assert kv_cache.f16_bytes_per_token(info.metadata, info.architecture) == 18 * 1 * 512 * 2
    assert kv_cache.f16_bytes_per_token({}, "gemma3") is None


def test_the_fit_estimate_shows_the_memory_a_quantized_cache_saves() -> None:
    hw = HardwareInfo(os_name="Linux", cpu_arch="x86_64", physical_cores=8, logical_cores=16,
                      ram_total_bytes=16 * GB, ram_available_bytes=8 * GB)
    f16 = estimate_fit_bytes(4 * GB, 32, hw, 32768, 131072)
    q8 = estimate_fit_bytes(4 * GB, 32, hw, 32768, 131072, kv_cache_type="q8_0")
    assert q8.kv_bytes == kv_cache.kv_bytes(f16.kv_bytes, "q8_0") and q8.needed_bytes < f16.needed_bytes
    assert "q8_0 KV cache saves" in q8.detail and "saves" not in f16.detail
