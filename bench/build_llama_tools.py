"""Build llama-bench and llama-server from the llama.cpp inside our llama-cpp-python sdist, once.

The benchmarks compare our engine with llama.cpp itself, so the tools must be built from the
same sources and with the same options as the project's own build (pyproject.toml:
GGML_NATIVE=ON, -U__AMX_INT8__ because ggml's AMX matmul crashes on Q4_K; shared libraries).

    python bench/build_llama_tools.py            # prints the directory holding both binaries

Binaries and their libraries are cached in ~/.cache/assistant-bench/<version>-<flags hash>/bin;
a second run is instant.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CMAKE_DEFINES = {
    # the project's build (pyproject.toml [tool.uv.config-settings-package.llama-cpp-python])
    "GGML_NATIVE": "ON",
    "CMAKE_C_FLAGS": "-U__AMX_INT8__",
    "CMAKE_CXX_FLAGS": "-U__AMX_INT8__",
    # what the tools need and nothing more; no network at build time (no prebuilt web UI)
    "CMAKE_BUILD_TYPE": "Release",
    "LLAMA_CURL": "OFF",
    "LLAMA_OPENSSL": "OFF",
    "LLAMA_BUILD_TESTS": "OFF",
    "LLAMA_BUILD_EXAMPLES": "OFF",
    "LLAMA_BUILD_UI": "OFF",
    "LLAMA_USE_PREBUILT_UI": "OFF",
    # shared libraries, as llama-cpp-python builds them (and llama.cpp's own release builds,
    # which Jan and others ship): a static build of the same code decodes ~1% faster
    # here (measured side by side), a gain no Python binding can have
    "BUILD_SHARED_LIBS": "ON",
    "CMAKE_BUILD_RPATH": "$ORIGIN",  # the tools find their libraries beside them in the cache
}
TARGETS = ("llama-bench", "llama-server")


def llama_cpp_python_version() -> str:
    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return "0.3.36"


def cache_dir(version: str) -> Path:
    flags = hashlib.sha256(repr(sorted(CMAKE_DEFINES.items())).encode()).hexdigest()[:10]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "assistant-bench" / f"{version}-{flags}"


def sdist(version: str, where: Path) -> Path:
    name = f"llama_cpp_python-{version}.tar.gz"
    for candidate in (where / name, Path("/tmp/lsrc") / name):
        if candidate.exists():
            return candidate
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"llama-cpp-python=={version}", "-d", str(where)],
        check=True,
    )
    return where / name


def build(version: str, jobs: int) -> Path:
    out = cache_dir(version)
    bindir = out / "bin"
    if all((bindir / t).exists() for t in TARGETS):
        return bindir
    archive = sdist(version, out)
    with tempfile.TemporaryDirectory(prefix="llama-tools-") as tmp:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
        build_dir = Path(tmp) / "build"
        defines = [f"-D{k}={v}" for k, v in CMAKE_DEFINES.items()]
        subprocess.run(["cmake", "-S", str(src), "-B", str(build_dir), *defines], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "-j", str(jobs), "--target", *TARGETS], check=True)
        bindir.mkdir(parents=True, exist_ok=True)
        for built in (build_dir / "bin").iterdir():
            if built.name in TARGETS or ".so" in built.name:
                shutil.copy2(built, bindir / built.name, follow_symlinks=False)
    return bindir


def tool(name: str) -> Path:
    """Path of a cached tool, building it when missing (used by the other benchmarks)."""
    return build(llama_cpp_python_version(), 2) / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=llama_cpp_python_version())
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    print(build(args.version, args.jobs))


if __name__ == "__main__":
    main()
