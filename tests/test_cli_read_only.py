"""issue 33: a read-only data folder (a read-only or full mount, a locked-down profile)
gave a traceback from every command. `doctor` reports and names the folder, `ask
--no-history` answers, and a command that must write says so once, in plain words."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.read_only import immutable, read_only_mount_prefix

REPO = Path(__file__).resolve().parents[1]


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), ASSISTANT_HOME=str(home))
    prefix = read_only_mount_prefix(home)
    cmd = [sys.executable, "-m", "assistant", *args]
    if prefix is not None:
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=300, env=env)
    with immutable(home):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def _warned_once(stderr: str, folder: Path) -> None:
    assert "Traceback" not in stderr and "OSError" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if "cannot write to" in ln]
    assert len(lines) == 1 and lines[0].startswith("Warning: The app cannot write to"), stderr
    assert str(folder) in lines[0]


def test_doctor_reports_with_an_empty_read_only_home(home: Path) -> None:
    r = _run(home, "doctor")
    assert r.returncode == 0, r.stderr
    _warned_once(r.stderr, home)
    assert "Cannot be written" in r.stdout and str(home) in r.stdout
    assert "Privacy and storage" in r.stdout


@pytest.mark.slow
def test_ask_answers_and_a_saving_ask_says_why_not(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    made = run_cli("doctor")  # the folders exist (with a log file) before they turn read-only
    assert made.returncode == 0 and (home / "logs" / "assistant.log").exists()
    r = _run(home, "ask", "--no-history", "--model", str(gemma_path), "--max-tokens", "4", "--temperature", "0", "Hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    _warned_once(r.stderr, home / "data")
    saving = _run(home, "ask", "--model", str(gemma_path), "--max-tokens", "4", "Hi")
    assert saving.returncode == 1
    assert "Traceback" not in saving.stderr
    errors = [ln for ln in saving.stderr.splitlines() if "chat history" in ln]
    assert len(errors) == 1 and errors[0].startswith("Error: "), saving.stderr  # said once, not twice
