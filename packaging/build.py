"""Build the one-folder app with PyInstaller and report its size.

    uv run --extra package python packaging/build.py [--smoke]

--smoke then runs packaging/smoke_test.py on the result (needs the test extra for
the Gemma model: uv run --extra test --extra package ...).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist" / "assistant"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def biggest(path: Path, n: int = 12) -> list[tuple[int, str]]:
    sizes: dict[str, int] = {}
    internal = path / "_internal"
    for f in internal.rglob("*"):
        if f.is_file() and not f.is_symlink():
            top = f.relative_to(internal).parts[0]
            sizes[top] = sizes.get(top, 0) + f.stat().st_size
    return sorted(((v, k) for k, v in sizes.items()), reverse=True)[:n]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="run the smoke test on the built app")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(ROOT / "dist"), "--workpath", str(ROOT / "build"), str(ROOT / "build.spec")]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED="0"))
    total = folder_size(DIST)
    print(f"\nbundle: {DIST} {total / 1e6:.0f} MB")
    for size, name in biggest(DIST):
        print(f"  {size / 1e6:7.1f} MB  {name}")
    if args.smoke:
        return subprocess.run([sys.executable, str(ROOT / "packaging" / "smoke_test.py"), str(DIST)]).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
