"""issue 33: the README's benchmark commands work in the environment the README builds
(uv's, which has no pip). Each script starts (--help), and the llama.cpp source the
benchmark tools are built from is found where uv left it, without the network; the
build itself (10 minutes) is left to the benchmark."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import build_llama_tools  # noqa: E402


def _readme_bench_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [ln.split("#", 1)[0].strip() for ln in block.group(1).splitlines() if ln.strip()]


def test_the_readme_commands_use_the_readme_set_up_and_start() -> None:
    commands = _readme_bench_commands()
    assert len(commands) >= 4
    for cmd in commands:
        words = shlex.split(cmd)
        env_words = [w for w in words if re.fullmatch(r"[A-Z_]+=\S*", w)]
        words = words[len(env_words):]
        # bootstrap.py (the README's set-up) runs `uv run --frozen ARGS`, here the same venv
        assert words[:4] == ["python3", "bootstrap.py", "--extra", "test"], cmd
        assert words[4] == "python" and words[5].startswith("bench/"), cmd
        env = dict(os.environ, **dict(w.split("=", 1) for w in env_words))
        r = subprocess.run([sys.executable, words[5], "--help"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])
        assert "usage:" in r.stdout


def test_no_benchmark_or_tool_needs_pip() -> None:
    offenders = [str(p.relative_to(REPO)) for folder in ("bench", "tools") for p in (REPO / folder).glob("*.py")
                 if re.search(r"[\"']-m[\"'],\s*[\"']pip[\"']|-m pip ", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_llama_cpp_source_is_found_without_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_LLAMA_SDIST", raising=False)
    version = build_llama_tools.llama_cpp_python_version()
    source = build_llama_tools.find_source(version, tmp_path)
    assert source is not None, "uv's cache holds no unpacked llama-cpp-python sdist (the README's set-up builds it from source)"
    src = build_llama_tools.llama_cpp_dir(source, tmp_path, version)
    assert (src / "CMakeLists.txt").exists() and (src / "tools" / "server").is_dir()
    assert "llama-bench" in (src / "tools" / "llama-bench" / "CMakeLists.txt").read_text(encoding="utf-8")


def test_an_sdist_named_in_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLAMA_SDIST", str(tmp_path / "mine.tar.gz"))
    assert build_llama_tools.find_source("0.0.0", tmp_path) == tmp_path / "mine.tar.gz"
    monkeypatch.delenv("ASSISTANT_LLAMA_SDIST")
    fetched = tmp_path / "llama_cpp_python-0.0.0.tar.gz"
    fetched.write_bytes(b"")
    assert build_llama_tools.find_source("0.0.0", tmp_path) == fetched
