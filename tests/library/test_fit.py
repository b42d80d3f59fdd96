"""library/fit.py: fit levels and recommendations for machines described as plain data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant import hardware
from assistant.hardware import GpuInfo, HardwareInfo
from assistant.library.catalog import CatalogEntry, load_catalog
from assistant.library.fit import (
    LABELS,
    SLOW_TPS,
    FitEstimate,
    FitLevel,
    estimate_fit,
    estimate_fit_bytes,
    quality,
    recommend,
    usable_ram,
)
from assistant.library.speed import COMFORTABLE_TPS, Calibration

GB = 1024**3


def machine(ram_gb: int, vram_gb: int = 0, *, offload: bool | None = None) -> HardwareInfo:
    """A Linux PC; with vram_gb an NVIDIA card with 95% of its VRAM free and a CUDA build."""
    gpus = [GpuInfo("NVIDIA GeForce RTX", vram_gb * GB, int(vram_gb * GB * 0.95), "550.54", "12.4")] if vram_gb else []
    offload = bool(vram_gb) if offload is None else offload
    return HardwareInfo(
        os_name="Linux", cpu_arch="x86_64", physical_cores=8, logical_cores=16,
        ram_total_bytes=ram_gb * GB, ram_available_bytes=int(ram_gb * GB * 0.6),
        gpus=gpus, nvidia_driver=bool(vram_gb), llama_gpu_offload=offload,
        llama_backend="CUDA" if offload else "CPU",
    )


def mac(ram_gb: int) -> HardwareInfo:
    return HardwareInfo(
        os_name="macOS", cpu_arch="arm64", apple_silicon=True, physical_cores=10, logical_cores=10,
        ram_total_bytes=ram_gb * GB, ram_available_bytes=int(ram_gb * GB * 0.6),
        llama_gpu_offload=True, llama_backend="Metal", mlx_available=True,
    )


@pytest.fixture(scope="module")
def cat() -> dict[str, CatalogEntry]:
    return {e.id: e for e in load_catalog()}


CPU_BPS = 40e9  # a desktop's measured memory bandwidth: the speed figures do not depend on this test machine


def fit(
    cat: dict[str, CatalogEntry], model_id: str, hw: HardwareInfo, ctx: int = 4096, quant: str = "Q4_K_M"
) -> FitEstimate:
    entry = cat[model_id]
    file = entry.file(quant) if entry.family != "gpt-oss" else entry.default_file()  # gpt-oss: MXFP4 only
    assert file is not None
    return estimate_fit(entry, file, hw, ctx, cpu_bps=CPU_BPS)


def pick(entries: list[CatalogEntry], hw: HardwareInfo, bps: float = CPU_BPS):  # type: ignore[no-untyped-def]
    return recommend(entries, hw, cpu_bps=bps)


# ---------------------------------------------------------------- levels


def test_small_model_fully_on_an_8gb_gpu(cat: dict[str, CatalogEntry]) -> None:
    est = fit(cat, "llama-3.2-1b-instruct", machine(16, 8))
    assert est.level is FitLevel.GPU_FULL and est.gpu_layers_fraction == 1.0
    assert est.label == "Fully on GPU" and "GB" in est.detail


def test_27b_partly_on_an_8gb_gpu_with_64gb_ram(cat: dict[str, CatalogEntry]) -> None:
    est = fit(cat, "qwen3.5-27b", machine(64, 8))
    assert est.level is FitLevel.GPU_PARTIAL and est.label == "Partly on GPU"
    assert 0.2 <= est.gpu_layers_fraction < 0.5
    assert "of 64 layers" in est.detail  # whole layers, from the catalog's architecture


def test_27b_on_8gb_ram_without_gpu_will_not_fit(cat: dict[str, CatalogEntry]) -> None:
    est = fit(cat, "qwen3.5-27b", machine(8))
    assert est.level is FitLevel.NO_FIT and est.label == "Will not fit" and not est.fits
    assert "8.0 GB" in est.detail and est.speed is None and est.label_with_speed == "Will not fit"


def test_cpu_only_machine_gets_cpu_or_nothing(cat: dict[str, CatalogEntry]) -> None:
    hw = machine(16)
    for e in cat.values():
        assert fit(cat, e.id, hw).level in (FitLevel.CPU_ONLY, FitLevel.NO_FIT)
    est = fit(cat, "qwen3.5-9b", hw)
    assert est.level is FitLevel.CPU_ONLY and est.label == "CPU only" and est.gpu_layers_fraction == 0
    assert est.label_with_speed.startswith("CPU only, about ") and "words a second" in est.label_with_speed


def test_gpu_unused_by_a_cpu_build_is_said(cat: dict[str, CatalogEntry]) -> None:
    est = fit(cat, "qwen3-4b-instruct-2507", machine(16, 8, offload=False))
    assert est.level is FitLevel.CPU_ONLY and "cannot use the NVIDIA GeForce RTX" in est.detail


def test_24gb_gpu_holds_a_27b_q8_only_partly_but_a_24b_q4_fully(cat: dict[str, CatalogEntry]) -> None:
    hw = machine(64, 24)
    assert fit(cat, "phi-4", hw).level is FitLevel.GPU_FULL
    assert fit(cat, "mistral-small-3.2-24b-instruct", hw).level is FitLevel.GPU_FULL
    assert fit(cat, "qwen3.5-27b", hw, quant="Q8_0").level is FitLevel.GPU_PARTIAL


def test_more_context_needs_more_memory(cat: dict[str, CatalogEntry]) -> None:
    hw = machine(64, 24)
    m = "qwen3-4b-instruct-2507"
    small, big = fit(cat, m, hw, 2048), fit(cat, m, hw, 32768)
    assert big.needed_bytes > small.needed_bytes and big.kv_bytes == 16 * small.kv_bytes
    assert big.weights_bytes == small.weights_bytes
    # the catalog's architecture gives the exact f16 KV cache: 36 layers * 8 heads * 128 * 2 * 2 bytes
    assert small.kv_bytes == pytest.approx(2048 * 147456, rel=0.001)
    for est in (small, big):
        assert est.weights_bytes + est.kv_bytes + est.overhead_bytes == est.needed_bytes
        assert est.overhead_bytes >= hardware.OVERHEAD_FIXED
    # a long window can push a model off the GPU
    assert fit(cat, "gemma-3-12b-it", machine(32, 12), 4096).level is FitLevel.GPU_FULL
    assert fit(cat, "gemma-3-12b-it", machine(32, 12), 32768).level is FitLevel.GPU_PARTIAL


def test_context_is_clamped_to_the_models_window(cat: dict[str, CatalogEntry]) -> None:
    hw = machine(64)
    assert fit(cat, "phi-4", hw, 1_000_000).kv_bytes == fit(cat, "phi-4", hw, 16384).kv_bytes


def test_moe_needs_all_weights_but_detail_mentions_active_params(cat: dict[str, CatalogEntry]) -> None:
    moe = fit(cat, "qwen3-30b-a3b-instruct-2507", machine(64, 8))
    dense = fit(cat, "qwen3-4b-instruct-2507", machine(64, 8))
    assert moe.weights_bytes > 15 * 10**9 > dense.weights_bytes  # every expert is loaded
    assert "mixture of experts" in moe.detail and "3.3B" in moe.detail and "30.5B" in moe.detail
    assert "mixture of experts" not in dense.detail
    effective = fit(cat, "gemma-4-e4b-it", machine(64, 8))  # "effective" parameters are not experts
    assert "mixture of experts" not in effective.detail


def test_the_largest_models_need_a_big_machine(cat: dict[str, CatalogEntry]) -> None:
    big = "gemma-4-31b-it"
    for hw in (machine(8), machine(16), mac(16)):
        assert fit(cat, big, hw).level is FitLevel.NO_FIT
    assert fit(cat, big, machine(32, 8)).level is FitLevel.GPU_PARTIAL
    assert fit(cat, big, machine(64, 24)).level is FitLevel.GPU_FULL
    assert fit(cat, big, mac(32)).level is FitLevel.GPU_FULL


def test_apple_silicon_unified_memory(cat: dict[str, CatalogEntry]) -> None:
    hw = mac(16)  # the GPU may use about 70%: 11.2 GB
    assert fit(cat, "qwen3.5-9b", hw).level is FitLevel.GPU_FULL
    assert "unified memory" in fit(cat, "qwen3.5-9b", hw).detail
    est = fit(cat, "phi-4", hw, 16384)  # over the GPU's share, inside the memory
    assert est.level is FitLevel.GPU_PARTIAL and 0 < est.gpu_layers_fraction < 1
    assert fit(cat, "gemma-3-27b-it", hw).level is FitLevel.NO_FIT


def test_estimate_fit_bytes_without_architecture() -> None:
    """Hub and installed files: no catalog architecture, hardware's KV estimate is used."""
    hw = machine(16, 8)
    est = estimate_fit_bytes(4_900_000_000, 32, hw, 4096, cpu_bps=CPU_BPS)
    assert est.needed_bytes == hardware.estimate_memory(4_900_000_000, 32, 4096, None)
    assert est.level is FitLevel.GPU_FULL and est.kv_bytes > 0 and est.speed is not None
    unknown_layers = estimate_fit_bytes(4_900_000_000, None, hw, 4096, cpu_bps=CPU_BPS)
    assert unknown_layers.kv_bytes > 0 and unknown_layers.level is FitLevel.GPU_FULL
    huge = estimate_fit_bytes(200 * 10**9, None, hw, 4096, cpu_bps=CPU_BPS)
    assert huge.level is FitLevel.NO_FIT
    assert set(LABELS) == set(FitLevel)


@pytest.mark.parametrize(
    ("ram", "vram"), [(8, 0), (8, 8), (16, 0), (16, 8), (16, 24), (64, 0), (64, 8), (64, 24)],
)
def test_levels_grow_with_the_machine(cat: dict[str, CatalogEntry], ram: int, vram: int) -> None:
    """Sanity over the whole grid: a bigger model never fits better, nor runs faster, than a smaller one."""
    hw = machine(ram, vram)
    rank = {FitLevel.NO_FIT: 0, FitLevel.CPU_ONLY: 1, FitLevel.GPU_PARTIAL: 2, FitLevel.GPU_FULL: 3}
    family = ["qwen3.5-0.8b", "qwen3.5-2b", "qwen3.5-4b", "qwen3.5-9b", "qwen3.5-27b"]
    fits = [fit(cat, i, hw) for i in family]
    levels = [rank[f.level] for f in fits]
    assert levels == sorted(levels, reverse=True)
    assert levels[0] >= 1, "a 0.8B model runs on any of these machines"
    speeds = [f.speed.tokens_per_s for f in fits if f.speed]
    assert speeds == sorted(speeds, reverse=True)
    assert usable_ram(hw) < hw.ram_total_bytes


# ---------------------------------------------------------------- recommend


def test_recommend_a_quick_instruct_model_on_an_8gb_laptop(cat: dict[str, CatalogEntry]) -> None:
    entry, file, est = pick(list(cat.values()), machine(8)) or pytest.fail("no pick")
    assert entry.active_b <= 4.5 and entry.good_first and not entry.restrictive and entry.reasoning == "no"
    assert est.level is FitLevel.CPU_ONLY and file.quant == "Q4_K_M"
    assert est.needed_bytes <= 0.7 * 8 * GB and est.speed is not None and est.speed.comfortable


def test_recommend_bigger_model_on_64gb_with_24gb_gpu(cat: dict[str, CatalogEntry]) -> None:
    entry, _, est = pick(list(cat.values()), machine(64, 24)) or pytest.fail("no pick")
    assert est.level is FitLevel.GPU_FULL and entry.params_b >= 14
    small = pick(list(cat.values()), machine(8))
    assert small is not None and quality(entry) > quality(small[0])


@pytest.mark.parametrize(("ram", "vram"), [(8, 8), (16, 0), (16, 8), (16, 24), (64, 0), (64, 8), (32, 0)])
def test_recommend_per_machine(cat: dict[str, CatalogEntry], ram: int, vram: int) -> None:
    entry, _, est = pick(list(cat.values()), machine(ram, vram)) or pytest.fail("no pick")
    assert est.speed is not None and est.speed.tokens_per_s >= COMFORTABLE_TPS  # a comfortable pace
    if vram:
        assert est.level is FitLevel.GPU_FULL  # an 8 GB card fits a good 4-9B model whole
        assert est.needed_bytes <= 0.9 * vram * GB * 0.95
    else:
        assert est.level is FitLevel.CPU_ONLY and entry.active_b <= 9
        assert est.needed_bytes <= 0.7 * ram * GB
    if est.speed.tokens_per_s < SLOW_TPS:
        assert entry.reasoning != "always"  # no thinking out loud at a slow pace


def test_recommend_on_a_2_core_24gb_pc_is_a_small_instruct_model(cat: dict[str, CatalogEntry]) -> None:
    """The machine of the issue: 2 cores, 24 GB, no GPU, 16 GB/s measured."""
    hw = replace(machine(24), physical_cores=2, logical_cores=2)
    entry, file, est = pick(list(cat.values()), hw, 16e9) or pytest.fail("no pick")
    assert entry.reasoning == "no" and entry.active_b <= 2 and file.size_bytes < 5 * GB, entry.id
    assert est.speed is not None and est.speed.tokens_per_s >= COMFORTABLE_TPS
    assert "8B" not in entry.name and entry.id != "qwen3-4b-thinking-2507"
    # a calibration that says this machine is 3x slower than measured: still the quickest instruct model
    slow = recommend(list(cat.values()), hw, cpu_bps=16e9, calibration=Calibration(0.3, 2))
    assert slow is not None and slow[0].reasoning == "no"
    assert slow[2].speed is not None and slow[2].speed.calibrated


def test_recommend_prefers_gpu_then_good_first_then_permissive(cat: dict[str, CatalogEntry]) -> None:
    hw = machine(16, 8)
    entries = [cat["llama-3.2-3b-instruct"], cat["qwen3-4b-instruct-2507"], cat["gemma-3-4b-it"]]
    entry, _, _ = pick(entries, hw) or pytest.fail("no pick")
    assert entry.id == "qwen3-4b-instruct-2507"  # good_first and permissive on the GPU
    entries = [cat["qwen3.5-0.8b"], cat["qwen3.5-4b"]]
    assert (pick(entries, hw) or pytest.fail("no pick"))[0].id == "qwen3.5-4b"  # good_first and bigger


def test_recommend_nothing_when_nothing_fits(cat: dict[str, CatalogEntry]) -> None:
    assert pick([cat["qwen3.5-27b"], cat["gemma-4-31b-it"]], machine(8)) is None
    assert pick([], machine(64, 24)) is None
