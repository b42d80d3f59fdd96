"""The cloud engine through the real SDKs, against real servers on 127.0.0.1 (no mocks).

OpenAI: the openai SDK against llama-cpp-python's OpenAI-compatible server running the
real Gemma 3 270M in a subprocess. Anthropic: the anthropic SDK against
tests/support/anthropic_server.py, which speaks the documented Messages API.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.anthropic_server import AnthropicServer, answer_pieces, answer_text
from support.llama_server import ALIAS, LlamaServer, running_llama_server

from assistant import network
from assistant.core.types import Chunk, GenParams, Message
from assistant.engines.base import Engine
from assistant.engines.cloud import DEFAULT_CONTEXT, CloudEngine
from assistant.errors import AssistantError, EngineError, NetworkBlockedError

OPENAI_KEY = "sk-local-test-7f3a9c1e5b2d4f6a8c0e"
ANTHROPIC_KEY = "sk-ant-test-2b4d6f8a0c1e3a5c7e9f"
PROMPT = [Message("user", "Write a long story about a cat who lives on a boat.")]


@pytest.fixture(scope="module")
def llama_server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("llama_server")
    # the poll's sockets go into a record under this module's temp dir, not the user's
    with running_llama_server(gemma_path, tmp, OPENAI_KEY, home=tmp / "home") as server:
        yield server


@pytest.fixture(scope="module")
def claude() -> Iterator[AnthropicServer]:
    with AnthropicServer(ANTHROPIC_KEY) as server:
        yield server


@pytest.fixture
def claude_server(claude: AnthropicServer) -> AnthropicServer:
    claude.reset()
    return claude


def _openai(server: LlamaServer, key: str = OPENAI_KEY, **kw: object) -> CloudEngine:
    return CloudEngine("openai-compatible", ALIAS, key, base_url=server.base_url, **kw)  # type: ignore[arg-type]


def _anthropic(server: AnthropicServer, key: str = ANTHROPIC_KEY, **kw: object) -> CloudEngine:
    return CloudEngine("anthropic", "claude-test-1", key, base_url=server.base_url, **kw)  # type: ignore[arg-type]


def _record_text() -> str:
    path = network.record_path()
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _collect(it: Iterator[Chunk]) -> tuple[list[str], Chunk | None, AssistantError | None]:
    """The streamed texts, the final chunk, and the engine's typed error if it raised one.
    Anything else (a bug, an SDK exception that escaped) fails the test where it happens."""
    texts: list[str] = []
    last: Chunk | None = None
    try:
        for c in it:
            if c.done:
                last = c
            elif c.text:
                texts.append(c.text)
    except AssistantError as exc:  # returned for the test to judge
        return texts, last, exc
    return texts, last, None


# ---------------------------------------------------------------- construction


def test_engine_protocol_repr_and_estimates() -> None:
    engine = CloudEngine("openai", "gpt-4o-mini", OPENAI_KEY)
    assert isinstance(engine, Engine)
    assert engine.name == "cloud" and engine.backend == "OpenAI"
    assert OPENAI_KEY not in repr(engine) and OPENAI_KEY not in str(vars(engine).keys())
    assert not any(isinstance(v, str) and OPENAI_KEY in v for k, v in vars(engine).items() if not k.startswith("_"))
    assert engine.context_length == 128_000
    assert CloudEngine("anthropic", "claude-sonnet-4-5", ANTHROPIC_KEY).context_length == 200_000
    assert CloudEngine("openai-compatible", "whatever", "", base_url="http://127.0.0.1:1/v1").context_length == DEFAULT_CONTEXT
    # 40 characters ~ 10 tokens, plus a little per message
    assert 10 <= engine.count_tokens([Message("user", "x" * 40)]) <= 16
    engine.load(None, None)  # nothing to load


def test_bad_construction_in_plain_words() -> None:
    with pytest.raises(EngineError, match="Unknown cloud provider"):
        CloudEngine("gemini", "m", "k")
    with pytest.raises(EngineError, match="needs its address"):
        CloudEngine("openai-compatible", "m", "k")
    with pytest.raises(EngineError, match="No OpenAI API key"):
        CloudEngine("openai", "gpt-4o", "")
    with pytest.raises(EngineError, match="No cloud model"):
        CloudEngine("openai", " ", "k")


# ---------------------------------------------------------------- OpenAI-compatible (llama.cpp server)


@pytest.mark.slow
def test_openai_streams_text_usage_and_finish(llama_server: LlamaServer) -> None:
    engine = _openai(llama_server)
    texts, last, err = _collect(engine.stream_chat(PROMPT, GenParams(max_tokens=24, temperature=0), threading.Event()))
    assert err is None, err
    assert len(texts) >= 3
    assert last is not None and last.finish_reason in ("stop", "length")
    assert last.usage is not None and last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert last.timings is not None and 0 < last.timings.ttft_s <= last.timings.total_s


@pytest.mark.slow
def test_openai_cancel_after_two_chunks(llama_server: LlamaServer) -> None:
    engine = _openai(llama_server)
    cancel = threading.Event()
    texts: list[str] = []
    last: Chunk | None = None
    for chunk in engine.stream_chat(PROMPT, GenParams(max_tokens=200, temperature=0), cancel):
        if chunk.done:
            last = chunk
        elif chunk.text:
            texts.append(chunk.text)
            if len(texts) == 2:
                cancel.set()
    assert len(texts) == 2
    assert last is not None and last.finish_reason == "cancelled"


@pytest.mark.slow
def test_openai_models_key_and_record(llama_server: LlamaServer) -> None:
    engine = _openai(llama_server)
    assert ALIAS in engine.list_models()
    engine.check_key()
    _collect(engine.stream_chat(PROMPT, GenParams(max_tokens=8), threading.Event()))

    lines = network.entries()
    chat = [e for e in lines if e.path == "/v1/chat/completions"]
    assert chat and chat[0].purpose == "OpenAI-compatible: chat" and chat[0].status == 200
    assert chat[0].host == "127.0.0.1" and chat[0].method == "POST"
    assert any(e.path == "/v1/models" and e.purpose == "OpenAI-compatible: model list" for e in lines)
    assert OPENAI_KEY not in _record_text()


@pytest.mark.slow
def test_openai_wrong_key_is_refused_in_plain_words(llama_server: LlamaServer) -> None:
    wrong = "sk-wrong-9d8c7b6a5f4e3d2c1b0a"
    engine = _openai(llama_server, key=wrong)
    with pytest.raises(EngineError) as info:
        engine.check_key()
    assert info.value.message == "The OpenAI-compatible API key was refused (401)."
    assert "Settings → Cloud" in info.value.hint
    assert wrong not in str(info.value) and info.value.__cause__ is None
    _, _, err = _collect(engine.stream_chat(PROMPT, GenParams(max_tokens=4), threading.Event()))
    assert isinstance(err, EngineError) and "(401)" in err.message and wrong not in str(err)
    assert wrong not in _record_text()


@pytest.mark.slow
def test_openai_offline_makes_no_request(llama_server: LlamaServer) -> None:
    engine = _openai(llama_server)
    _collect(engine.stream_chat(PROMPT, GenParams(max_tokens=2), threading.Event()))  # the access log works
    time.sleep(0.3)
    before = llama_server.chat_requests()
    assert before >= 1
    network.set_offline(True)
    try:
        with pytest.raises(NetworkBlockedError, match="Offline mode is on"):
            list(engine.stream_chat(PROMPT, GenParams(max_tokens=4), threading.Event()))
        with pytest.raises(NetworkBlockedError):
            engine.list_models()
    finally:
        network.set_offline(False)
    time.sleep(0.3)
    assert llama_server.chat_requests() == before
    assert network.entries()[0].outcome == network.BLOCKED


# ---------------------------------------------------------------- Anthropic (local Messages API server)


def test_anthropic_stream_text_usage_and_system(claude_server: AnthropicServer) -> None:
    engine = _anthropic(claude_server)
    messages = [
        Message("system", "Answer briefly."),
        Message("user", "first question"),
        Message("assistant", "first answer"),
        Message("user", "tell me about boats"),
    ]
    texts, last, err = _collect(engine.stream_chat(messages, GenParams(max_tokens=100), threading.Event()))
    assert err is None, err
    assert texts == answer_pieces("tell me about boats")
    assert "".join(texts) == answer_text("tell me about boats")
    assert last is not None and last.finish_reason == "stop"
    # the server counts words: system 2 + messages 2 + 2 + 4
    assert last.usage is not None and last.usage.prompt_tokens == 10
    assert last.usage.completion_tokens == len(texts)
    assert last.timings is not None and last.timings.total_s >= last.timings.ttft_s > 0

    body = claude_server.last_body
    assert body is not None
    assert body["system"] == "Answer briefly."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["model"] == "claude-test-1" and body["max_tokens"] == 100 and body["stream"] is True


def test_anthropic_max_tokens_is_length(claude_server: AnthropicServer) -> None:
    engine = _anthropic(claude_server)
    texts, last, _ = _collect(engine.stream_chat([Message("user", "a b c d e f")], GenParams(max_tokens=3), threading.Event()))
    assert len(texts) == 3 and last is not None and last.finish_reason == "length"


def test_anthropic_cancel(claude_server: AnthropicServer) -> None:
    cancel = threading.Event()
    texts: list[str] = []
    last: Chunk | None = None
    for chunk in _anthropic(claude_server).stream_chat([Message("user", "a b c d e f g")], GenParams(), cancel):
        if chunk.done:
            last = chunk
        elif chunk.text:
            texts.append(chunk.text)
            cancel.set()
    assert len(texts) == 1 and last is not None and last.finish_reason == "cancelled"


def test_anthropic_wrong_key_in_plain_words(claude_server: AnthropicServer) -> None:
    wrong = "sk-ant-wrong-0a1b2c3d4e5f6a7b8c9d"
    engine = _anthropic(claude_server, key=wrong)
    _, _, err = _collect(engine.stream_chat([Message("user", "hi")], GenParams(), threading.Event()))
    assert isinstance(err, EngineError)
    assert err.message == "The Anthropic API key was refused (401)."
    assert err.hint == "Check the key in Settings → Cloud, or create a new one."
    assert wrong not in str(err) and wrong not in repr(err) and wrong not in repr(engine)
    assert err.__cause__ is None and err.__suppress_context__
    with pytest.raises(EngineError, match=r"refused \(401\)"):
        engine.check_key()
    assert wrong not in _record_text()
    assert claude_server.count == 2  # a 401 is not retried


def test_anthropic_rate_limit_retried_then_ok(claude_server: AnthropicServer) -> None:
    claude_server.rate_limit_first = 2
    engine = _anthropic(claude_server, max_retries=2)
    texts, last, err = _collect(engine.stream_chat([Message("user", "still there")], GenParams(), threading.Event()))
    assert err is None, err
    assert "".join(texts) == answer_text("still there") and last is not None
    assert claude_server.count == 3
    statuses = [e.status for e in reversed(network.entries()) if e.path == "/v1/messages"]
    assert statuses == [429, 429, 200]


def test_anthropic_rate_limit_gives_up_in_plain_words(claude_server: AnthropicServer) -> None:
    claude_server.rate_limit_first = 5
    engine = _anthropic(claude_server, max_retries=1)
    _, _, err = _collect(engine.stream_chat([Message("user", "hi")], GenParams(), threading.Event()))
    assert isinstance(err, EngineError)
    assert err.message == "The Anthropic rate limit was reached."
    assert err.hint == "Wait a minute and try again, or retry locally."
    assert claude_server.count == 2


def test_anthropic_dropped_mid_stream_keeps_partial(claude_server: AnthropicServer) -> None:
    claude_server.drop_after = 3
    engine = _anthropic(claude_server)
    prompt = "one two three four five six"
    texts, last, err = _collect(engine.stream_chat([Message("user", prompt)], GenParams(), threading.Event()))
    assert texts == answer_pieces(prompt)[:3]
    assert last is None
    assert isinstance(err, EngineError)
    assert err.message == "The connection to Anthropic was lost mid-answer."
    assert err.hint == "The partial answer was kept. Retry, or retry locally."
    assert claude_server.count == 1  # a stream that broke is not silently re-sent


def test_anthropic_timeout_in_plain_words(claude_server: AnthropicServer) -> None:
    claude_server.delay_s = 2.0
    engine = _anthropic(claude_server, timeout_s=0.5, max_retries=0)
    _, _, err = _collect(engine.stream_chat([Message("user", "hi")], GenParams(), threading.Event()))
    assert isinstance(err, EngineError)
    assert err.message == "Anthropic did not answer within 0.5 s."


def test_anthropic_list_models_and_check_key(claude_server: AnthropicServer) -> None:
    engine = _anthropic(claude_server)
    assert engine.list_models() == ["claude-test-1", "claude-test-2"]
    engine.check_key()
    purposes = {e.purpose for e in network.entries()}
    assert {"Anthropic: model list", "Anthropic: key check"} <= purposes


def test_anthropic_offline(claude_server: AnthropicServer) -> None:
    engine = _anthropic(claude_server)
    network.set_offline(True)
    try:
        with pytest.raises(NetworkBlockedError) as info:
            engine.stream_chat([Message("user", "hi")], GenParams(), threading.Event())
        with pytest.raises(NetworkBlockedError):
            engine.check_key()
    finally:
        network.set_offline(False)
    assert "Offline mode is on" in info.value.message and "Anthropic" in info.value.message
    assert claude_server.count == 0
    assert all(e.outcome == network.BLOCKED for e in network.entries())


def test_unreachable_server_in_plain_words() -> None:
    with socket.socket() as s:  # a port that was just closed: connecting to it is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = CloudEngine("openai-compatible", "m", "k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    _, _, err = _collect(engine.stream_chat([Message("user", "hi")], GenParams(), threading.Event()))
    assert isinstance(err, EngineError) and err.message.startswith("Could not connect to OpenAI-compatible at")


# ---------------------------------------------------------------- the key and the SDKs' debug logs


@pytest.mark.slow
def test_key_absent_from_what_we_control_with_sdk_debug_logging(
    llama_server: LlamaServer, claude_server: AnthropicServer, tmp_path: Path
) -> None:
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["openai", "anthropic", "httpx2", "httpcore2", "httpcore", "assistant"]
    saved = {n: logging.getLogger(n).level for n in names}
    errors: list[BaseException] = []
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.DEBUG)
            logging.getLogger(n).addHandler(handler)
        for engine, messages in ((_openai(llama_server), PROMPT), (_anthropic(claude_server), [Message("user", "hi")])):
            texts, last, err = _collect(engine.stream_chat(messages, GenParams(max_tokens=4), threading.Event()))
            assert err is None and texts and last is not None  # the requests really ran, with the logs on
        for engine in (_openai(llama_server, key=OPENAI_KEY + "x"), _anthropic(claude_server, key=ANTHROPIC_KEY + "x")):
            try:
                engine.check_key()
            except EngineError as exc:
                errors.append(exc)
        claude_server.drop_after = 1
        errors.append(_collect(_anthropic(claude_server).stream_chat([Message("user", "a b c")], GenParams(), threading.Event()))[2])  # type: ignore[arg-type]
    finally:
        for n in names:
            logging.getLogger(n).removeHandler(handler)
            logging.getLogger(n).setLevel(saved[n])
        handler.close()

    assert len(errors) == 3 and all(isinstance(e, EngineError) for e in errors)
    for key in (OPENAI_KEY, ANTHROPIC_KEY):
        assert key not in _record_text()
        for exc in errors:
            assert key not in str(exc) and key not in repr(exc)
        # our own log lines (logger "assistant...") never carry it
        ours = [line for line in log_file.read_text(encoding="utf-8").splitlines() if line.startswith("assistant")]
        assert not any(key in line for line in ours)
    # What the SDKs' own debug logs print is for the app's log redaction filter; say it
    text = log_file.read_text(encoding="utf-8")
    leaked = [n for n, k in (("openai", OPENAI_KEY), ("anthropic", ANTHROPIC_KEY)) if k in text]
    print(f"SDK debug log lines: {len(text.splitlines())}; keys printed by SDK/httpx debug logs: {leaked or 'none'}")
