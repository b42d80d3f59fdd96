"""How fast will a model answer here? Decode speed estimated before the download.

Decoding one token reads every active weight once, plus the KV cache written so far, so
it is bound by memory bandwidth:

    seconds per token = bytes on the CPU / CPU bandwidth + bytes on the GPU / GPU bandwidth

Bytes per token = the file size times the share of parameters a token uses (all for a
dense model, the active ones for a mixture of experts: active params x bits per weight),
plus the KV cache at the chosen context. The CPU bandwidth is measured once (a few
threads summing large arrays, best of several, well under a second); the GPU's comes
from a table of cards by name (nvidia-smi does not report it). A partial offload splits
the bytes by the share of layers on the GPU.

llama.cpp reaches only part of the measured bandwidth, and on a busy machine much less;
after an answer the engine's own decode speed calibrates the estimate: the ratio of
measured to estimated speed is kept per machine (`calibration.json` in the data folder)
and applied to every later estimate.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.hardware import HardwareInfo

log = logging.getLogger(__name__)

WORDS_PER_TOKEN = 0.75  # English text: about 3 words in 4 tokens
COMFORTABLE_TPS = 10.0  # reading speed and a bit: slower feels like waiting
CPU_EFFICIENCY = 0.7  # the share of measured bandwidth llama.cpp's CPU kernels reach (uncalibrated)
# With few cores the CPU's arithmetic, not its memory, sets the pace: one modern x86 or Arm
# core turns about 6 GB/s of 4-bit weights into dot products (public llama.cpp figures: a 7B
# Q4 model, 3.8 GB, decodes at about 1.5-2 tokens/s on one thread). Many-core desktops stay
# memory-bound; a 2-core laptop or VM does not.
CPU_CORE_BPS = 6.0 * 1e9
GPU_EFFICIENCY = 0.7  # the same for a GPU's spec-sheet bandwidth
FALLBACK_CPU_GBPS = 10.0  # when the measurement fails
FALLBACK_GPU_GBPS = 300.0  # an NVIDIA card missing from the table
FALLBACK_APPLE_GBPS = 100.0  # an Apple chip missing from the table: the base M2/M3
GB = 1e9
MIN_FACTOR = 0.005  # a calibration below this is a measurement gone wrong (a machine 200x busier)

# spec-sheet memory bandwidth in GB/s; first match wins, so longer names come first
GPU_BANDWIDTH_GBPS: tuple[tuple[str, float], ...] = (
    ("H200", 4800), ("H100 PCIe", 2000), ("H100", 3350), ("GH200", 4000), ("B200", 8000), ("GB10", 273),
    ("A100-SXM4-80GB", 2039), ("A100 80GB PCIe", 1935), ("A100", 1555), ("A10G", 600), ("A10", 600),
    ("L40S", 864), ("L40", 864), ("L4", 300), ("T4", 320), ("V100", 900), ("A6000", 768), ("A5000", 768),
    ("A4000", 448), ("RTX 6000 Ada", 960),
    ("RTX 5090", 1792), ("RTX 5080", 960), ("RTX 5070 Ti", 896), ("RTX 5070", 672), ("RTX 5060 Ti", 448),
    ("RTX 5060", 448),
    ("RTX 4090 Laptop", 576), ("RTX 4090", 1008), ("RTX 4080 Laptop", 432), ("RTX 4080", 717),
    ("RTX 4070 Ti", 504), ("RTX 4070 Laptop", 256), ("RTX 4070", 504), ("RTX 4060 Ti", 288),
    ("RTX 4060 Laptop", 256), ("RTX 4060", 272), ("RTX 4050", 192),
    ("RTX 3090 Ti", 1008), ("RTX 3090", 936), ("RTX 3080 Ti", 912), ("RTX 3080 Laptop", 448), ("RTX 3080", 760),
    ("RTX 3070 Ti", 608), ("RTX 3070 Laptop", 448), ("RTX 3070", 448), ("RTX 3060 Ti", 448),
    ("RTX 3060 Laptop", 336), ("RTX 3060", 360), ("RTX 3050", 224),
    ("RTX 2080 Ti", 616), ("RTX 2080", 448), ("RTX 2070", 448), ("RTX 2060", 336), ("GTX 1660", 192),
    ("GTX 1080 Ti", 484), ("GTX 1080", 320), ("GTX 1070", 256), ("GTX 1060", 192),
)
# Apple unified memory by chip (the base chips of each generation last)
APPLE_BANDWIDTH_GBPS: tuple[tuple[str, float], ...] = (
    ("M1 Ultra", 800), ("M2 Ultra", 800), ("M3 Ultra", 819), ("M1 Max", 400), ("M2 Max", 400), ("M3 Max", 400),
    ("M4 Max", 546), ("M1 Pro", 200), ("M2 Pro", 200), ("M3 Pro", 150), ("M4 Pro", 273),
    ("M1", 68), ("M2", 100), ("M3", 100), ("M4", 120), ("M5", 153),
)


def gpu_bandwidth(name: str) -> float:
    """Spec bandwidth in bytes/s of an NVIDIA card named as nvidia-smi names it."""
    for key, gbps in GPU_BANDWIDTH_GBPS:
        if key.lower() in name.lower():
            return gbps * GB
    return FALLBACK_GPU_GBPS * GB


def apple_bandwidth(cpu_name: str) -> float | None:
    for key, gbps in APPLE_BANDWIDTH_GBPS:
        if re.search(rf"\b{re.escape(key)}\b", cpu_name):
            return gbps * GB
    return None


# ---------------------------------------------------------------- measuring the CPU side

_measured: float | None = None
_measure_lock = threading.Lock()


def measure_cpu_bandwidth(threads: int = 0, size_mb: int = 64, repeats: int = 4) -> float:
    """Memory read bandwidth in bytes/s: `threads` threads each summing its own array
    (numpy releases the GIL), best of `repeats`. About 0.1-0.3 s; off the GUI thread."""
    threads = threads or max(1, min(os.cpu_count() or 1, 4))
    try:
        import numpy as np
    except ImportError:  # llama-cpp-python needs numpy, so this is only a safety net
        return _measure_bytes(size_mb, repeats)
    arrays = [np.ones(size_mb * 2**20 // 8) for _ in range(threads)]
    best = float("inf")
    for _ in range(repeats):
        start = threading.Barrier(threads + 1)
        workers = [threading.Thread(target=lambda a=a: (start.wait(), a.sum()), daemon=True) for a in arrays]
        for w in workers:
            w.start()
        start.wait()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - t0)
    return sum(a.nbytes for a in arrays) / best if best > 0 else FALLBACK_CPU_GBPS * GB


def _measure_bytes(size_mb: int, repeats: int) -> float:
    src = bytearray(size_mb * 2**20)
    dst = bytearray(len(src))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst[:] = memoryview(src)
        best = min(best, time.perf_counter() - t0)
    return 2 * len(src) / best if best > 0 else FALLBACK_CPU_GBPS * GB  # a copy reads and writes


def cpu_bandwidth(refresh: bool = False) -> float:
    """This machine's measured CPU bandwidth, measured once per process."""
    global _measured
    with _measure_lock:
        if _measured is None or refresh:
            try:
                _measured = measure_cpu_bandwidth()
            except (MemoryError, OSError, RuntimeError) as exc:
                log.warning("speed: bandwidth measurement failed (%s); assuming %g GB/s", exc, FALLBACK_CPU_GBPS)
                _measured = FALLBACK_CPU_GBPS * GB
        return _measured


# ---------------------------------------------------------------- calibration per machine

def machine_key(hw: HardwareInfo) -> str:
    gpus = "+".join(g.name for g in hw.gpus)
    return f"{hw.cpu_name or hw.cpu_arch}|{hw.physical_cores}c|{round(hw.ram_total_bytes / 2**30)}G|{gpus}"


@dataclass
class Calibration:
    """measured / estimated decode speed on one machine (1.0: not calibrated yet)."""

    factor: float = 1.0
    samples: int = 0

    def apply(self, tps: float) -> float:
        return tps * self.factor


def calibration_path(data_dir: Path) -> Path:
    return Path(data_dir) / "speed_calibration.json"


def load_calibration(data_dir: Path, hw: HardwareInfo) -> Calibration:
    try:
        data = json.loads(calibration_path(data_dir).read_text(encoding="utf-8"))
        entry = data.get(machine_key(hw)) or {}
        factor, samples = float(entry.get("factor", 1.0)), int(entry.get("samples", 0))
    except (OSError, ValueError, TypeError, AttributeError):
        return Calibration()
    return Calibration(min(max(factor, MIN_FACTOR), 10.0), samples) if samples > 0 else Calibration()


def record_measurement(data_dir: Path, hw: HardwareInfo, estimated_tps: float, measured_tps: float) -> Calibration:
    """Fold one answer's decode speed into this machine's factor (a running mean of the
    last few ratios) and save it. Answers of under a few tokens are too noisy: skip them."""
    current = load_calibration(data_dir, hw)
    if estimated_tps <= 0 or measured_tps <= 0:
        return current
    ratio = measured_tps / estimated_tps
    n = min(current.samples, 4)  # recent answers count most: the machine's load changes
    factor = (current.factor * n + ratio) / (n + 1)
    new = Calibration(min(max(factor, MIN_FACTOR), 10.0), current.samples + 1)
    path = calibration_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[machine_key(hw)] = {"factor": round(new.factor, 4), "samples": new.samples}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("speed: could not save the calibration (%s)", exc)
    return new


# ---------------------------------------------------------------- the estimate

@dataclass(frozen=True)
class SpeedEstimate:
    tokens_per_s: float
    bytes_per_token: int
    where: str  # "CPU", "GPU", "GPU and CPU"
    calibrated: bool

    @property
    def words_per_s(self) -> float:
        return self.tokens_per_s * WORDS_PER_TOKEN

    @property
    def comfortable(self) -> bool:
        return self.tokens_per_s >= COMFORTABLE_TPS

    @property
    def label(self) -> str:
        return speed_words(self.tokens_per_s)


def speed_words(tokens_per_s: float) -> str:
    """"about 15 words a second" in plain words."""
    words = tokens_per_s * WORDS_PER_TOKEN
    if words < 0.75:
        return f"about one word every {1 / words:.0f} seconds" if words > 0 else "no words at all"
    if words < 1.5:
        return "about one word a second"
    rounded = round(words) if words < 20 else int(round(words, -1))
    return f"about {rounded} words a second"


def bytes_per_token(weights_bytes: int, active_share: float, kv_bytes_per_token: int, context_tokens: int) -> int:
    return int(weights_bytes * active_share) + kv_bytes_per_token * max(0, context_tokens)


def estimate_speed(
    weights_bytes: int,
    hw: HardwareInfo,
    *,
    active_share: float = 1.0,
    kv_bytes_per_token: int = 0,
    context_tokens: int = 0,
    gpu_share: float = 0.0,
    cpu_bps: float | None = None,
    calibration: Calibration | None = None,
) -> SpeedEstimate:
    """Decode tokens/s for a model of `weights_bytes` (the file), `gpu_share` of its layers on the GPU."""
    per_token = bytes_per_token(weights_bytes, active_share, kv_bytes_per_token, context_tokens)
    cpu = min((cpu_bps or cpu_bandwidth()) * CPU_EFFICIENCY, max(1, hw.physical_cores) * CPU_CORE_BPS)
    gpu = _gpu_bps(hw) * GPU_EFFICIENCY if gpu_share > 0 else 0.0
    if gpu_share > 0 and gpu > 0:
        seconds = per_token * gpu_share / gpu + per_token * (1 - gpu_share) / cpu
        where = "GPU" if gpu_share >= 1 else "GPU and CPU"
    else:
        seconds, where = per_token / cpu, "CPU"
    tps = 1 / seconds if seconds > 0 else 0.0
    cal = calibration or Calibration()
    return SpeedEstimate(cal.apply(tps), per_token, where, cal.samples > 0)


def _gpu_bps(hw: HardwareInfo) -> float:
    if hw.apple_silicon:
        return apple_bandwidth(hw.cpu_name) or FALLBACK_APPLE_GBPS * GB
    if not hw.gpus:
        return 0.0
    return min(gpu_bandwidth(g.name) for g in hw.gpus)  # layers split across cards: the slowest paces it


def learn_from_answer(data_dir: Path, hw: HardwareInfo, model_path: Path, decode_tps: float,
                      completion_tokens: int, context_tokens: int) -> Calibration | None:
    """After an answer on the CPU: fold its decode speed into this machine's calibration.

    The estimate is made as for the library (the file's bytes, the active share and KV
    cache of its catalog entry when the download came from the catalog). Answers of
    fewer than MIN_CALIBRATION_TOKENS are too short to time.
    """
    if completion_tokens < MIN_CALIBRATION_TOKENS or decode_tps <= 0:
        return None
    try:
        size = sum(p.stat().st_size for p in _model_files(Path(model_path)))
    except OSError:
        return None
    share, kv = 1.0, 0
    entry = _catalog_entry(Path(model_path))
    if entry is not None:
        share, kv = entry.active_b / entry.params_b, entry.kv_bytes_per_token or 0
    est = estimate_speed(size, hw, active_share=share, kv_bytes_per_token=kv, context_tokens=context_tokens)
    return record_measurement(data_dir, hw, est.tokens_per_s, decode_tps)


MIN_CALIBRATION_TOKENS = 16


def _model_files(path: Path) -> list[Path]:
    from assistant.core.gguf_meta import SHARD_RE

    if SHARD_RE.search(path.name):  # every shard of a split model
        stem = SHARD_RE.sub("", path.name)
        return [p for p in path.parent.iterdir() if SHARD_RE.sub("", p.name) == stem]
    return [path]


def _catalog_entry(path: Path):  # type: ignore[no-untyped-def]
    from assistant.library.catalog import load_catalog
    from assistant.library.manifest import read_manifest

    m = read_manifest(path.parent)
    if m is None or not m.catalog_id:
        return None
    try:
        return next((e for e in load_catalog() if e.id == m.catalog_id), None)
    except Exception:  # noqa: BLE001 - a broken catalog must not break an answer
        return None
