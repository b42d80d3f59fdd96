"""Scaling a picture too large to read whole (core/image_shrink.py) against Pillow, the
usual way: time and the peak memory of the process that does it.

Two pictures of 20,000 × 20,000 pixels (400 megapixels): a PNG (12 MB, compressed
stripes) and a JPEG (Q 85). Ours: `shrink` (libvips in its own spawned process, JPEG
shrunk while decoded, PNG streamed), timed from the call to the scaled file, its peak
RSS read from the child's rusage. Baseline: Pillow in a fresh process,
`Image.open` + `draft` (JPEG's DCT scaling, Pillow's own best case) + `thumbnail(4096)`
+ save, the decompression-bomb guard lifted; its peak RSS the same way. Rounds
alternate between the two; the median is printed with the ratio ours / Pillow.

    python3 bootstrap.py --extra test python bench/image_scaling.py [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PILLOW = r"""
import sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
im = Image.open(sys.argv[1])
im.draft("RGB", (4096, 4096))
im.thumbnail((4096, 4096))
im.save(sys.argv[2])
"""


def run_ours(src: Path, out: Path) -> tuple[float, float]:
    # rusage of children is the largest of all waited-for children: measured in a fresh
    # interpreter so that only this one scaling process is counted
    code = ("import sys, time, resource; sys.path.insert(0, sys.argv[3]);"
            "from assistant.core.image_shrink import shrink;"
            "t = time.perf_counter(); shrink(sys.argv[1], sys.argv[2]); dt = time.perf_counter() - t;"
            "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, "-c", code, str(src), str(out), str(Path(__file__).resolve().parents[1])],
                       capture_output=True, text=True, check=True)
    dt, peak = r.stdout.split()
    return float(dt), float(peak)


def run_pillow(src: Path, out: Path) -> tuple[float, float]:
    code = ("import sys, time, resource, subprocess;"
            "t = time.perf_counter(); subprocess.run([sys.executable, '-c', sys.argv[3], sys.argv[1], sys.argv[2]], check=True);"
            "dt = time.perf_counter() - t;"
            "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    r = subprocess.run([sys.executable, "-c", code, str(src), str(out / "pillow.jpg"), PILLOW],
                       capture_output=True, text=True, check=True)
    dt, peak = r.stdout.split()
    return float(dt), float(peak)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import pyvips

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        x = pyvips.Image.xyz(20_000, 20_000)
        stripes = ((x[0] // 40 + x[1] // 40) % 2 * 255).cast("uchar")
        im = stripes.bandjoin([stripes, (x[0] % 256).cast("uchar")])
        im.pngsave(str(d / "poster.png"), compression=6)
        im.jpegsave(str(d / "poster.jpg"), Q=85)
        for name in ("poster.png", "poster.jpg"):
            src = d / name
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(run_ours(src, d / "ours"))
                theirs.append(run_pillow(src, d))
            o_t, o_m = statistics.median(t for t, _ in ours), statistics.median(m for _, m in ours)
            p_t, p_m = statistics.median(t for t, _ in theirs), statistics.median(m for _, m in theirs)
            print(f"{name} ({src.stat().st_size / 1e6:.0f} MB, 20,000 x 20,000): "
                  f"ours {o_t:.2f} s, peak {o_m:.0f} MB | Pillow {p_t:.2f} s, peak {p_m:.0f} MB | "
                  f"time {o_t / p_t:.2f}x, memory {o_m / p_m:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
