"""Will this model run on this computer, and how well? Estimates for the library view.

Memory needed = weights + KV cache for the chosen context + overhead, from
`hardware.estimate_memory` (the same sum `hardware.plan` uses when loading, so the
library and the loader agree). The KV cache uses the catalog's architecture when known
(2 * layers * kv_heads * head_dim * 2 bytes per token, f16), else hardware's estimate
from the file size. Gemma 3's sliding-window layers are counted full size: an upper
bound (the engine keeps only their window). A quantized KV cache (the model's Advanced
settings) scales the cache by core/kv_cache.kv_bytes.

Levels: on NVIDIA, all of it in free VRAM -> fully on GPU; a useful share of the
layers in VRAM and the rest in RAM -> partly on GPU; else the CPU alone, or will not
fit. Apple Silicon shares one memory: the GPU may use about APPLE_GPU_SHARE of it.
Memory is judged against total RAM less a reserve for the OS and other apps, since
the user can close programs before loading a model (`hardware.plan` checks what is
free at load time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

from assistant.core.kv_cache import kv_bytes
from assistant.core.units import format_bytes
from assistant.hardware import APPLE_GPU_SHARE, OVERHEAD_FIXED, HardwareInfo, estimate_memory
from assistant.library.catalog import CatalogEntry, CatalogFile
from assistant.library.speed import COMFORTABLE_TPS, Calibration, SpeedEstimate, estimate_speed

GiB = 1024**3
OS_RESERVE_MIN = int(1.5 * GiB)  # the OS, the app itself and a browser need at least this
OS_RESERVE_SHARE = 0.15
MIN_USEFUL_GPU_SHARE = 0.2  # below this, offloading a few layers barely speeds things up
# recommend(): headroom so the pick stays comfortable with other apps open
COMFORT_RAM_SHARE = 0.7
COMFORT_VRAM_SHARE = 0.9
COMFORT_PARTIAL_SHARE = 0.5  # at least half the layers on the GPU
SLOW_TPS = 30.0  # below this, thinking out loud (hundreds of tokens first) makes answers a long wait


class FitLevel(str, Enum):
    GPU_FULL = "gpu_full"
    GPU_PARTIAL = "gpu_partial"
    CPU_ONLY = "cpu_only"
    NO_FIT = "no_fit"


LABELS = {
    FitLevel.GPU_FULL: "Fully on GPU",
    FitLevel.GPU_PARTIAL: "Partly on GPU",
    FitLevel.CPU_ONLY: "CPU only",
    FitLevel.NO_FIT: "Will not fit",
}
_RANK = {FitLevel.GPU_FULL: 3, FitLevel.GPU_PARTIAL: 2, FitLevel.CPU_ONLY: 1, FitLevel.NO_FIT: 0}


@dataclass(frozen=True)
class FitEstimate:
    level: FitLevel
    needed_bytes: int
    weights_bytes: int
    kv_bytes: int
    overhead_bytes: int
    gpu_layers_fraction: float  # 1.0 all on the GPU, 0.0 none
    label: str
    detail: str  # one plain sentence with numbers
    speed: SpeedEstimate | None = None  # decode speed here, when it fits
    projector_bytes: int = 0  # a vision model's projector (mmproj), loaded beside the weights

    @property
    def fits(self) -> bool:
        return self.level is not FitLevel.NO_FIT

    @property
    def label_short(self) -> str:
        """"CPU only · 15 words a second", for narrow table cells."""
        if self.speed is None or not self.fits:
            return self.label
        return f"{self.label} · {self.speed.label.removeprefix('about ')}"

    @property
    def label_with_speed(self) -> str:
        """"CPU only, about 15 words a second"; the fit label alone when it will not fit."""
        return f"{self.label}, {self.speed.label}" if self.speed is not None and self.fits else self.label


def usable_ram(hw: HardwareInfo) -> int:
    """RAM a model may take: total less a reserve for the OS and other programs."""
    total = hw.ram_total_bytes
    return max(0, total - max(OS_RESERVE_MIN, int(total * OS_RESERVE_SHARE)))


def gpu_budget(hw: HardwareInfo) -> tuple[str, int] | None:
    """(what, bytes) the GPU can hold for llama.cpp, or None when no GPU can be used."""
    if not hw.llama_gpu_offload:
        return None
    if hw.apple_silicon:
        return "unified memory the GPU may use", int(hw.ram_total_bytes * APPLE_GPU_SHARE)
    free = sum(g.vram_free_bytes for g in hw.gpus)
    return ("free VRAM", free) if free > 0 else None


def _gb(n: int | float) -> str:
    return format_bytes(n)


def estimate_fit_bytes(
    weights_bytes: int,
    n_layers: int | None,
    hw: HardwareInfo,
    context_length: int,
    kv_bytes_per_token: int | None = None,
    kv_cache_type: str = "f16",
    *,
    active_share: float = 1.0,
    cpu_bps: float | None = None,
    calibration: Calibration | None = None,
    projector_bytes: int = 0,
) -> FitEstimate:
    """How a model of this size runs here, and how fast; for Hub files and installed files too.
    `kv_cache_type`: the model's KV cache setting (q8_0 / q4_0 take less memory).
    `projector_bytes`: a vision model's projector, in memory beside the weights (decoding
    never reads it, so the speed is the weights')."""
    fit = _fit_bytes(weights_bytes, n_layers, hw, context_length, kv_bytes_per_token, kv_cache_type, projector_bytes)
    if not fit.fits:
        return fit
    kv_per_token = fit.kv_bytes // max(1, context_length)  # after a quantized cache's saving
    speed = estimate_speed(weights_bytes, hw, active_share=active_share, kv_bytes_per_token=kv_per_token,
                           context_tokens=context_length, gpu_share=fit.gpu_layers_fraction, cpu_bps=cpu_bps,
                           calibration=calibration)
    how = "measured from earlier answers here" if speed.calibrated else "estimated from this computer's memory speed"
    return replace(fit, speed=speed, detail=f"{fit.detail} It should answer at {speed.label} "
                   f"({speed.tokens_per_s:.0f} tokens/s on the {speed.where}, {how}).")


def _fit_bytes(
    weights_bytes: int,
    n_layers: int | None,
    hw: HardwareInfo,
    context_length: int,
    kv_bytes_per_token: int | None = None,
    kv_cache_type: str = "f16",
    projector_bytes: int = 0,
) -> FitEstimate:
    layers = n_layers or 0
    loaded = weights_bytes + projector_bytes  # the projector is in memory as the weights are
    needed = estimate_memory(loaded, layers, context_length, kv_bytes_per_token)
    # hardware.estimate_memory is (weights + kv) * 1.1 + fixed; without the KV size per
    # token, recover the part its own guess gave (overhead takes the rounding)
    if kv_bytes_per_token is not None:
        kv = context_length * kv_bytes_per_token
    else:
        kv = round((needed - estimate_memory(loaded, layers, 0, None)) / 1.1)
    saved = kv - kv_bytes(kv, kv_cache_type)
    needed, kv = needed - round(saved * 1.1), kv - saved
    overhead = needed - loaded - kv
    ctx = f"{context_length:,} tokens of context"
    if projector_bytes:  # each picture it reads takes its image tokens out of that context
        ctx += f", pictures included; {_gb(projector_bytes)} for the vision projector"
    need = f"Needs about {_gb(needed)} ({_gb(weights_bytes)} of weights, {_gb(kv)} for {ctx}"
    need += f"; the {kv_cache_type} KV cache saves {_gb(saved)})" if saved > 0 else ")"
    ram = usable_ram(hw)
    budget = gpu_budget(hw)

    def est(level: FitLevel, share: float, detail: str) -> FitEstimate:
        return FitEstimate(level, needed, weights_bytes, kv, overhead, share, LABELS[level], detail,
                           projector_bytes=projector_bytes)

    def cpu_or_none(why: str) -> FitEstimate:
        if needed <= ram:
            return est(FitLevel.CPU_ONLY, 0.0, f"{need}; {why}, so it runs on the CPU from the "
                       f"{_gb(hw.ram_total_bytes)} of RAM.")
        have = f"{_gb(hw.ram_total_bytes)} of memory ({_gb(ram)} usable beside the system)"
        if budget and not hw.apple_silicon:
            have += f" and {_gb(budget[1])} of free VRAM"
        return est(FitLevel.NO_FIT, 0.0, f"{need}, but this computer has only {have}.")

    if budget is None:
        why = "no GPU that llama.cpp can use was found"
        if hw.gpus and not hw.llama_gpu_offload:
            why = f"this llama.cpp build cannot use the {hw.gpus[0].name}"
        elif hw.apple_silicon:
            why = "this llama.cpp build cannot use the Apple GPU (no Metal)"
        return cpu_or_none(why)
    what, vram = budget
    if needed <= vram:
        return est(FitLevel.GPU_FULL, 1.0, f"{need}; {_gb(vram)} of {what} holds all of it, so it runs fast.")
    if hw.apple_silicon:  # one memory: beyond the GPU's share the CPU runs the rest of the layers
        if needed <= ram:
            share = max(0.0, (vram - OVERHEAD_FIXED) / (needed - OVERHEAD_FIXED))
            return est(FitLevel.GPU_PARTIAL, share, f"{need}; the GPU may use only {_gb(vram)} of the "
                       f"{_gb(hw.ram_total_bytes)} of memory, so the CPU runs the rest, more slowly.")
        return cpu_or_none("it is more than the GPU may use")
    # NVIDIA: each offloaded layer takes its share of the weights and KV cache to the GPU;
    # the compute buffers there are a fixed cost (as in hardware.plan)
    movable = needed - OVERHEAD_FIXED
    share = min(1.0, max(0.0, (vram - OVERHEAD_FIXED) / movable))
    n_gpu = int(share * layers)
    if layers:
        share = n_gpu / layers  # whole layers only
    rest = int(movable * (1 - share))
    if share > 0 and rest <= ram and (share >= MIN_USEFUL_GPU_SHARE or needed > ram):
        on_gpu = f"{n_gpu} of {layers} layers" if layers else f"about {share:.0%} of the model"
        return est(FitLevel.GPU_PARTIAL, share, f"{need}; {_gb(vram)} of {what} holds {on_gpu}, the rest "
                   f"({_gb(rest)}) runs from RAM on the CPU, so answers come slower than fully on the GPU.")
    return cpu_or_none(f"only {_gb(vram)} of VRAM is free, too little to help much")


def estimate_fit(entry: CatalogEntry, file: CatalogFile, hw: HardwareInfo, context_length: int = 4096, *,
                 cpu_bps: float | None = None, calibration: Calibration | None = None) -> FitEstimate:
    """How this catalog file runs here at `context_length` (clamped to the model's window)."""
    ctx = max(1, min(context_length, entry.context_length))
    projector = entry.projector.size_bytes if entry.reads_pictures and entry.projector is not None else 0
    fit = estimate_fit_bytes(file.size_bytes, entry.n_layers, hw, ctx, entry.kv_bytes_per_token, projector_bytes=projector,
                             active_share=entry.active_b / entry.params_b, cpu_bps=cpu_bps, calibration=calibration)
    if entry.is_moe and fit.fits:
        # every expert must be loaded, but each token only runs through the active ones
        fit = replace(fit, detail=fit.detail + (
            f" It is a mixture of experts: all {entry.params_b:g}B parameters must be in memory, but only "
            f"{entry.active_params_b:g}B work on each word, so it runs about as fast as a "
            f"{entry.active_params_b:g}B model."))
    return fit


def _comfortable(fit: FitEstimate, hw: HardwareInfo) -> bool:
    """Fits with headroom for other apps."""
    ram_ok = COMFORT_RAM_SHARE * hw.ram_total_bytes
    if fit.level is FitLevel.GPU_FULL:
        budget = gpu_budget(hw)
        return budget is not None and fit.needed_bytes <= COMFORT_VRAM_SHARE * budget[1]
    if fit.level is FitLevel.GPU_PARTIAL:
        rest = (fit.needed_bytes - OVERHEAD_FIXED) * (1 - fit.gpu_layers_fraction)
        return fit.gpu_layers_fraction >= COMFORT_PARTIAL_SHARE and rest <= ram_ok
    if fit.level is FitLevel.CPU_ONLY:
        return fit.needed_bytes <= ram_ok
    return False


def quality(entry: CatalogEntry) -> float:
    """A rough size-for-quality score: a mixture of experts is worth about the geometric
    mean of its total and active parameters."""
    return math.sqrt(entry.params_b * entry.active_b)


def recommend(
    entries: list[CatalogEntry], hw: HardwareInfo, context_length: int = 4096, *,
    cpu_bps: float | None = None, calibration: Calibration | None = None,
) -> tuple[CatalogEntry, CatalogFile, FitEstimate] | None:
    """The best default model for this machine, or None when nothing fits comfortably.

    Only models that fit with headroom and answer at a comfortable speed (COMFORTABLE_TPS)
    are candidates; when none is that fast, the fastest one is. Among them: when even the
    quickest is slow (SLOW_TPS), one that does not think out loud; then one whole on the GPU
    (not split with the CPU); then one marked good for a first model, then a permissive
    licence, then the largest (by `quality`).
    """
    pool: list[tuple[CatalogEntry, CatalogFile, FitEstimate]] = []
    for entry in entries:
        file = entry.default_file()
        fit = estimate_fit(entry, file, hw, context_length, cpu_bps=cpu_bps, calibration=calibration)
        if fit.speed is not None and _comfortable(fit, hw):
            pool.append((entry, file, fit))
    if not pool:
        return None

    def tps(c: tuple[CatalogEntry, CatalogFile, FitEstimate]) -> float:
        return c[2].speed.tokens_per_s if c[2].speed else 0.0

    fast = [c for c in pool if tps(c) >= COMFORTABLE_TPS]
    if not fast:  # nothing is comfortable: the quickest, preferring one that answers straight away
        return max(pool, key=lambda c: (c[0].reasoning == "no", tps(c)))

    slow = max(tps(c) for c in fast) < SLOW_TPS  # even the quickest answers at a slow pace here

    def key(c: tuple[CatalogEntry, CatalogFile, FitEstimate]) -> tuple[int, bool, bool, bool, float]:
        e = c[0]
        # on a slow machine thinking out loud is a long wait: answers straight away first, then
        # models whose thinking can be switched off, then the ones that always think
        plain = {"no": 2, "switchable": 1}.get(e.reasoning, 0) if slow else 2
        # a model whole on the GPU before one split with the CPU (a vision model's projector
        # counts: Qwen3.5 9B and its 0.9 GB projector do not fit an 8 GB card whole)
        whole = c[2].level is not FitLevel.GPU_PARTIAL
        return plain, whole, e.good_first, not e.restrictive, quality(e)

    return max(fast, key=key)
