"""Every screen on a real X server of 800x600, with a window manager, at 11 and 14 pt:
nothing goes past the screen or its window, nothing overlaps, no control is narrower than
its text (tools/layout_probe.py does the looking; this runs it on Xvfb + openbox)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (Debian: xvfb)")


@pytest.fixture(scope="module")
def display():  # type: ignore[no-untyped-def]
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    number = b""
    with os.fdopen(read, "rb") as fh:
        while not number.endswith(b"\n"):
            chunk = fh.read(1)
            if not chunk:
                break
            number += chunk
    name = f":{number.decode().strip()}"
    wm = None
    if shutil.which("openbox"):  # a real frame and title bar, as on a desktop
        wm = subprocess.Popen(["openbox"], env={**os.environ, "DISPLAY": name},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield name
    for p in (wm, xvfb):
        if p is not None:
            p.terminate()
            p.wait(10)


@pytest.mark.parametrize("font_pt", [11, 14])
def test_nothing_is_cut_off_at_800x600(display: str, font_pt: int, gemma_path: Path, home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "ASSISTANT_HOME": str(home)}
    r = subprocess.run([sys.executable, str(REPO / "tools" / "layout_probe.py"), str(gemma_path), "--font-pt", str(font_pt)],
                       env=env, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(report["screens"]) >= 15  # every screen was looked at
    assert report["problems"] == []
