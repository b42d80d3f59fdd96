"""Real executables written by tests in place of a PDF viewer or an editor: each records
the arguments it was started with, one a line, in `<name>.args` beside it."""

from __future__ import annotations

import os
import time
from pathlib import Path


def fake_app(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    log = folder / f"{name}.args"
    # shell builtins only (PATH may hold this folder alone); ".done" says the list is whole
    exe.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{log}'\n: > '{log}.done'\n", encoding="utf-8")
    exe.chmod(0o755)
    return exe


def recorded(exe: Path, timeout: float = 10.0) -> list[str]:
    """The arguments the fake app was started with (waits for a detached start to write them)."""
    log = exe.with_name(exe.name + ".args")
    done = exe.with_name(exe.name + ".args.done")
    deadline = time.monotonic() + timeout
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return log.read_text(encoding="utf-8").splitlines() if done.exists() else []


def only_on_path(monkeypatch, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """PATH is this folder alone: no real viewer, editor or xdg-mime of the machine is found."""
    monkeypatch.setenv("PATH", str(folder))
    assert os.environ["PATH"] == str(folder)
