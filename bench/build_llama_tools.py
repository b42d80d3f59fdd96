"""Build llama-bench and llama-server from the llama.cpp inside our llama-cpp-python sdist, once.

The benchmarks compare our engine with llama.cpp itself, so the tools must be built from the
same sources and with the same options as the project's own build (pyproject.toml:
GGML_NATIVE=ON, -U__AMX_INT8__ because ggml's AMX matmul crashes on Q4_K; shared libraries).

    python bench/build_llama_tools.py            # prints the directory holding both binaries

Binaries and their libraries are cached in ~/.cache/assistant-bench/<version>-<flags hash>/bin;
a second run is instant. The source is the sdist uv unpacked in its cache when it built
llama-cpp-python for this project (so no network and no pip), else the sdist from PyPI
(checked against its SHA-256), or ASSISTANT_LLAMA_SDIST (a tarball or an unpacked sdist).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

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


def _uv_cache_dirs() -> list[Path]:
    """uv's cache folders: UV_CACHE_DIR, what `uv cache dir` says (the project's .uv/ or
    a uv on PATH), then the usual place."""
    out = [Path(os.environ["UV_CACHE_DIR"])] if os.environ.get("UV_CACHE_DIR") else []
    for uv in (REPO / ".uv" / ("Scripts" if os.name == "nt" else "bin") / "uv", shutil.which("uv")):
        if uv and Path(uv).exists():
            try:
                got = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, timeout=30).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                continue
            if got:
                out.append(Path(got))
    out.append(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uv")
    return out


def find_source(version: str, where: Path) -> Path | None:
    """llama.cpp's source from this version's sdist, without the network: a tarball
    already fetched, or the sdist that uv unpacked in its cache when it built
    llama-cpp-python for this project (the README's set-up does)."""
    if os.environ.get("ASSISTANT_LLAMA_SDIST"):
        return Path(os.environ["ASSISTANT_LLAMA_SDIST"])
    fetched = where / f"llama_cpp_python-{version}.tar.gz"
    if fetched.exists():
        return fetched
    for cache in _uv_cache_dirs():
        for pkg_info in sorted(cache.glob(f"sdists-v*/pypi/llama-cpp-python/{version}/*/src/PKG-INFO")):
            src = pkg_info.parent
            if f"\nVersion: {version}\n" in pkg_info.read_text(encoding="utf-8", errors="replace") and \
                    (src / "vendor" / "llama.cpp" / "CMakeLists.txt").exists():
                return src
    return None


def download_sdist(version: str, where: Path) -> Path:
    """The sdist from PyPI, checked against the SHA-256 that PyPI lists for it. No pip: the
    project's uv environment has none."""
    meta_url = f"https://pypi.org/pypi/llama-cpp-python/{version}/json"
    with urllib.request.urlopen(meta_url, timeout=60) as resp:
        files = json.load(resp)["urls"]
    [entry] = [f for f in files if f["packagetype"] == "sdist"]
    where.mkdir(parents=True, exist_ok=True)
    target = where / entry["filename"]
    tmp = target.with_suffix(".part")
    digest = hashlib.sha256()
    with urllib.request.urlopen(entry["url"], timeout=60) as resp, tmp.open("wb") as out:
        while chunk := resp.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != entry["digests"]["sha256"]:
        tmp.unlink()
        raise SystemExit(f"{entry['filename']}: the download does not match PyPI's SHA-256; try again")
    tmp.replace(target)
    return target


def llama_cpp_dir(source: Path, tmp: Path, version: str) -> Path:
    """The vendored llama.cpp in an unpacked sdist folder, or in a tarball unpacked into tmp."""
    if source.is_dir():
        return source / "vendor" / "llama.cpp"
    with tarfile.open(source) as tar:
        tar.extractall(tmp, filter="data")
    return tmp / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"


def build(version: str, jobs: int) -> Path:
    out = cache_dir(version)
    bindir = out / "bin"
    if all((bindir / t).exists() for t in TARGETS):
        return bindir
    source = find_source(version, out) or download_sdist(version, out)
    with tempfile.TemporaryDirectory(prefix="llama-tools-") as tmp:
        src = llama_cpp_dir(source, Path(tmp), version)
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
