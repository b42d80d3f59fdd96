"""The built wheel carries what the installed app reads at run time: the catalog, the
price table, the router's weights, the icons, and every module. Built for real with uv
(the README's own tool) from a copy of the sources, so the work tree stays clean."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _uv() -> str:
    # `uv run` names itself in $UV; otherwise the one on PATH
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is needed to build the wheel: the README's commands install it (python3 -m pip install uv)")
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "assistant", src / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([_uv(), "build", "--wheel", "--out-dir", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob("assistant-*.whl")
    return zipfile.ZipFile(whl)


def test_the_wheel_ships_the_package_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for data in ("catalog.json", "llama_archs.txt", "prices.json", "router_weights.json", "router_tradeoff.json",
                 "icons/assistant.svg", "icons/assistant-256.png"):
        assert f"assistant/resources/{data}" in names, data
    assert wheel.read("assistant/resources/catalog.json") == (REPO / "assistant/resources/catalog.json").read_bytes()


def test_the_wheel_ships_every_module(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    modules = {str(p.relative_to(REPO)) for p in (REPO / "assistant").rglob("*.py")}
    assert modules - names == set()
    assert not any(n.startswith("tests/") for n in names)
