"""Each local engine in a child process of its own: real llama.cpp, real processes, real
crashes (signals delivered to the child by the test hook or by the test)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path

import psutil
import pytest

from assistant import network
from assistant.chat.store import ChatStore
from assistant.chat.turn import run_turn
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines import factory, safe_mode
from assistant.engines.host import EngineProxy
from assistant.engines.host_child import CRASH_ENV, PROBE_ENV
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.llamacpp_draft import DRAFT_MAX
from assistant.errors import EngineCrashedError, EngineError, LoadCancelledError, PromptTooLongError

GREEDY = GenParams(max_tokens=24, temperature=0.0, repeat_penalty=1.0)
# one thread: llama.cpp's threads spin-wait on each other, which is slow on busy cores
OPTS1 = LoadOptions(n_ctx=2048, n_threads=1)
LIGHT = LoadOptions(n_ctx=1024, n_threads=1)
SHORT = GenParams(max_tokens=6, temperature=0.0, repeat_penalty=1.0)


def collect(engine, messages, params=GREEDY, cancel=None):  # type: ignore[no-untyped-def]
    chunks = list(engine.stream_chat(messages, params, cancel or threading.Event()))
    return "".join(c.text for c in chunks), chunks


def new_proxy(path: Path, options: LoadOptions = LIGHT, **kw) -> EngineProxy:  # type: ignore[no-untyped-def]
    p = EngineProxy("llama.cpp", **kw)
    p.load(ModelRef(path, "gguf"), options)
    return p


@pytest.fixture(scope="module")
def local(gemma_path: Path):  # type: ignore[no-untyped-def]
    """The same engine in this process, with the same options as `proxy`."""
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), OPTS1)
    yield e
    e.unload()


@pytest.fixture(scope="module")
def proxy(gemma_path: Path):  # type: ignore[no-untyped-def]
    p = new_proxy(gemma_path, OPTS1)
    yield p
    p.unload()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# -- streaming ----------------------------------------------------------------------------
def test_tokens_stream_through_the_child(proxy: EngineProxy) -> None:
    assert proxy.pid and proxy.pid != os.getpid() and proxy.alive
    assert proxy.name == "llama.cpp" and proxy.backend == "CPU" and proxy.context_length == 2048
    messages = [Message("user", "Name three colours.")]
    arrivals: list[float] = []
    chunks = []
    t0 = time.perf_counter()
    for c in proxy.stream_chat(messages, GenParams(max_tokens=20, temperature=0.7, seed=1), threading.Event()):
        arrivals.append(time.perf_counter() - t0)
        chunks.append(c)
    assert chunks[-1].done and all(not c.done for c in chunks[:-1])
    assert len(chunks) > 5, "each piece of text must come as it is produced"
    # pieces arrive spread over the answer, not all at the end
    assert arrivals[len(arrivals) // 2] < arrivals[-1] * 0.8
    final = chunks[-1]
    assert final.usage.prompt_tokens == proxy.count_tokens(messages)
    assert 0 < final.usage.completion_tokens <= 20 and final.timings.ttft_s > 0


def test_same_answer_as_the_in_process_engine(proxy: EngineProxy, local: LlamaCppEngine) -> None:
    for messages in ([Message("user", "Write one sentence about rivers.")],
                     [Message("system", "Be brief."), Message("user", "What is 2 + 2?")]):
        ours, c1 = collect(proxy, messages)
        theirs, c2 = collect(local, messages)
        assert ours == theirs and ours.strip()
        assert c1[-1].usage.completion_tokens == c2[-1].usage.completion_tokens
    # seeded sampling too
    params = GenParams(max_tokens=20, temperature=0.8, seed=42)
    assert collect(proxy, messages, params)[0] == collect(local, messages, params)[0]


def test_typed_errors_cross_the_pipe(proxy: EngineProxy) -> None:
    with pytest.raises(PromptTooLongError) as err:
        collect(proxy, [Message("user", "word " * 5000)])
    assert err.value.limit == 2048 and err.value.needed > 2048 and "2048" in str(err.value)
    assert err.value.hint
    assert collect(proxy, [Message("user", "Hi")], SHORT)[0]  # still works


def test_cancel_mid_answer(proxy: EngineProxy) -> None:
    cancel = threading.Event()
    got = []
    for chunk in proxy.stream_chat([Message("user", "Tell me a long story.")], GenParams(max_tokens=300, temperature=0.8, seed=3), cancel):
        got.append(chunk)
        if len(got) == 3:
            cancel.set()
    assert got[-1].done and got[-1].finish_reason == "cancelled"
    # at most one step after the stop arrives: a step is one token, or a kept prompt-lookup draft
    assert got[-1].usage.completion_tokens <= 6 + DRAFT_MAX
    # an abandoned stream (the caller stops reading) leaves the engine usable
    stream = proxy.stream_chat([Message("user", "Count to fifty.")], GenParams(max_tokens=200, temperature=0.0), threading.Event())
    next(stream)
    stream.close()
    assert collect(proxy, [Message("user", "Hi")], SHORT)[0]


def test_stop_during_a_long_prompt_evaluation_is_quick(gemma_path: Path) -> None:
    p = new_proxy(gemma_path, LoadOptions(n_ctx=4608, n_threads=1))
    try:
        messages = [Message("user", "Summarise this. " + "The quick brown fox jumps over the lazy dog. " * 400)]
        n = p.count_tokens(messages)
        assert 3800 <= n <= 4500, n
        cancel = threading.Event()
        stream = p.stream_chat(messages, GenParams(max_tokens=8, temperature=0.0), cancel)
        done: list[float] = []
        chunks = []

        def consume() -> None:
            chunks.extend(stream)
            done.append(time.perf_counter())

        t = threading.Thread(target=consume)
        t.start()
        time.sleep(0.6)  # well into the prompt: it takes seconds on this machine
        stopped_at = time.perf_counter()
        cancel.set()
        t.join(30)
        latency = done[0] - stopped_at
        print(f"\nstop during evaluation of a {n}-token prompt: answered in {latency * 1000:.0f} ms")
        assert latency < 2.0
        assert chunks[-1].done and chunks[-1].finish_reason == "cancelled"
        assert chunks[-1].usage.completion_tokens == 0
    finally:
        p.unload()


# -- crashes ---------------------------------------------------------------------------------
def test_segfault_at_the_third_token_keeps_the_partial_answer(gemma_path: Path, home: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "token:3:SIGSEGV:repack")
    p = new_proxy(gemma_path)
    pid = p.pid
    seen: list[str] = []
    with ChatStore.open(home / "history.sqlite3") as store:
        conv = store.create_conversation(title="t", system_prompt=None, model="gemma")
        result = run_turn(store, p, conv.id, system_prompt=None, params=GREEDY, cancel=threading.Event(),
                          model_name="gemma", user_text="Write a poem about the sea.", on_text=seen.append)
        assert result.status == "failed"
        err = result.error
        assert isinstance(err, EngineCrashedError) and err.phase == "answer" and err.exitcode == -signal.SIGSEGV
        assert "stopped unexpectedly while answering" in err.message and "signal 11" in err.message
        assert "llama.cpp's CPU code" in err.message and "Your conversation is safe" in err.message
        assert "partial answer was kept" in err.hint and "safe mode" in err.hint
        assert len(seen) == 3 and result.text == "".join(seen)
        stored = store.messages(conv.id)[-1]
        assert (stored.role, stored.status, stored.content) == ("assistant", "failed", result.text)
        assert gone(pid)
        # the next turn reloads in safe mode (the hook fires only with repacking on) and answers
        again = run_turn(store, p, conv.id, system_prompt=None, params=SHORT, cancel=threading.Event(),
                         model_name="gemma", user_text="And about the sky?")
        assert again.status == "complete" and again.text, again.error
        assert p.pid != pid and p.safe_level == 1
    assert safe_mode.level_for(gemma_path) == 1
    p.unload()


def test_the_test_can_kill_the_child_mid_answer(proxy: EngineProxy, gemma_path: Path) -> None:
    p = new_proxy(gemma_path)
    stream = p.stream_chat([Message("user", "Tell me a long story.")], GenParams(max_tokens=60, temperature=0.8), threading.Event())
    text = next(stream).text
    os.kill(p.pid, signal.SIGKILL)
    with pytest.raises(EngineCrashedError, match="signal 9") as err:
        for c in stream:
            text += c.text
    assert err.value.phase == "answer"
    assert collect(p, [Message("user", "Hi")], SHORT)[0]  # a new process, same model
    p.unload()


def test_sigkill_during_load_is_a_typed_error_naming_the_file(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "load:SIGKILL")
    p = EngineProxy("llama.cpp")
    with pytest.raises(EngineCrashedError) as err:
        p.load(ModelRef(gemma_path, "gguf"), LIGHT)
    msg = str(err.value)
    assert "while loading" in msg and gemma_path.name in msg and "signal 9" in msg
    assert "Safe mode did not help" in msg and str(gemma_path) in msg
    assert err.value.phase == "load" and not p.alive
    assert safe_mode.entries() == []  # nothing worked, so nothing is remembered


def test_abort_in_the_child_is_reported_too(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "load:SIGABRT")
    with pytest.raises(EngineCrashedError, match="signal 6, an abort"):
        new_proxy(gemma_path, use_safe_mode_store=False)


def test_safe_mode_after_a_crash_at_load_is_retried_and_remembered(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # the hook crashes only while CPU weight repacking is on: safe mode's first step gets past it
    monkeypatch.setenv(CRASH_ENV, "load:SIGSEGV:repack")
    p = new_proxy(gemma_path)
    assert p.safe_level == 1 and not p.safe_settings.repack
    assert "repacking" in p.safe_mode_note and "signal 11" in p.safe_mode_note
    assert collect(p, [Message("user", "Hi")], SHORT)[0]
    p.unload()
    [entry] = safe_mode.entries()
    assert entry.level == 1 and entry.model == str(gemma_path.absolute())
    assert "repacking" in entry.what and "signal 11" in entry.reason
    # the next load starts in safe mode directly (level 0 would crash again)
    p2 = new_proxy(gemma_path)
    assert p2.safe_level == 1 and "remembered" in p2.safe_mode_note
    p2.unload()
    assert safe_mode.reset(gemma_path) == 1 and safe_mode.entries() == []


def test_crash_before_the_first_token_is_retried_in_safe_mode(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "answer:SIGSEGV:repack")
    p = new_proxy(gemma_path)
    first = p.pid
    text, chunks = collect(p, [Message("user", "Say hello.")], SHORT)
    assert text and chunks[-1].done  # the caller saw nothing but a slower first token
    assert p.pid != first and p.safe_level == 1 and safe_mode.level_for(gemma_path) == 1
    p.unload()


def test_safe_mode_switches_reach_llama_cpp_params() -> None:
    import llama_cpp

    mp, cp = llama_cpp.llama_model_default_params(), llama_cpp.llama_context_default_params()
    assert mp.use_extra_bufts  # the field exists in this llama-cpp-python, on by default
    for level in range(safe_mode.MAX_LEVEL + 1):
        s = safe_mode.settings(level)
        safe_mode.apply_model_params(s, mp, llama_cpp)
        safe_mode.apply_context_params(s, cp, llama_cpp)
    assert not mp.use_extra_bufts and mp.load_mode == llama_cpp.LLAMA_LOAD_MODE_NONE
    assert cp.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
    assert [safe_mode.gpu_layers(safe_mode.settings(i), -1, 18) for i in (0, 2, 3, 4)] == [-1, -1, 9, 0]
    assert safe_mode.next_level(0, 0) == 1 and safe_mode.next_level(2, 0) == 5 and safe_mode.next_level(2, -1) == 3
    assert safe_mode.next_level(5, -1) is None


# -- process life -----------------------------------------------------------------------------
def test_unload_ends_the_child(gemma_path: Path) -> None:
    p = new_proxy(gemma_path, LoadOptions(n_ctx=512, n_threads=1))
    pid = p.pid
    assert psutil.Process(pid).memory_info().rss > 100 * 1024**2  # the weights live there
    p.unload()
    assert gone(pid) and not p.loaded
    with pytest.raises(EngineError, match="No model is loaded"):
        collect(p, [Message("user", "hi")])


def test_cancel_while_loading_ends_the_child(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "load:hang")
    p = EngineProxy("llama.cpp")
    errors: list[BaseException] = []

    def load() -> None:
        try:
            p.load(ModelRef(gemma_path, "gguf"), LIGHT)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=load)
    t.start()
    deadline = time.time() + 60
    while p.pid is None and time.time() < deadline:
        time.sleep(0.05)
    pid = p.pid
    time.sleep(1.5)  # started, and now hanging in the load
    t0 = time.perf_counter()
    p.cancel_load()
    t.join(10)
    assert isinstance(errors[0], LoadCancelledError) and time.perf_counter() - t0 < 2
    assert gone(pid)


def test_a_load_with_no_progress_times_out(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(CRASH_ENV, "load:hang")
    p = EngineProxy("llama.cpp", load_timeout_s=2)
    with pytest.raises(EngineError, match="no progress for 2 s"):
        p.load(ModelRef(gemma_path, "gguf"), LIGHT)
    assert not p.alive


# -- offline mode ---------------------------------------------------------------------------
def test_offline_mode_holds_in_the_child(gemma_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.5)
    monkeypatch.setenv(PROBE_ENV, f"127.0.0.1:{server.getsockname()[1]}")
    try:
        network.set_offline(True)
        p = new_proxy(gemma_path, LoadOptions(n_ctx=512, n_threads=1))
        assert p.test_probe is not None and p.test_probe.startswith("blocked: NetworkBlockedError"), p.test_probe
        with pytest.raises(socket.timeout):
            server.accept()  # nothing reached the listener
        assert any(e.outcome == "blocked" and e.host == "127.0.0.1" for e in network.entries())
        # the state follows the app's: online now, then offline again, in the same child
        network.set_offline(False)
        assert p.probe_network() == "connected"
        server.accept()[0].close()
        network.set_offline(True)
        assert p.probe_network().startswith("blocked")
        p.unload()
    finally:
        network.set_offline(False)
        server.close()


# -- the factory ---------------------------------------------------------------------------------
def test_factory_hands_out_the_proxy_with_an_escape_hatch(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(factory.IN_PROCESS_ENV, raising=False)
    assert isinstance(factory.make_engine("llama.cpp"), EngineProxy)
    assert factory.make_engine("mlx").name == "mlx"
    assert isinstance(factory.make_engine("llama.cpp", in_process=True), LlamaCppEngine)
    monkeypatch.setenv(factory.IN_PROCESS_ENV, "1")
    assert isinstance(factory.make_engine("llama.cpp"), LlamaCppEngine)


# -- MLX in its process ----------------------------------------------------------------------
def test_mlx_runs_in_its_process_on_one_thread(tmp_path: Path) -> None:
    pytest.importorskip("mlx_lm")
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from mlx_tiny import build_tiny_model

    from assistant.engines.mlx import MlxEngine

    model = ModelRef(build_tiny_model(tmp_path / "tiny-llama"), "mlx")
    params = GenParams(max_tokens=10, temperature=0.0, repeat_penalty=1.1, seed=0)
    messages = [Message("user", "Hello there")]
    p = EngineProxy("mlx")
    p.load(model, LoadOptions(n_ctx=512))
    try:
        assert p.name == "mlx" and p.backend == "MLX" and p.pid != os.getpid()
        # the proxy's caller may be any thread: the child loads and generates on its main thread
        out: list[str] = []
        t = threading.Thread(target=lambda: out.append(collect(p, messages, params)[0]))
        t.start()
        t.join(120)
        e = MlxEngine()
        e.load(model, LoadOptions(n_ctx=512))
        try:
            assert out[0] == collect(e, messages, params)[0] and out[0]
        finally:
            e.unload()
    finally:
        p.unload()


def test_the_child_ends_when_the_app_is_killed(gemma_path: Path, home: Path) -> None:
    import subprocess
    import sys

    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from assistant.engines.host import EngineProxy\n"
        "from assistant.engines.base import LoadOptions, ModelRef\n"
        "from assistant.logs import setup_logging\n"
        "from assistant.paths import get_paths\n"
        "if __name__ == '__main__':\n"
        "    setup_logging(get_paths().log_file)\n"
        "    p = EngineProxy('llama.cpp')\n"
        f"    p.load(ModelRef(Path({str(gemma_path)!r}), 'gguf'), LoadOptions(n_ctx=512, n_threads=2))\n"
        "    print(p.pid, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]), ASSISTANT_HOME=str(home))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr
    child = int(r.stdout.split()[0])
    deadline = time.time() + 10
    while not gone(child) and time.time() < deadline:
        time.sleep(0.1)
    assert gone(child), "the engine process outlived the app"
    # the child's logging went to the app's log file (written by the app alone, so its
    # rotation cannot race), llama.cpp's own lines included
    log_text = (home / "logs" / "assistant.log").read_text()
    assert "assistant.engines.llamacpp: loaded gemma-3-270m-q4_k_m.gguf" in log_text
    assert "llama.cpp:" in log_text


def test_the_childs_log_records_are_written_by_the_app(gemma_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    p = new_proxy(gemma_path)
    try:
        pid = p.pid
        collect(p, [Message("user", "Hi")], SHORT)
    finally:
        p.unload()
    from_child = [r for r in caplog.records if r.process == pid]
    names = {r.name for r in from_child}
    # llama.cpp's own log and the engine's, made in the child, handled by this process's handlers
    assert "llama.cpp" in names and "assistant.engines.llamacpp" in names, names
    assert any("loaded gemma-3-270m-q4_k_m.gguf" in r.getMessage() for r in from_child)
