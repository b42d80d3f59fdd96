"""What this computer can run, and how: OS, CPU, RAM, Apple Silicon, NVIDIA VRAM.

`detect()` looks (cached, never raises, never touches the network); `plan()` turns a
model and that picture into an engine, a backend and a number of GPU layers with a
plain-language reason; `gpu_offload_diagnosis()` explains why a GPU goes unused.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from assistant.core.gguf_meta import read_gguf
from assistant.core.types import ModelRef
from assistant.core.units import format_bytes
from assistant.errors import EngineUnavailableError, ModelError

MiB = 1024**2
OVERHEAD_FIXED = 300 * MiB  # compute buffers and scratch space, on top of 10%
APPLE_GPU_SHARE = 0.7  # macOS lets the GPU wire about this share of unified memory
GPU_BACKENDS = ("CUDA", "ROCm", "Metal", "Vulkan", "SYCL")
ROSETTA_NOTE = "Python runs under Rosetta (x86_64) on an Apple Silicon Mac: use an arm64 Python for Metal and MLX."


@dataclass
class GpuInfo:
    name: str
    vram_total_bytes: int
    vram_free_bytes: int
    driver_version: str = ""
    cuda_version: str = ""


@dataclass
class HardwareInfo:
    os_name: str  # Linux, macOS, Windows
    os_version: str = ""
    cpu_arch: str = "x86_64"  # x86_64, arm64, ...
    cpu_name: str = ""
    physical_cores: int = 1
    logical_cores: int = 1
    ram_total_bytes: int = 0
    ram_available_bytes: int = 0
    apple_silicon: bool = False
    gpus: list[GpuInfo] = field(default_factory=list)
    llama_gpu_offload: bool = False
    llama_backend: str = "CPU"  # CUDA, Metal, Vulkan, ..., CPU; "none" when llama.cpp is missing
    mlx_available: bool = False
    nvcc_path: str | None = None
    nvidia_driver: bool = False  # a driver is present, even when nvidia-smi did not answer
    rosetta: bool = False  # x86_64 Python on an Apple Silicon Mac
    notes: list[str] = field(default_factory=list)


@dataclass
class RunPlan:
    engine: str  # llama.cpp, mlx
    backend: str  # CUDA, Metal, CPU, MLX
    n_gpu_layers: int  # 0 none, -1 all, N partial
    n_threads: int
    reason: str
    fits_in_memory: bool
    memory_needed_bytes: int
    n_layers: int | None = None


# ---------------------------------------------------------------- detection

def _run(cmd: list[str], timeout: float = 2.0) -> str | None:
    """stdout of a local command, or None on any failure (missing, hung, non-zero)."""
    # no console window flashing up from a windowed app on Windows
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, creationflags=flags)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return res.stdout if res.returncode == 0 else None


def _os_version(os_name: str) -> str:
    if os_name == "macOS":
        return platform.mac_ver()[0]
    if os_name == "Linux":
        try:
            return f"{platform.freedesktop_os_release()['PRETTY_NAME']} (kernel {platform.release()})"
        except (OSError, KeyError):
            pass
    return platform.version() or platform.release()


def _cpu_name(os_name: str) -> str:
    if os_name == "Linux":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith(("model name", "Model")):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
    elif os_name == "macOS":
        out = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if out:
            return out.strip()
    return platform.processor()


def _nvidia(notes: list[str]) -> tuple[list[GpuInfo], bool]:
    """NVIDIA GPUs from nvidia-smi, and whether a driver is present at all."""
    smi = shutil.which("nvidia-smi")
    proc_driver = Path("/proc/driver/nvidia/version").exists()
    out = _run([smi, "--query-gpu=name,memory.total,memory.free,driver_version",
                "--format=csv,noheader,nounits"]) if smi else None
    if out is None:
        if proc_driver:
            why = "is not installed" if not smi else "did not answer"
            notes.append(f"An NVIDIA driver is loaded but nvidia-smi {why}, so the GPU's VRAM is unknown.")
        return [], proc_driver
    header = (_run([smi]) if smi else None) or ""  # only the full table shows the CUDA version the driver supports
    m = re.search(r"CUDA Version:\s*([\d.]+)", header)
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            continue
        try:
            total, free = int(float(parts[1])) * MiB, int(float(parts[2])) * MiB
        except ValueError:  # "[N/A]" on GPUs that share system memory
            total = free = 0
            notes.append(f"nvidia-smi does not report the memory of the {parts[0]}.")
        gpus.append(GpuInfo(parts[0], total, free, parts[3], m.group(1) if m else ""))
    return gpus, True


def _llama(notes: list[str]) -> tuple[bool, str]:
    try:
        import llama_cpp

        from assistant.core import ggml_backends

        ggml_backends.ensure_loaded(llama_cpp)  # before llama.cpp's first look for them
        offload = bool(llama_cpp.llama_supports_gpu_offload())
        info = llama_cpp.llama_print_system_info()
    except ImportError:
        notes.append("llama-cpp-python is not installed, so GGUF models cannot run.")
        return False, "none"
    except Exception as exc:  # a CUDA build without its runtime fails here with OSError/RuntimeError
        notes.append(f"llama-cpp-python failed to load ({type(exc).__name__}: {exc}).")
        return False, "none"
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    for name in GPU_BACKENDS:
        if re.search(rf"\b{name}\b", text, re.IGNORECASE):
            return offload, name
    return offload, "CPU"


def _detect() -> HardwareInfo:
    notes: list[str] = []
    os_name = {"Darwin": "macOS"}.get(platform.system(), platform.system())
    machine = platform.machine().lower()
    cpu_arch = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    rosetta = os_name == "macOS" and (_run(["sysctl", "-n", "sysctl.proc_translated"]) or "").strip() == "1"
    if rosetta:
        notes.append(ROSETTA_NOTE)
    apple_silicon = os_name == "macOS" and cpu_arch == "arm64"
    logical = psutil.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    vm = psutil.virtual_memory()
    gpus, driver = _nvidia(notes) if os_name != "macOS" else ([], False)
    offload, backend = _llama(notes)
    try:
        has_mlx = importlib.util.find_spec("mlx_lm") is not None
    except (ImportError, ValueError):
        has_mlx = False
    return HardwareInfo(
        os_name=os_name, os_version=_os_version(os_name), cpu_arch=cpu_arch, cpu_name=_cpu_name(os_name),
        physical_cores=physical, logical_cores=logical,
        ram_total_bytes=vm.total, ram_available_bytes=vm.available,
        apple_silicon=apple_silicon, gpus=gpus, llama_gpu_offload=offload, llama_backend=backend,
        mlx_available=has_mlx and apple_silicon, nvcc_path=shutil.which("nvcc"),
        nvidia_driver=driver, rosetta=rosetta, notes=notes,
    )


_lock = threading.Lock()
_cached: HardwareInfo | None = None


def detect(refresh: bool = False) -> HardwareInfo:
    """This machine, looked at once per process (nvidia-smi can take a second)."""
    global _cached
    with _lock:
        if _cached is None or refresh:
            _cached = _detect()
        return _cached


# ---------------------------------------------------------------- GGUF layers

def gguf_layer_count(path: Path | str) -> int | None:
    """`{arch}.block_count` from a GGUF header, or None when it cannot be read."""

    try:
        n = read_gguf(Path(path)).block_count
    except (ModelError, OSError):
        return None
    return n if n and n > 0 else None


# ---------------------------------------------------------------- planning

def estimate_memory(model_bytes: int, n_layers: int, n_ctx: int, kv_bytes_per_token: int | None) -> int:
    """Weights + KV cache + 10% + 300 MB.

    Without the KV size per token, guess it from the file: parameters ~ bytes / 0.6
    (about 4.8 bits each, Q4_K_M), hidden size d ~ sqrt(params / (12 * layers)) for a
    standard transformer, and grouped-query attention keeping K and V at a quarter of
    d in f16: 2 * layers * d/4 * 2 bytes = layers * d. That is within 1.5x of Llama 3,
    Qwen 2.5 and Gemma 3 and errs high, which is the safe side for "does it fit".
    """
    if kv_bytes_per_token is None:
        params = model_bytes / 0.6
        if n_layers > 0:
            kv_bytes_per_token = int(n_layers * (params / (12 * n_layers)) ** 0.5)
        else:
            kv_bytes_per_token = int(model_bytes / 25_000)  # the same formula for a 32-layer model, roughly
    base = model_bytes + n_ctx * kv_bytes_per_token
    return int(base * 1.1) + OVERHEAD_FIXED


def _model_bytes(model: ModelRef) -> int:
    p = Path(model.path)
    try:
        if p.is_dir():  # an MLX folder: the weights are what counts
            return sum(f.stat().st_size for f in p.glob("*.safetensors"))
        shard = re.match(r"(.*)-\d{5}-of-(\d{5})\.gguf$", p.name)
        if shard:  # a split GGUF loads all its parts
            return sum(f.stat().st_size for f in p.parent.glob(f"{shard.group(1)}-*-of-{shard.group(2)}.gguf"))
        return p.stat().st_size
    except OSError:
        return 0


def _gpu_budget(hw: HardwareInfo) -> tuple[str, int] | None:
    """(device name, usable VRAM) of the GPU llama.cpp will use, or None when unknown."""
    if hw.llama_backend != "Metal" and any(g.vram_total_bytes for g in hw.gpus):
        # the NVIDIA cards nvidia-smi saw (CUDA, or Vulkan on them); llama.cpp splits layers across all
        return " + ".join(g.name for g in hw.gpus), sum(g.vram_free_bytes for g in hw.gpus)
    if hw.apple_silicon and hw.llama_backend in ("Metal", "CPU"):
        return "Apple Silicon GPU", int(hw.ram_total_bytes * APPLE_GPU_SHARE)
    return None


def _memory(need: int, free: int, kind: str = "memory") -> tuple[bool, str]:
    """Whether `need` fits in `free`, and the end of the reason sentence saying so."""
    if need <= free:
        return True, f"the model needs {format_bytes(need)} and {format_bytes(free)} of {kind} is free."
    return False, (f"the model needs {format_bytes(need)} but only {format_bytes(free)} of {kind} is free, "
                   "so it may swap or fail to load.")


def plan(
    model: ModelRef,
    hw: HardwareInfo,
    n_ctx: int = 4096,
    n_gpu_layers_setting: int = -1,
    n_layers: int | None = None,
    vram_limit_bytes: int | None = None,
    model_bytes: int | None = None,
) -> RunPlan:
    """Which engine, backend and GPU layers for this model; `model_bytes` plans before a download."""
    size = model_bytes if model_bytes is not None else _model_bytes(model)
    threads = max(1, hw.physical_cores)  # llama.cpp runs best on physical cores
    if model.format == "mlx":
        if not hw.apple_silicon:
            raise EngineUnavailableError("MLX models run only on Apple Silicon Macs.",
                                         "Use a GGUF version of this model instead; it runs here with llama.cpp.")
        if not hw.mlx_available:
            raise EngineUnavailableError("MLX is not installed, so this MLX model cannot run.",
                                         "Install mlx-lm, or use a GGUF version of the model.")
        need = estimate_memory(size, n_layers or 0, n_ctx, None)
        fits, tail = _memory(need, hw.ram_available_bytes)
        return RunPlan("mlx", "MLX", -1, threads, f"MLX on Apple Silicon: {tail}", fits, need, n_layers)

    if n_layers is None:
        n_layers = gguf_layer_count(model.path)
    need = estimate_memory(size, n_layers or 0, n_ctx, None)
    ram = hw.ram_available_bytes

    def cpu(why: str) -> RunPlan:
        fits, tail = _memory(need, ram)
        return RunPlan("llama.cpp", "CPU", 0, threads, f"CPU only ({threads} threads): {why}; {tail}", fits, need, n_layers)

    if not hw.llama_gpu_offload:
        if hw.llama_backend == "none":
            return cpu("llama-cpp-python is missing or failed to load (see `assistant doctor`)")
        if hw.gpus or hw.nvidia_driver:
            gpu = hw.gpus[0].name if hw.gpus else "NVIDIA GPU"
            return cpu(f"this llama-cpp-python was built without CUDA, so the {gpu} is not used (see `assistant doctor`)")
        return cpu("this llama-cpp-python was built without GPU support")
    if n_gpu_layers_setting == 0:
        return cpu("GPU offload is turned off in settings")
    budget = _gpu_budget(hw)
    backend = hw.llama_backend if hw.llama_backend in GPU_BACKENDS else ("Metal" if hw.apple_silicon else "CUDA")
    name, vram = budget if budget else ("GPU", 0)
    if vram_limit_bytes is not None:
        vram = min(vram, vram_limit_bytes) if budget else vram_limit_bytes
    if n_gpu_layers_setting > 0:
        n = n_gpu_layers_setting if n_layers is None else min(n_gpu_layers_setting, n_layers)
        fits = need <= ram + vram
        return RunPlan("llama.cpp", backend, n, threads, f"{n} layers on the {name} ({backend}), as set in settings; "
                       f"the model needs {format_bytes(need)}.", fits, need, n_layers)
    if budget is None and vram_limit_bytes is None:
        return cpu(f"this build can use the GPU ({backend}) but its free memory is unknown; "
                   "set the number of GPU layers in settings to use it")
    if need <= vram:
        layers = f"{n_layers} layers" if n_layers else "layers"
        return RunPlan("llama.cpp", backend, -1, threads, f"All {layers} on the {name} ({backend}): "
                       + _memory(need, vram, "memory the GPU may use" if hw.apple_silicon else "VRAM")[1],
                       True, need, n_layers)
    # Partial: each offloaded layer takes its share of the weights and KV cache to the
    # GPU; the compute buffers there are a fixed cost.
    total = n_layers or 32  # unknown depth: assume a typical 7-8B model's
    per_layer = (need - OVERHEAD_FIXED) / total
    n = min(total - 1, int((vram - OVERHEAD_FIXED) // per_layer)) if per_layer > 0 else 0
    if n < 1:
        return cpu(f"only {format_bytes(vram)} of VRAM is free on the {name}, too little for even one layer")
    fits = need - OVERHEAD_FIXED - n * per_layer <= ram
    warn = "." if fits else f", and the rest may not fit in the {format_bytes(ram)} of free memory."
    return RunPlan("llama.cpp", backend, n, threads, f"{n} of {total} layers on the {name} ({backend}), the rest on "
                   f"the CPU: the model needs {format_bytes(need)} and only {format_bytes(vram)} of VRAM is free"
                   + warn, fits, need, n_layers)


# ---------------------------------------------------------------- diagnosis

def _reinstall(flag: str, what: str) -> str:
    if getattr(sys, "frozen", False):
        return f"This packaged app was built without {what}: install a build of the app with GPU support."
    env = f'$env:CMAKE_ARGS="{flag}"; ' if os.name == "nt" else f'CMAKE_ARGS="{flag}" '
    if (Path(__file__).resolve().parents[1] / "uv.lock").exists():
        cmd = env + "uv sync --reinstall-package llama-cpp-python --no-cache"
    else:
        cmd = env + "pip install --force-reinstall --no-cache-dir llama-cpp-python"
    return f"Fix: rebuild llama-cpp-python with {what} (takes several minutes):\n  {cmd}"


def gpu_offload_diagnosis(hw: HardwareInfo) -> str | None:
    """Why a GPU on this machine goes unused, and the exact fix; None when nothing is wrong."""
    lines: list[str] = []
    if hw.rosetta:
        lines.append(ROSETTA_NOTE)
    nvidia = bool(hw.gpus) or hw.nvidia_driver
    if nvidia and not hw.gpus:
        lines.append("An NVIDIA driver is installed but nvidia-smi did not answer, so the GPU and its VRAM could not be read.")
    if nvidia and not hw.llama_gpu_offload:
        gpu = f"an NVIDIA GPU ({hw.gpus[0].name})" if hw.gpus else "an NVIDIA GPU"
        lines.append(f"This computer has {gpu}, but llama-cpp-python was built without CUDA, so models run on the CPU only.")
        if not hw.nvcc_path:
            lines.append("Install the NVIDIA CUDA Toolkit first (nvcc not found); the build needs it.")
        lines.append(_reinstall("-DGGML_CUDA=on", "CUDA"))
    elif nvidia and not hw.gpus:
        lines.append("Models run on the CPU unless you set the number of GPU layers in settings.")
    elif hw.apple_silicon and not hw.llama_gpu_offload:
        lines.append("This Mac has Apple Silicon, but llama-cpp-python was built without Metal, so models run on the CPU only.")
        lines.append(_reinstall("-DGGML_METAL=on", "Metal"))
    return "\n".join(lines) or None
