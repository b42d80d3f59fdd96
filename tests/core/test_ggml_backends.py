"""ggml's backends: registered for the build installed here (CPU code linked in), and
the file names of a build that loads its CPU code at run time recognised."""

from __future__ import annotations

from pathlib import Path

import llama_cpp

from assistant.core import ggml_backends


def test_the_installed_build_has_its_cpu_backend_registered() -> None:
    assert ggml_backends.ensure_loaded(llama_cpp) >= 1
    lib = ggml_backends.backend_dirs(llama_cpp)[0]
    assert (lib / "libggml-base.so").exists() or any(lib.glob("*ggml-base*"))
    # this machine's build links its CPU code in: no run-time variants to load
    assert not any(n.startswith("libggml-cpu-") for n in ggml_backends.dynamic_variants(lib))


def test_run_time_cpu_variants_are_recognised(tmp_path: Path) -> None:
    for name in ("libggml-base.so", "libggml-cpu-haswell.so", "libggml-cpu-sapphirerapids.so",
                 "ggml-cpu-alderlake.dll", "libllama.so", "libggml-cpu-x64.so.txt"):
        (tmp_path / name).write_bytes(b"")
    assert ggml_backends.dynamic_variants(tmp_path) == [
        "ggml-cpu-alderlake.dll", "libggml-cpu-haswell.so", "libggml-cpu-sapphirerapids.so"]
    assert ggml_backends.dynamic_variants(tmp_path / "missing") == []
