"""The catalog against the architectures our llama.cpp can run (resources/llama_archs.txt).

The list is generated from the vendored llama.cpp source by tools/llama_archs.py; when that
source is here (an unpacked sdist, LLAMA_CPP_SDIST or /tmp/lsrc), the committed list must
match it. The installed libllama must know every catalog architecture by name too.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from assistant.library.catalog import ARCHS_PATH, load_catalog, offered, supported_architectures

ROOT = Path(__file__).resolve().parents[2]
SDIST_CANDIDATES = [os.environ.get("LLAMA_CPP_SDIST", ""), "/tmp/lsrc/llama_cpp_python-0.3.36"]


def _tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("llama_archs", ROOT / "tools" / "llama_archs.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["llama_archs"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_every_catalog_architecture_is_supported() -> None:
    archs = supported_architectures()
    assert {"llama", "gemma3", "gemma4", "qwen3", "qwen35", "gpt-oss", "granitehybrid", "smollm3"} <= archs
    missing = {e.id: e.architecture for e in load_catalog() if e.architecture not in archs}
    assert not missing, f"not runnable by this llama.cpp: {missing}"


def test_an_unsupported_architecture_is_not_offered() -> None:
    entries = load_catalog()
    archs = supported_architectures() - {"gpt-oss"}
    shown = offered(entries, archs)
    assert "gpt-oss-20b" not in {e.id for e in shown}
    assert len(shown) == len(entries) - 1


def test_the_installed_libllama_knows_every_catalog_architecture() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    libs = sorted((Path(llama_cpp.__file__).parent / "lib").glob("libllama*")) or \
        sorted(Path(llama_cpp.__file__).parent.rglob("*llama.*"))
    lib = next((p for p in libs if p.is_file() and p.suffix in (".so", ".dylib", ".dll", ".0")), None)
    if lib is None:
        pytest.skip("no libllama found next to llama_cpp")
    data = lib.read_bytes()
    for arch in {e.architecture for e in load_catalog()}:  # C strings in LLM_ARCH_NAMES
        assert b"\0" + arch.encode() + b"\0" in data, arch


def test_the_tool_parses_llm_arch_names() -> None:
    tool = _tool()
    src = ('static const std::map<llm_arch, const char *> LLM_ARCH_NAMES = {\n'
           '    { LLM_ARCH_CLIP, "clip" }, // dummy\n    { LLM_ARCH_LLAMA,  "llama"  },\n'
           '    { LLM_ARCH_OPENAI_MOE, "gpt-oss" },\n};\nstatic const std::map<x, y> OTHER = { { A, "nope" } };\n')
    assert tool.names_from_source(src) == ["llama", "gpt-oss"]
    assert tool.render(["llama"]).splitlines()[-1] == "llama"


def test_the_committed_list_matches_the_vendored_source() -> None:
    tool = _tool()
    src = next((Path(p) for p in SDIST_CANDIDATES if p and (Path(p) / tool.ARCH_CPP).is_file()), None)
    if src is None:
        pytest.skip("the llama-cpp-python sdist is not unpacked here (set LLAMA_CPP_SDIST)")
    expected = tool.render(tool.names_from_source(tool.read_source(src)))
    assert ARCHS_PATH.read_text(encoding="utf-8") == expected, "run tools/llama_archs.py"
