"""Safe mode: llama.cpp settings that commonly crash, turned off step by step, and the
step that worked remembered per model and machine.

When an engine's process dies while loading a model or during its first answer, the
proxy (engines/host.py) starts a new process one step further down `LADDER` and tries
again. Each step keeps the ones before it:

1. no CPU weight repacking and no AMX (llama.cpp's "extra buffer types")
2. flash attention off
3. half the GPU layers          (skipped when nothing was offloaded)
4. no GPU offload               (skipped when nothing was offloaded)
5. no memory mapping (the weights are read into memory)

The store is a small JSON file of its own (data/safe_mode.json). Keys are the model's
path and a fingerprint of the machine (CPU, GPUs, llama-cpp-python version): a new
llama.cpp build or a new GPU gets a fresh try at full speed. The GUI uses `entries()`
and `reset()`; `assistant doctor` shows them and `--reset-safe-mode` clears them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.paths import get_paths

log = logging.getLogger(__name__)

STORE_NAME = "safe_mode.json"
_VERSION = 1
_lock = threading.Lock()


@dataclass(frozen=True)
class SafeSettings:
    level: int = 0
    repack: bool = True  # CPU weight repacking and AMX (llama_model_params.use_extra_bufts)
    flash_attn: bool = True  # True: llama.cpp decides (auto); False: off
    gpu_share: float = 1.0  # share of the planned GPU layers kept on the GPU
    mmap: bool = True  # memory-map the weights

    def describe(self) -> str:
        """What this level turns off, in words."""
        if self.level == 0:
            return "normal settings"
        off = []
        if not self.repack:
            off.append("CPU weight repacking and AMX")
        if not self.flash_attn:
            off.append("flash attention")
        if self.gpu_share == 0:
            off.append("GPU offload")
        elif self.gpu_share < 1:
            off.append("half of the GPU offload")
        if not self.mmap:
            off.append("memory mapping")
        return "off: " + ", ".join(off)


LADDER: tuple[SafeSettings, ...] = (
    SafeSettings(0),
    SafeSettings(1, repack=False),
    SafeSettings(2, repack=False, flash_attn=False),
    SafeSettings(3, repack=False, flash_attn=False, gpu_share=0.5),
    SafeSettings(4, repack=False, flash_attn=False, gpu_share=0.0),
    SafeSettings(5, repack=False, flash_attn=False, gpu_share=0.0, mmap=False),
)
MAX_LEVEL = len(LADDER) - 1


def settings(level: int) -> SafeSettings:
    return LADDER[max(0, min(level, MAX_LEVEL))]


def next_level(level: int, n_gpu_layers: int) -> int | None:
    """The next step to try after `level` crashed, or None when none is left. The GPU
    steps are skipped when no layer was offloaded: they would change nothing."""
    for nxt in range(level + 1, MAX_LEVEL + 1):
        if nxt in (3, 4) and n_gpu_layers == 0:
            continue
        return nxt
    return None


# -- applying a level to llama.cpp's parameters ---------------------------------------
def gpu_layers(s: SafeSettings, n_gpu_layers: int, block_count: int | None) -> int:
    """The GPU layers to ask for at this level (-1 is all)."""
    if n_gpu_layers == 0 or s.gpu_share >= 1:
        return n_gpu_layers
    if s.gpu_share <= 0:
        return 0
    total = block_count or 0
    planned = total if n_gpu_layers < 0 else min(n_gpu_layers, total or n_gpu_layers)
    return max(0, int(planned * s.gpu_share))


def apply_model_params(s: SafeSettings, mparams: Any, lib: Any) -> None:
    if not s.repack and hasattr(mparams, "use_extra_bufts"):
        mparams.use_extra_bufts = False
    if not s.mmap:
        if hasattr(mparams, "use_mmap"):
            mparams.use_mmap = False
        elif hasattr(mparams, "load_mode"):
            mparams.load_mode = getattr(lib, "LLAMA_LOAD_MODE_NONE", 0)


def apply_context_params(s: SafeSettings, cparams: Any, lib: Any) -> None:
    if not s.flash_attn:
        if hasattr(cparams, "flash_attn_type"):
            cparams.flash_attn_type = getattr(lib, "LLAMA_FLASH_ATTN_TYPE_DISABLED", 0)
        elif hasattr(cparams, "flash_attn"):
            cparams.flash_attn = False


# -- the store -------------------------------------------------------------------------
@dataclass(frozen=True)
class SafeModeEntry:
    model: str  # the model file's path
    machine: str  # fingerprint of this computer and llama.cpp build
    level: int
    what: str  # SafeSettings.describe()
    reason: str  # what crashed, in words
    time: float  # when it was remembered (epoch seconds)

    @property
    def settings(self) -> SafeSettings:
        return settings(self.level)


def store_path() -> Path:
    return get_paths().data_dir / STORE_NAME


_fingerprint: str | None = None


def machine_fingerprint() -> str:
    """CPU, GPUs and llama-cpp-python version, hashed: what a crash depends on."""
    global _fingerprint
    if _fingerprint is None:
        from importlib import metadata

        from assistant import hardware

        try:
            version = metadata.version("llama-cpp-python")
        except metadata.PackageNotFoundError:
            version = "?"
        hw = hardware.detect()
        gpus = ",".join(g.name for g in hw.gpus)
        text = "|".join((platform.system(), platform.machine(), hw.cpu_name, gpus, version))
        _fingerprint = hashlib.sha256(text.encode()).hexdigest()[:16]
    return _fingerprint


def _key(model: Path | str, machine: str) -> str:
    return f"{Path(model).expanduser().absolute()}|{machine}"


def _read() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("safe mode store unreadable, starting afresh: %s", exc)
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def _write(entries: dict[str, dict[str, Any]]) -> None:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": _VERSION, "entries": entries}, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def _entry(raw: dict[str, Any]) -> SafeModeEntry | None:
    try:
        return SafeModeEntry(
            str(raw["model"]), str(raw["machine"]), int(raw["level"]), str(raw.get("what", "")),
            str(raw.get("reason", "")), float(raw.get("time", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def get(model: Path | str) -> SafeModeEntry | None:
    """The remembered step for this model on this machine, if any."""
    with _lock:
        raw = _read().get(_key(model, machine_fingerprint()))
    return _entry(raw) if raw else None


def level_for(model: Path | str) -> int:
    entry = get(model)
    return entry.level if entry else 0


def remember(model: Path | str, level: int, reason: str) -> SafeModeEntry:
    machine = machine_fingerprint()
    entry = SafeModeEntry(str(Path(model).expanduser().absolute()), machine, level, settings(level).describe(), reason, time.time())
    with _lock:
        entries = _read()
        entries[_key(model, machine)] = asdict(entry)
        _write(entries)
    log.warning("safe mode for %s: level %d (%s) after %s", model, level, entry.what, reason)
    return entry


def entries(all_machines: bool = False) -> list[SafeModeEntry]:
    """Remembered steps, newest first (this machine's only unless `all_machines`)."""
    machine = None if all_machines else machine_fingerprint()
    with _lock:
        raw = _read()
    out = [e for e in map(_entry, raw.values()) if e is not None and (machine is None or e.machine == machine)]
    return sorted(out, key=lambda e: e.time, reverse=True)


def reset(model: Path | str | None = None) -> int:
    """Forget the step for one model (on every machine), or all of them; returns how many."""
    with _lock:
        raw = _read()
        if model is None:
            gone = len(raw)
            raw = {}
        else:
            target = str(Path(model).expanduser().absolute())
            keep = {k: v for k, v in raw.items() if v.get("model") != target}
            gone = len(raw) - len(keep)
            raw = keep
        if gone:
            _write(raw)
    return gone
