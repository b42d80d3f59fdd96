"""Switching models with the real llama.cpp engine: the previous model is unloaded and
its memory freed before the next one loads."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from assistant import model_settings
from assistant.chat.store import ChatStore
from assistant.core.types import ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.model_settings import ModelSettings
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.chat.session import ChatSession

LOAD_TIMEOUT = 60_000


def _rss() -> int:
    return psutil.Process().memory_info().rss


@pytest.fixture
def two_models(gemma_path: Path) -> tuple[Path, Path]:
    models = get_paths().ensure().models_dir
    a, b = models / "a__gemma" / "gemma-a.gguf", models / "b__gemma" / "gemma-b.gguf"
    for dst in (a, b):
        dst.parent.mkdir(parents=True)
        dst.write_bytes(gemma_path.read_bytes())  # real copies: separate files, separate pages
    return a, b


def test_switch_unloads_the_previous_engine_first(qtbot, two_models, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a, b = two_models
    events: list[tuple[str, int, str]] = []
    real_load, real_unload = LlamaCppEngine.load, LlamaCppEngine.unload

    def load(self, model, options):  # type: ignore[no-untyped-def]
        events.append(("load", id(self), Path(model.path).name))
        return real_load(self, model, options)

    def unload(self):  # type: ignore[no-untyped-def]
        events.append(("unload", id(self), ""))
        return real_unload(self)

    # this test watches the engine objects themselves: keep them in this process
    monkeypatch.setenv("ASSISTANT_ENGINE_IN_PROCESS", "1")
    monkeypatch.setattr(LlamaCppEngine, "load", load)
    monkeypatch.setattr(LlamaCppEngine, "unload", unload)
    settings = Settings(context_length=1024, n_threads=2, n_gpu_layers=0)
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    session = ChatSession(store, settings)
    try:
        rss0 = _rss()
        session.load_model(ModelRef(a, "gguf"))
        qtbot.waitUntil(lambda: session.loaded is not None, timeout=LOAD_TIMEOUT)
        first = session.host.worker._engine
        assert isinstance(first, LlamaCppEngine) and first.loaded
        # touch the weights so their pages count in RSS, as a chat would
        session.settings.generation.max_tokens = 4
        assert session.send("Hello")
        qtbot.waitUntil(lambda: not session.busy, timeout=LOAD_TIMEOUT)
        rss1 = _rss()

        session.load_model(ModelRef(b, "gguf"))
        qtbot.waitUntil(lambda: session.loaded is not None and session.loaded.model.path == b, timeout=LOAD_TIMEOUT)
        second = session.host.worker._engine
        assert second is not first and second.loaded
        # the first engine's llama.cpp context and model handles are freed
        assert first._ctx is None and first._model is None and not first.loaded
        # order: the first engine was unloaded before the second load began
        unload_i = events.index(("unload", id(first), ""))
        load_b = events.index(("load", id(second), "gemma-b.gguf"))
        assert unload_i < load_b
        assert session.send("Hello again")
        qtbot.waitUntil(lambda: not session.busy, timeout=LOAD_TIMEOUT)
        rss2 = _rss()
        size = a.stat().st_size
        # one model in memory, not two: RSS grew by well under a whole model's weights
        assert rss2 - rss1 < size * 0.5, (rss0, rss1, rss2, size)
        # the mapping of the first file is gone from the process
        mapped = {m.path for m in psutil.Process().memory_maps()}
        assert str(b) in mapped and str(a) not in mapped
        print(f"RSS: start {rss0 >> 20} MiB, model A {rss1 >> 20} MiB, after switch to B {rss2 >> 20} MiB; file {size >> 20} MiB")
    finally:
        session.shutdown()
        store.close()


def test_changed_load_settings_reach_the_engine(qtbot, two_models) -> None:  # type: ignore[no-untyped-def]
    a, _b = two_models
    settings = Settings(context_length=2048, n_threads=2, n_gpu_layers=0)
    model_settings.put(settings, a, ModelSettings(context_length=768, temperature=0.0, max_tokens=3))
    store = ChatStore.open(get_paths().ensure().history_db)
    session = ChatSession(store, settings)
    try:
        session.load_model(ModelRef(a, "gguf"))
        qtbot.waitUntil(lambda: session.loaded is not None, timeout=LOAD_TIMEOUT)
        assert session.loaded.context_length == 768
        assert session.host.worker._engine.context_length == 768
        p = session.params()
        assert (p.temperature, p.max_tokens) == (0.0, 3)
    finally:
        session.shutdown()
        store.close()


def test_main_window_switches_from_the_library_and_reloads_on_a_load_setting(qtbot, two_models) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.main_window import MainWindow

    a, b = two_models
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    settings = Settings(context_length=1024, n_threads=2, n_gpu_layers=0, first_run_done=True, default_model=str(a))
    w = MainWindow(paths, settings, store)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=LOAD_TIMEOUT)
        assert w.session.loaded.model.path == a and w.header.picker.count() == 2
        first = w.session.host.worker._engine
        w.open_library(3)
        tab = w.library.installed_tab
        qtbot.waitUntil(lambda: tab.installed.rowCount() == 2 and not w.library.busy, timeout=LOAD_TIMEOUT)
        row = next(i for i in range(2) if tab.installed.row_at(i).path == b)
        tab.installed_view.selectRow(row)
        tab.use_button.click()  # "Use this model"
        qtbot.waitUntil(lambda: w.session.loaded is not None and w.session.loaded.model.path == b, timeout=LOAD_TIMEOUT)
        assert not first.loaded and w.header.picker.currentIndex() == w.installed.row_of_path(str(b))
        # a load option changed for the loaded model: it loads again with it
        old = model_settings.get(w.settings, b)
        new = ModelSettings(context_length=640)
        model_settings.put(w.settings, b, new)
        second = w.session.host.worker._engine
        w._on_model_settings_changed(ModelRef(b, "gguf"), old, new)
        qtbot.waitUntil(lambda: w.session.loaded is not None and w.session.loaded.context_length == 640, timeout=LOAD_TIMEOUT)
        assert not second.loaded
        # sampling only: no reload
        engine = w.session.host.worker._engine
        w._on_model_settings_changed(ModelRef(b, "gguf"), new, ModelSettings(context_length=640, temperature=0.1))
        assert w.session.loading is None  # a reload would have been asked for right here, synchronously
        assert w.session.host.worker._engine is engine and engine.loaded
        # the last-used time was recorded
        from assistant.library import usage

        assert str(b) in usage.load_usage(usage.usage_path(paths.data_dir))
    finally:
        w.close()
        store.close()
