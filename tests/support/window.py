"""The main window on the real Gemma model, as the window tests start it: settings with the
test model and greedy, short answers; shown, and waited for until the model is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.main_window import MainWindow

LOAD_TIMEOUT = 60_000


def gemma_settings(gemma_path: Path, *, max_tokens: int = 6, **fields: Any) -> Settings:
    s = Settings(**{"extra_models": [str(gemma_path)], "context_length": 2048, "n_threads": 2,
                    "first_run_done": True, **fields})
    s.generation.max_tokens = max_tokens
    s.generation.temperature = 0.0
    return s


def open_window(qtbot: Any, settings: Settings, *, size: tuple[int, int] | None = None,
                wait_loaded: bool = True, timeout: int = LOAD_TIMEOUT) -> MainWindow:
    paths = get_paths().ensure()
    w = MainWindow(paths, settings, ChatStore.open(paths.history_db))
    qtbot.addWidget(w)
    if size is not None:
        w.resize(*size)
    w.show()
    if wait_loaded:
        qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=timeout)
    return w


def close_window(w: MainWindow) -> None:
    w.close()
    w.store.close()
