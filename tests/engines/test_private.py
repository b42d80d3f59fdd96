"""Models on your own servers: the private-server engine against llama-cpp-python's
OpenAI-compatible server (the real Gemma 3 270M) on 127.0.0.1, a key in a real keyring."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.llama_server import ALIAS, LlamaServer, running_llama_server

from assistant import keys, network
from assistant.chat.store import ChatStore
from assistant.chat.turn import run_turn
from assistant.core.types import GenParams
from assistant.engines.factory import prepare
from assistant.engines.private import PrivateServer, PrivateServerEngine, model_ref, normalize_url, ref_from_spec
from assistant.errors import AssistantError, EngineError, NetworkBlockedError
from assistant.settings import Settings

KEY = "private-test-key-5e7a9c1b3d"


@pytest.fixture(scope="module")
def keyed(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("private_keyed")
    with running_llama_server(gemma_path, tmp, KEY, home=tmp / "home") as server:
        yield server


def _settings(server: LlamaServer, name: str = "gpu-box", has_key: bool = True) -> Settings:
    s = Settings()
    s.private_servers = [PrivateServer(name, server.base_url.removesuffix("/v1"), has_key).as_dict()]
    return s


def _store(tmp_path: Path) -> ChatStore:
    return ChatStore.open(tmp_path / "history.db")


def test_the_key_comes_from_the_keyring(keyed: LlamaServer, secret_service: None) -> None:
    settings = _settings(keyed)
    keys.set_key("private-server:gpu-box", KEY)
    ref = ref_from_spec(f"gpu-box:{ALIAS}", settings)
    assert ref is not None and ref.format == "remote" and ref.display_name == ALIAS
    engine, _options, plan = prepare(ref, settings)
    assert isinstance(engine, PrivateServerEngine) and "gpu-box" in plan.reason
    assert engine.list_models() == [ALIAS]


def test_models_listed_and_a_chat_answered(keyed: LlamaServer, tmp_path: Path) -> None:
    ref = ref_from_spec(f"gpu-box:{ALIAS}", _settings(keyed))
    assert ref is not None
    engine = PrivateServerEngine(PrivateServer("gpu-box", keyed.base_url), ALIAS, KEY)
    assert engine.list_models() == [ALIAS]
    engine.load(ref)
    assert engine.context_length > 0 and engine.backend.startswith("gpu-box (127.0.0.1:")
    with _store(tmp_path) as store:
        conv = store.create_conversation(title="t", system_prompt=None, model=ALIAS)
        result = run_turn(store, engine, conv.id, system_prompt=None, params=GenParams(max_tokens=8),
                          cancel=threading.Event(), model_name=ALIAS, user_text="Hello")
        assert result.status == "complete" and result.text.strip()
        row = store.messages(conv.id)[-1]
        # a private server's answer is not the cloud's: no cost, origin local
        assert row.engine == "private" and row.origin == "local" and row.cost_usd is None
    record = [json.loads(x) for x in network.record_path().read_text().splitlines()]
    assert any(x["purpose"] == "gpu-box: model list" and x["path"] == "/v1/models" for x in record)
    assert any(x["path"] == "/v1/chat/completions" and x["status"] == 200 for x in record)
    assert KEY not in network.record_path().read_text()


def test_a_wrong_key_is_said_plainly(keyed: LlamaServer) -> None:
    engine = PrivateServerEngine(PrivateServer("gpu-box", keyed.base_url), ALIAS, "wrong")
    with pytest.raises(EngineError, match="gpu-box") as e:
        engine.list_models()
    assert "Settings → Your servers" in e.value.hint and "wrong" not in str(e.value)


def test_offline_mode_blocks_it(keyed: LlamaServer, tmp_path: Path) -> None:
    engine = PrivateServerEngine(PrivateServer("gpu-box", keyed.base_url), ALIAS, KEY)
    network.set_offline(True)
    with pytest.raises(NetworkBlockedError, match="Offline mode is on: your server gpu-box"):
        engine.list_models()
    with _store(tmp_path) as store:
        conv = store.create_conversation(title="t", system_prompt=None, model=ALIAS)
        result = run_turn(store, engine, conv.id, system_prompt=None, params=GenParams(max_tokens=8),
                          cancel=threading.Event(), model_name=ALIAS, user_text="Hello")
    assert result.status == "failed" and isinstance(result.error, NetworkBlockedError)
    record = [json.loads(x) for x in network.record_path().read_text().splitlines()]
    assert record and all(x["outcome"] == "blocked" for x in record)


def test_an_unreachable_server_says_so(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = PrivateServerEngine(PrivateServer("gpu-box", f"http://127.0.0.1:{port}"), ALIAS)
    with pytest.raises(EngineError, match=f"Your server gpu-box is not reachable at http://127.0.0.1:{port}/v1"):
        engine.load(model_ref(engine.server, ALIAS))


def test_server_stopped_mid_answer_keeps_the_partial_answer_marked(gemma_path: Path, tmp_path: Path) -> None:
    with running_llama_server(gemma_path, tmp_path, None, home=tmp_path / "srv-home") as server:
        engine = PrivateServerEngine(PrivateServer("gpu-box", server.base_url), ALIAS)
        pieces: list[str] = []

        def on_text(text: str) -> None:
            pieces.append(text)
            if len(pieces) == 3:
                server.proc.kill()  # the server dies while it answers
                server.proc.wait()

        with _store(tmp_path) as store:
            conv = store.create_conversation(title="t", system_prompt=None, model=ALIAS)
            result = run_turn(store, engine, conv.id, system_prompt=None,
                              params=GenParams(max_tokens=400, min_p=0.0), cancel=threading.Event(),
                              model_name=ALIAS, user_text="Tell me a long story.", on_text=on_text)
            row = store.messages(conv.id)[-1]
    assert result.status == "failed" and result.text == "".join(pieces)[: len(result.text)] and result.text
    assert row.status == "failed" and row.content == result.text
    assert "lost mid-answer" in (row.error or "") and "partial answer was kept" in (row.error or "")


def test_names_and_addresses() -> None:
    assert normalize_url("192.168.1.20:8000") == "http://192.168.1.20:8000/v1"
    assert normalize_url("https://box.lan/v1/") == "https://box.lan/v1"
    with pytest.raises(AssistantError):
        normalize_url("ftp://x")
    s = Settings()
    s.private_servers = [{"name": "box", "base_url": "http://box:8000", "has_key": False}]
    ref = ref_from_spec("box:Qwen/Qwen2.5-72B-Instruct", s)
    assert ref is not None and ref.name == "Qwen/Qwen2.5-72B-Instruct"
    from assistant.engines.private import parse_ref

    assert parse_ref(ref) == ("box", "Qwen/Qwen2.5-72B-Instruct")
    assert ref_from_spec("other:model", s) is None and ref_from_spec("C:\\models\\x.gguf", s) is None


def test_ask_with_server_colon_model_on_the_command_line(keyed: LlamaServer, run_cli, home: Path, secret_service: None) -> None:  # type: ignore[no-untyped-def]
    from assistant.paths import get_paths
    from assistant.settings import save_settings

    keys.set_key("private-server:gpu-box", KEY)  # the CLI reads it from the same keyring
    save_settings(_settings(keyed), get_paths().settings_file)
    r = run_cli("ask", "--model", f"gpu-box:{ALIAS}", "--max-tokens", "6", "--json", "Hello")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["engine"] == "private" and report["model"] == ALIAS and report["completion_tokens"] > 0
    assert report["backend"].startswith("gpu-box (127.0.0.1:")
    r = run_cli("ask", "--model", "gpu-box:", "Hello")
    assert r.returncode == 1 and "Name the model on gpu-box" in r.stderr
