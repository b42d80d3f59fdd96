"""nvidia-smi parsing, on what real GPUs print: a stand-in `nvidia-smi` on PATH replays
each machine's output, and hardware.py runs it as a real subprocess."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from assistant import hardware
from assistant.core.types import ModelRef

RECORDED = Path(__file__).parent / "support" / "nvidia_smi"
MiB = 1024**2


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    exe = tmp_path / "nvidia-smi"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{RECORDED / "fake_nvidia_smi.py"}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")

    def use(machine: str) -> None:
        monkeypatch.setenv("FAKE_NVIDIA_SMI", str(RECORDED / machine))

    return use


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a shell script")
@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("rtx4090", [("NVIDIA GeForce RTX 4090", 24564, 23801, "550.54.14", "12.4")]),
        ("a100x2", [("NVIDIA A100-SXM4-80GB", 81920, 81050, "535.104.05", "12.2"),
                    ("NVIDIA A100-SXM4-80GB", 81920, 40118, "535.104.05", "12.2")]),
        ("h200", [("NVIDIA H200", 143771, 143190, "570.124.06", "12.8")]),
        ("laptop3060", [("NVIDIA GeForce RTX 3060 Laptop GPU", 6144, 5980, "566.36", "12.7")]),
    ],
)
def test_gpus_from_real_nvidia_smi_output(fake_smi, machine: str, expected: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    fake_smi(machine)
    notes: list[str] = []
    gpus, driver = hardware._nvidia(notes)
    assert driver is True and notes == []
    assert [(g.name, g.vram_total_bytes // MiB, g.vram_free_bytes // MiB, g.driver_version, g.cuda_version)
            for g in gpus] == expected


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a shell script")
def test_a_gpu_without_dedicated_memory_is_named_with_a_note(fake_smi) -> None:  # type: ignore[no-untyped-def]
    fake_smi("gb10")
    notes: list[str] = []
    gpus, driver = hardware._nvidia(notes)
    assert [(g.name, g.vram_total_bytes, g.cuda_version) for g in gpus] == [("NVIDIA GB10", 0, "13.0")]
    assert notes == ["nvidia-smi does not report the memory of the NVIDIA GB10."]


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in is a shell script")
def test_the_plan_uses_the_parsed_vram(fake_smi, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    fake_smi("laptop3060")
    gpus, _ = hardware._nvidia([])
    hw = hardware.HardwareInfo("Linux", gpus=gpus, nvidia_driver=True, llama_gpu_offload=True, llama_backend="CUDA",
                               ram_total_bytes=16 * 1024**3, ram_available_bytes=12 * 1024**3, physical_cores=6)
    p = hardware.plan(ModelRef(gemma_path, "gguf"), hw, n_layers=18)
    assert (p.backend, p.n_gpu_layers) == ("CUDA", -1)
    assert "RTX 3060 Laptop GPU" in p.reason and "5.8 GB of VRAM is free" in p.reason
