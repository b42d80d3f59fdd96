"""hardware.py: detection on this machine, and planning for machines described as plain data."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import hardware
from assistant.core.types import ModelRef
from assistant.errors import EngineUnavailableError
from assistant.hardware import GpuInfo, HardwareInfo

GB = 1024**3


def linux(**kw: object) -> HardwareInfo:
    base: dict[str, object] = dict(
        os_name="Linux", cpu_arch="x86_64", physical_cores=8, logical_cores=16,
        ram_total_bytes=64 * GB, ram_available_bytes=48 * GB,
    )
    base.update(kw)
    return HardwareInfo(**base)  # type: ignore[arg-type]


def rtx(vram_gb: float, name: str = "NVIDIA GeForce RTX 4090") -> GpuInfo:
    return GpuInfo(name, int(vram_gb * GB), int(vram_gb * GB * 0.95), "550.54", "12.4")


def cuda(vram_gb: float, **kw: object) -> HardwareInfo:
    return linux(gpus=[rtx(vram_gb)], nvidia_driver=True, llama_gpu_offload=True, llama_backend="CUDA",
                 nvcc_path="/usr/local/cuda/bin/nvcc", **kw)


def mac(**kw: object) -> HardwareInfo:
    base: dict[str, object] = dict(
        os_name="macOS", cpu_arch="arm64", apple_silicon=True, physical_cores=10, logical_cores=10,
        ram_total_bytes=32 * GB, ram_available_bytes=20 * GB,
        llama_gpu_offload=True, llama_backend="Metal", mlx_available=True,
    )
    base.update(kw)
    return HardwareInfo(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def big_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 9 GB GGUF-named file that takes no disk space (sparse)."""
    path = tmp_path_factory.mktemp("models") / "big-model-Q4_K_M.gguf"
    with open(path, "wb") as f:
        f.truncate(9 * GB)
    return path


# ---------------------------------------------------------------- this machine

def test_detect_this_machine() -> None:
    """What detect() says, against what the machine itself reports (any OS, CPU or GPU)."""
    import platform
    import shutil

    import llama_cpp
    import psutil

    hw = hardware.detect(refresh=True)
    assert hw.os_name == {"Darwin": "macOS"}.get(platform.system(), platform.system())
    assert hw.cpu_arch == {"AMD64": "x86_64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    assert hw.physical_cores == (psutil.cpu_count(logical=False) or hw.logical_cores)
    assert hw.logical_cores == psutil.cpu_count(logical=True)
    assert hw.ram_total_bytes == psutil.virtual_memory().total
    assert 0 < hw.ram_available_bytes <= hw.ram_total_bytes
    assert hw.apple_silicon == (platform.system() == "Darwin" and platform.machine() == "arm64")
    if shutil.which("nvidia-smi") is None:
        assert hw.gpus == []
    else:
        assert all(g.vram_total_bytes >= g.vram_free_bytes >= 0 for g in hw.gpus)
    assert hw.llama_gpu_offload == bool(llama_cpp.llama_supports_gpu_offload())
    if not hw.llama_gpu_offload:
        assert hw.llama_backend == "CPU"
    else:
        assert hw.llama_backend in hardware.GPU_BACKENDS
    assert hardware.detect() is hw  # cached
    if not hw.gpus and not hw.nvidia_driver:
        assert hardware.gpu_offload_diagnosis(hw) is None  # no GPU, so nothing is wrong


def test_estimate_memory() -> None:
    weights = 4 * GB
    known = hardware.estimate_memory(weights, 32, 4096, 128 * 1024)
    assert known == int((weights + 4096 * 128 * 1024) * 1.1) + 300 * 1024**2
    guessed = hardware.estimate_memory(weights, 32, 4096, None)
    assert weights < guessed < 2 * weights
    assert hardware.estimate_memory(weights, 32, 32768, None) > guessed  # a longer context costs more


# ---------------------------------------------------------------- the real model

def test_gguf_layer_count_real_model(gemma_path: Path) -> None:
    import gguf

    reader = gguf.GGUFReader(gemma_path)  # independent read, slow but thorough
    arch = reader.fields["general.architecture"].contents()
    expected = int(reader.fields[f"{arch}.block_count"].contents())
    assert expected > 0
    assert hardware.gguf_layer_count(gemma_path) == expected == 18


def test_gguf_layer_count_bad_files(tmp_path: Path) -> None:
    (tmp_path / "html.gguf").write_text("<!doctype html><html>rate limited</html>")
    (tmp_path / "short.gguf").write_bytes(b"GGUF\x03\x00\x00\x00\x01")
    for name in ("html.gguf", "short.gguf", "missing.gguf"):
        assert hardware.gguf_layer_count(tmp_path / name) is None


def test_plan_real_model_on_this_machine(gemma_path: Path) -> None:
    hw = hardware.detect()
    p = hardware.plan(ModelRef(gemma_path, "gguf"), hw)
    assert (p.engine, p.n_layers) == ("llama.cpp", 18)
    assert p.fits_in_memory and p.memory_needed_bytes > gemma_path.stat().st_size
    assert p.n_threads == hw.physical_cores
    if hw.llama_gpu_offload and (hw.gpus or hw.apple_silicon):
        assert p.backend == hw.llama_backend and p.n_gpu_layers == -1  # 253 MB fits any GPU
    else:
        assert (p.backend, p.n_gpu_layers) == ("CPU", 0)
        assert p.reason.startswith("CPU only")


# ---------------------------------------------------------------- plans for other machines

def test_plan_no_gpu_is_cpu(gemma_path: Path) -> None:
    p = hardware.plan(ModelRef(gemma_path, "gguf"), linux(), n_layers=18)
    assert (p.backend, p.n_gpu_layers, p.n_threads) == ("CPU", 0, 8)
    assert "without GPU support" in p.reason


def test_plan_24gb_nvidia_all_layers(gemma_path: Path) -> None:
    p = hardware.plan(ModelRef(gemma_path, "gguf"), cuda(24), n_layers=18)
    assert (p.engine, p.backend, p.n_gpu_layers) == ("llama.cpp", "CUDA", -1)
    assert p.fits_in_memory
    assert p.reason.startswith("All 18 layers on the NVIDIA GeForce RTX 4090 (CUDA)")
    assert "22.8 GB of VRAM is free" in p.reason


def test_plan_small_vram_big_model_partial(big_gguf: Path) -> None:
    p = hardware.plan(ModelRef(big_gguf, "gguf"), cuda(2), n_layers=40)
    assert p.backend == "CUDA" and 0 < p.n_gpu_layers < 40
    assert p.reason.startswith(f"{p.n_gpu_layers} of 40 layers on the NVIDIA")
    # the layers given to the GPU fit in its 1.9 GB
    per_layer = (p.memory_needed_bytes - hardware.OVERHEAD_FIXED) / 40
    assert hardware.OVERHEAD_FIXED + p.n_gpu_layers * per_layer <= 0.95 * 2 * GB
    # more VRAM, more layers
    assert hardware.plan(ModelRef(big_gguf, "gguf"), cuda(6), n_layers=40).n_gpu_layers > p.n_gpu_layers


def test_plan_vram_limit_caps_the_gpu(gemma_path: Path) -> None:
    ref = ModelRef(gemma_path, "gguf")
    assert hardware.plan(ref, cuda(24), n_layers=18, vram_limit_bytes=GB).n_gpu_layers == -1
    capped = hardware.plan(ref, cuda(24), n_layers=18, vram_limit_bytes=500 * 1024**2)
    assert 0 < capped.n_gpu_layers < 18
    assert hardware.plan(ref, cuda(24), n_layers=18, vram_limit_bytes=100 * 1024**2).n_gpu_layers == 0


def test_plan_model_bytes_before_download(tmp_path: Path) -> None:
    ref = ModelRef(tmp_path / "not-downloaded-yet.gguf", "gguf")
    p = hardware.plan(ref, cuda(8), n_layers=32, model_bytes=20 * GB)
    assert 0 < p.n_gpu_layers < 32 and p.memory_needed_bytes > 20 * GB


def test_plan_explicit_setting_wins(big_gguf: Path, gemma_path: Path) -> None:
    p = hardware.plan(ModelRef(big_gguf, "gguf"), cuda(2), n_gpu_layers_setting=7, n_layers=40)
    assert (p.backend, p.n_gpu_layers) == ("CUDA", 7) and "as set in settings" in p.reason
    p = hardware.plan(ModelRef(gemma_path, "gguf"), cuda(24), n_gpu_layers_setting=0, n_layers=18)
    assert (p.backend, p.n_gpu_layers) == ("CPU", 0) and "turned off in settings" in p.reason
    p = hardware.plan(ModelRef(gemma_path, "gguf"), cuda(24), n_gpu_layers_setting=99, n_layers=18)
    assert p.n_gpu_layers == 18  # clamped to the model's depth
    p = hardware.plan(ModelRef(gemma_path, "gguf"), linux(), n_gpu_layers_setting=12, n_layers=18)
    assert (p.backend, p.n_gpu_layers) == ("CPU", 0)  # no offload in this build: clamped to 0


def test_plan_nvidia_without_offload_is_cpu_with_diagnosis(gemma_path: Path) -> None:
    hw = linux(gpus=[rtx(24)], nvidia_driver=True, llama_gpu_offload=False, llama_backend="CPU")
    p = hardware.plan(ModelRef(gemma_path, "gguf"), hw, n_layers=18)
    assert (p.backend, p.n_gpu_layers) == ("CPU", 0)
    assert "without CUDA" in p.reason and "RTX 4090" in p.reason
    diag = hardware.gpu_offload_diagnosis(hw)
    assert diag is not None
    assert "CUDA" in diag and 'CMAKE_ARGS="-DGGML_CUDA=on"' in diag
    # this checkout is a uv project (uv.lock next to the package)
    assert "uv sync --reinstall-package llama-cpp-python --no-cache" in diag
    assert "nvcc not found" in diag
    hw.nvcc_path = "/usr/local/cuda/bin/nvcc"
    assert "nvcc not found" not in (hardware.gpu_offload_diagnosis(hw) or "")


def test_diagnosis_driver_without_nvidia_smi() -> None:
    hw = linux(nvidia_driver=True)
    diag = hardware.gpu_offload_diagnosis(hw) or ""
    assert "nvidia-smi did not answer" in diag and "-DGGML_CUDA=on" in diag
    # a CUDA build that cannot read VRAM: CPU by default, and the reason says how to use the GPU
    hw = linux(nvidia_driver=True, llama_gpu_offload=True, llama_backend="CUDA")
    p = hardware.plan(ModelRef(Path("x.gguf"), "gguf"), hw, n_layers=18, model_bytes=GB)
    assert p.n_gpu_layers == 0 and "GPU layers in settings" in p.reason
    assert "settings" in (hardware.gpu_offload_diagnosis(hw) or "")


def test_diagnosis_none_when_fine() -> None:
    assert hardware.gpu_offload_diagnosis(cuda(24)) is None
    assert hardware.gpu_offload_diagnosis(mac()) is None
    assert hardware.gpu_offload_diagnosis(linux()) is None


def test_apple_silicon_metal(gemma_path: Path) -> None:
    p = hardware.plan(ModelRef(gemma_path, "gguf"), mac(), n_layers=18)
    assert (p.backend, p.n_gpu_layers) == ("Metal", -1)
    diag = hardware.gpu_offload_diagnosis(mac(llama_gpu_offload=False, llama_backend="CPU")) or ""
    assert 'CMAKE_ARGS="-DGGML_METAL=on"' in diag


def test_mlx_model_on_linux_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailableError) as err:
        hardware.plan(ModelRef(tmp_path, "mlx"), linux())
    assert "Apple Silicon" in str(err.value) and "GGUF" in str(err.value)


def test_mlx_model_on_apple_silicon(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1024)
    p = hardware.plan(ModelRef(tmp_path, "mlx"), mac())
    assert (p.engine, p.backend) == ("mlx", "MLX") and p.fits_in_memory
    assert p.memory_needed_bytes > 1024
    with pytest.raises(EngineUnavailableError, match="mlx-lm"):
        hardware.plan(ModelRef(tmp_path, "mlx"), mac(mlx_available=False))
