"""`assistant doctor`: what this computer has, how models will run, and what to fix.

Many "no GPU found" reports in other apps go unexplained; this one says why and
gives the exact command that fixes it.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant import __version__, hardware, model_settings
from assistant.engines.factory import plan_for
from assistant.errors import AssistantError
from assistant.library.importer import check_gguf
from assistant.library.installed import resolve_model
from assistant.paths import Paths
from assistant.settings import Settings


def keyring_backend(timeout_s: float = 3.0) -> str:
    """The keyring backend's name. Looking it up may talk to a Secret Service over
    D-Bus, which can hang, so it runs on a thread with a timeout."""
    result: list[str] = []

    def probe() -> None:
        try:
            import keyring

            kr = keyring.get_keyring()
            result.append(f"{type(kr).__module__}.{type(kr).__name__}")
        except Exception as exc:  # any backend error is a finding to report, not a crash
            result.append(f"unavailable ({type(exc).__name__}: {exc})")

    t = threading.Thread(target=probe, daemon=True, name="keyring-probe")
    t.start()
    t.join(timeout_s)
    if not result:
        return f"no answer within {timeout_s:.0f} s (the keyring may be locked or waiting for a password)"
    name = result[0]
    if name.startswith("keyring.backends.fail"):
        return f"{name}: no usable keyring. Install and unlock one (GNOME Keyring or KWallet on Linux)."
    return name


def collect(paths: Paths, settings: Settings, model: str | None = None) -> dict[str, Any]:
    hw = hardware.detect()
    report: dict[str, Any] = {
        "version": __version__,
        "hardware": asdict(hw),
        "gpu_problem": hardware.gpu_offload_diagnosis(hw),
        "keyring": keyring_backend(),
        "paths": {
            "settings": str(paths.settings_file),
            "history": str(paths.history_db),
            "models": str(paths.models_dir),
            "logs": str(paths.log_file),
        },
        "unwritable": [{"folder": str(d), "reason": reason} for d, reason in paths.unwritable()],
        "offline_mode": settings.offline_mode,
        "safe_mode": _safe_mode_entries(),
    }
    if model:

        try:
            ref = resolve_model(model, paths.models_dir)
            if ref.format == "gguf":  # what loading it would refuse (as the importer does)
                check_gguf(ref.path, model_settings.get(settings, ref.path).chat_template)
            report["plan"] = asdict(plan_for(ref, settings, hw))
            report["plan"]["model"] = str(ref.path)
        except AssistantError as exc:
            report["plan"] = {"error": str(exc)}
    return report


def _safe_mode_entries() -> list[dict[str, Any]]:
    from assistant.engines import safe_mode

    return [asdict(e) for e in safe_mode.entries()]


def _line(label: str, value: object) -> str:
    return f"  {label:<22} {value}"


def render(report: dict[str, Any]) -> str:
    hw = report["hardware"]
    gb = hardware.format_bytes
    out = [f"assistant {report['version']}", "", "Computer"]
    out.append(_line("System", f"{hw['os_name']} {hw['os_version']} ({hw['cpu_arch']})"))
    out.append(_line("Processor", f"{hw['cpu_name'] or 'unknown'}: {hw['physical_cores']} cores, {hw['logical_cores']} threads"))
    out.append(_line("Memory", f"{gb(hw['ram_total_bytes'])} ({gb(hw['ram_available_bytes'])} free)"))
    if hw["apple_silicon"]:
        out.append(_line("Apple Silicon", "yes (Metal; MLX " + ("available" if hw["mlx_available"] else "not installed") + ")"))
    if hw["gpus"]:
        for g in hw["gpus"]:
            out.append(_line("GPU", f"{g['name']}: {gb(g['vram_total_bytes'])} VRAM ({gb(g['vram_free_bytes'])} free), driver {g['driver_version'] or '?'}"))
    else:
        out.append(_line("GPU", "no NVIDIA GPU found"))
    out += ["", "llama.cpp"]
    out.append(_line("GPU offload", "yes" if hw["llama_gpu_offload"] else "no (this build runs on the CPU only)"))
    out.append(_line("Backend", hw["llama_backend"]))
    if report.get("gpu_problem"):
        out += ["", "Why there is no GPU speed", *("  " + ln for ln in report["gpu_problem"].splitlines())]
    for note in hw.get("notes") or []:
        out.append(_line("Note", note))
    plan = report.get("plan")
    if plan:
        out += ["", "Model"]
        if "error" in plan:
            out.append(_line("Problem", plan["error"]))
        else:
            out.append(_line("File", plan["model"]))
            out.append(_line("Engine", f"{plan['engine']} on {plan['backend']}"))
            layers = plan["n_gpu_layers"]
            out.append(_line("GPU layers", "all" if layers < 0 else layers))
            out.append(_line("Threads", plan["n_threads"]))
            out.append(_line("Memory needed", gb(plan["memory_needed_bytes"])))
            out.append(_line("Why", plan["reason"]))
    out += ["", "Safe mode (settings that avoided an engine crash, per model)"]
    entries = report.get("safe_mode") or []
    for e in entries:
        out.append(_line(Path(e["model"]).name, f"level {e['level']}: {e['what']} (after {e['reason']})"))
    if entries:
        out.append(_line("Reset", "assistant doctor --reset-safe-mode"))
    else:
        out.append(_line("Models", "none: every model runs with normal settings"))
    out += ["", "Privacy and storage"]
    out.append(_line("Keyring", report["keyring"]))
    out.append(_line("Offline mode", "on" if report["offline_mode"] else "off"))
    for k, v in report["paths"].items():
        out.append(_line(k.capitalize(), v))
    for u in report.get("unwritable") or []:
        out.append(_line("Cannot be written", f"{u['folder']} ({u['reason'].lower()}): nothing will be saved there"))
    return "\n".join(out)


def run_doctor(paths: Paths, settings: Settings, *, model: str | None, as_json: bool,
               reset_safe_mode: bool = False) -> int:
    if reset_safe_mode:
        from assistant.engines import safe_mode

        n = safe_mode.reset()
        print(f"Safe mode reset: {n} remembered setting{'s' if n != 1 else ''} forgotten; "
              "models load with normal settings again.", file=sys.stderr)
    report = collect(paths, settings, model)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    sys.stdout.flush()
    return 0
