"""Set up and run the project with nothing but Python: `python3 bootstrap.py ARGS` runs
`uv run --frozen ARGS` (the app: `python3 bootstrap.py assistant`; the tests:
`python3 bootstrap.py --extra test pytest`).

uv is installed into a virtual environment of its own (.uv/), so this works on system
Pythons that refuse `pip install` (PEP 668: Debian 12, Ubuntu 24.04, Homebrew) as well
as on python.org installs on macOS and Windows (`py bootstrap.py ...`). The project's
own environment is .venv/, built by uv with exactly the versions in uv.lock, on the
Python that runs this script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

UV_VERSION = "0.13.9"  # the uv that wrote uv.lock
ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".uv"


def _bin(name: str) -> Path:
    scripts = TOOLS / ("Scripts" if os.name == "nt" else "bin")
    return scripts / (name + (".exe" if os.name == "nt" else ""))


def _installed_version() -> str | None:
    uv = _bin("uv")
    if not uv.exists():
        return None
    try:
        out = subprocess.run([str(uv), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.split()
    return parts[1] if len(parts) > 1 else None


def ensure_uv() -> Path:
    if _installed_version() == UV_VERSION:
        return _bin("uv")
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}. Install a newer Python and try again.")
    print(f"Setting up uv {UV_VERSION} in {TOOLS} (once)…", file=sys.stderr, flush=True)
    try:
        venv.create(TOOLS, with_pip=True, clear=TOOLS.exists())
    except Exception as exc:  # Debian/Ubuntu without python3-venv: ensurepip is missing
        sys.exit(f"Could not create a virtual environment ({exc}). On Debian or Ubuntu: sudo apt-get install python3-venv")
    pip = [str(_bin("python")), "-m", "pip", "install", "--disable-pip-version-check", "-q", f"uv=={UV_VERSION}"]
    if subprocess.run(pip).returncode != 0:
        sys.exit("Installing uv failed (see above). Check the network connection to the Python package index.")
    return _bin("uv")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    uv = ensure_uv()
    # the project's .venv is made from the Python that runs this script, not one uv would download
    cmd = [str(uv), "run", "--frozen", "--python", sys.executable, *argv]
    try:
        return subprocess.run(cmd, cwd=ROOT).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
