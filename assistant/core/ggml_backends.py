"""ggml's compute backends for builds that load them at run time.

A build meant for other computers (README, "Builds for other computers") uses
llama.cpp's `GGML_BACKEND_DL` with `GGML_CPU_ALL_VARIANTS`: the CPU code comes as one
library per CPU generation (libggml-cpu-haswell.so, …-sapphirerapids.so …) and ggml
picks the best one this CPU can run, at run time. ggml looks for them next to the
executable (python's) or in the current folder, not in llama_cpp/lib where the wheel
puts them, so they are loaded from there before llama.cpp is first used. A build with
the backends linked in (the default) already has them registered: nothing to do.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_lock = threading.Lock()
_done = False


def backend_dirs(llama_cpp: Any) -> list[Path]:
    """Where a wheel's dynamic backends are: llama_cpp/lib, and the install's bin folder."""
    lib = Path(llama_cpp.__file__).resolve().parent / "lib"
    return [lib, lib.parents[1] / "bin"]


def dynamic_variants(folder: Path) -> list[str]:
    """The CPU variants in a folder (empty for a build with the CPU code linked in)."""
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return []
    # MODULE libraries: .so on Linux and macOS, .dll on Windows
    return sorted(n for n in names if n.startswith(("libggml-cpu", "ggml-cpu")) and n.endswith((".so", ".dll")))


def ensure_loaded(llama_cpp: Any) -> int:
    """Register the dynamic backends if none is registered yet; the number registered."""
    global _done
    with _lock:
        lib = _libggml(llama_cpp)
        if lib is None:
            return -1
        count = int(lib.ggml_backend_reg_count())
        if _done or count:
            _done = True
            return count
        for folder in backend_dirs(llama_cpp):
            if dynamic_variants(folder):
                lib.ggml_backend_load_all_from_path(str(folder).encode())
                count = int(lib.ggml_backend_reg_count())
                log.info("loaded %d ggml backends from %s", count, folder)
                break
        _done = count > 0
        return count


def _libggml(llama_cpp: Any) -> Any:
    """libggml as libllama sees it. A wheel cannot hold symlinks, so libggml.so and
    libggml.so.0 are two copies, and llama_cpp._ggml loads the other one: a backend
    registered there is not seen by llama.cpp. Symbols looked up through libllama's
    handle come from the copy libllama itself linked (dlsym searches its dependencies)."""
    lib = getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None)
    if lib is None or not hasattr(lib, "ggml_backend_load_all_from_path"):
        try:
            from llama_cpp import _ggml
        except ImportError:  # an older llama-cpp-python: its backends are linked in
            return None
        lib = _ggml.libggml
    count = lib.ggml_backend_reg_count
    count.restype, count.argtypes = ctypes.c_size_t, []
    load = lib.ggml_backend_load_all_from_path
    load.restype, load.argtypes = None, [ctypes.c_char_p]
    return lib
