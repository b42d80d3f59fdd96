"""The house's rules, checked on every test run: small modules, one lint, types in the
core, and the import contracts (Qt only in assistant/ui and app.py; engines import
neither chat, library nor ui; the core never imports ui). See pyproject.toml."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "assistant"
MAX_LINES = 500
QT_ALLOWED = ("ui", "app.py")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in this environment: it comes with the test extra (uv sync --extra test)")
    return found


def test_no_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(REPO)): n for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_qt_is_imported_only_in_ui_and_app() -> None:
    # import-linter checks the import graph; this also catches a Qt import that grimp
    # could not resolve (a typo'd module still names PySide6)
    offenders = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in QT_ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{rel}: {n}" for n in names if n.split(".")[0] in ("PySide6", "shiboken6")]
    assert not offenders


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_import_contracts_are_kept() -> None:
    r = _run(_tool("lint-imports"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_ruff_finds_nothing() -> None:
    r = _run(_tool("ruff"), "check", "assistant", "tests", "bench", "tools", "packaging")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_mypy_passes_on_the_core() -> None:
    r = _run(_tool("mypy"), "--cache-dir", str(REPO / ".mypy_cache"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Success" in r.stdout
