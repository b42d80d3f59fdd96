"""One engine process per model, shared by the window's chat and the API server, and the
idle unload of a model only requests use: real engine processes, RSS measured."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psutil
import pytest

from assistant.core.types import GenParams, Message, ModelRef
from assistant.engines.shared import SharedEngines
from assistant.settings import Settings

SETTINGS = Settings(context_length=1024, n_threads=1, n_gpu_layers=0)
SHORT = GenParams(max_tokens=4, temperature=0.0)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def answer(engine, text: str = "Hi") -> str:  # type: ignore[no-untyped-def]
    return "".join(c.text for c in engine.stream_chat([Message("user", text)], SHORT, threading.Event()))


def test_chat_and_server_share_one_process_and_idle_unload_frees_it(gemma_path: Path) -> None:
    model = ModelRef(gemma_path, "gguf")
    shared = SharedEngines(idle_unload_s=None)
    chat, _plan = shared.hold(model, SETTINGS, "window")
    pid = chat.pid  # type: ignore[attr-defined]
    with shared.use(model, SETTINGS) as served:
        assert served is chat and served.pid == pid  # type: ignore[attr-defined]
        assert answer(served)
    assert len([p for p in psutil.Process().children() if p.pid == pid]) == 1
    rss = psutil.Process(pid).memory_info().rss
    assert rss > 100 * 1024**2  # the weights live there, once

    # the window lets go while a request runs: the model stays until the request ends
    shared.idle_unload_s = 1.0
    with shared.use(model, SETTINGS) as served:
        shared.release(model, "window")
        assert not gone(pid) and answer(served)
        t_end = time.monotonic()
    deadline = time.monotonic() + 30
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid), "the idle model was not unloaded"
    waited = time.monotonic() - t_end
    assert 0.9 <= waited < 10, waited  # after the idle time, not before
    assert shared.unloaded == [str(gemma_path)] and shared.engine_for(model) is None
    print(f"engine process RSS {rss / 1024**2:.0f} MiB, freed {waited:.1f} s after the last request")
    shared.close()


def test_the_window_letting_go_of_an_unused_model_unloads_it_at_once(gemma_path: Path) -> None:
    model = ModelRef(gemma_path, "gguf")
    shared = SharedEngines(idle_unload_s=None)
    engine, _ = shared.hold(model, SETTINGS, "window")
    pid = engine.pid  # type: ignore[attr-defined]
    again, _ = shared.hold(model, SETTINGS, "another window")
    assert again is engine
    shared.release(model, "window")
    assert not gone(pid)  # the other holder keeps it
    shared.release(model, "another window")
    assert gone(pid) and not engine.loaded  # type: ignore[attr-defined]


def test_a_failed_load_is_said_to_every_caller(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    shared = SharedEngines(idle_unload_s=None)
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError):
        shared.hold(ModelRef(bad, "gguf"), SETTINGS, "window")
    assert shared.loaded() == []


def test_status_and_unload_say_who_keeps_a_model_and_refuse_the_windows(gemma_path: Path) -> None:
    from assistant.errors import EngineError, ModelNotFoundError

    model = ModelRef(gemma_path, "gguf")
    shared = SharedEngines(idle_unload_s=600.0)
    engine, _ = shared.hold(model, SETTINGS, "window")
    pid = engine.pid  # type: ignore[attr-defined]
    [row] = shared.status()
    assert (row.model, row.holders, row.requests, row.idle_unload_in_s, row.pid) == (model, ("window",), 0, None, pid)
    with pytest.raises(EngineError, match="window's chat"):
        shared.unload(model, frozenset({"api-server"}))  # the server may not take the window's model away
    shared.hold(model, SETTINGS, "api-server")
    shared.release(model, "window")
    with shared.use(model, SETTINGS):
        assert shared.status()[0].requests == 1
        with pytest.raises(EngineError, match="answering"):
            shared.unload(model, frozenset({"api-server"}))
    shared.release(model, "api-server")  # unloaded at once: nobody holds or uses it
    assert shared.status() == [] and gone(pid)
    with shared.use(model, SETTINGS):  # loaded for a request: idle time counts from its end
        pass
    [row] = shared.status()
    assert row.holders == () and 590 < row.idle_unload_in_s <= 600  # type: ignore[operator]
    shared.unload(model)
    assert gone(row.pid) and shared.status() == []  # type: ignore[arg-type]
    with pytest.raises(ModelNotFoundError):
        shared.unload(model)
    shared.close()
