"""The cloud from the terminal: `ask --cloud`, `--route`, the consent rule and `--yes`,
against a real OpenAI-compatible server (llama_cpp.server) on 127.0.0.1 and a real
Secret Service holding the key. The CLI runs as a real subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.llama_server import ALIAS, LlamaServer, running_llama_server

from assistant import keys
from assistant.chat.cloud_route import key_id
from assistant.chat.router import LocalModelInfo, assess
from assistant.chat.store import ChatStore
from assistant.cli.common import EXIT_NETWORK
from assistant.settings import CloudSettings, Settings, save_settings

KEY = "sk-test-cli-0123456789abcdef"
HARD = (
    "Prove that there are infinitely many primes of the form 4k+3, then derive the asymptotic density of such "
    "primes using Dirichlet's theorem, write a formally verified Coq implementation of a sieve that lists them, "
    "and compare its time and space complexity with the segmented sieve of Eratosthenes step by step."
)


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("llama_server_cli")
    with running_llama_server(gemma_path, tmp, KEY, home=tmp / "home") as srv:
        yield srv


@pytest.fixture
def cloud_home(home: Path, gemma_path: Path, server: LlamaServer, secret_service: None) -> Path:
    cloud = CloudSettings(provider="openai-compatible", model=ALIAS, base_url=server.base_url, routing_mode="local")
    s = Settings(default_model=str(gemma_path), context_length=1024, n_threads=2, cloud=cloud)
    s.generation.temperature = 0.0
    save_settings(s, home / "config" / "settings.json")
    keys.set_key(key_id(cloud), KEY)
    return home


def _rows(home: Path) -> list[tuple[str, str, str | None]]:
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        return [(m.role, m.status, m.origin) for c in store.list_conversations() for m in store.messages(c.id)]


def test_the_hard_prompt_is_hard_for_the_test_model() -> None:
    # the routing tests below lean on it
    assert assess(HARD, [], LocalModelInfo("gemma-3-270m", 0.27, 1024)).hard


def test_ask_cloud_answers_from_the_server(run_cli, cloud_home: Path, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    r = run_cli("ask", "--cloud", "--max-tokens", "8", "--json", "Say hello.")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["engine"] == "cloud" and report["model"] == ALIAS and report["completion_tokens"] > 0
    assert server.chat_requests() == before + 1
    assert _rows(cloud_home) == [("user", "complete", None), ("assistant", "complete", "cloud")]
    assert KEY not in r.stdout + r.stderr


def test_route_ask_without_a_terminal_keeps_the_prompt_local(run_cli, cloud_home: Path, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    r = run_cli("ask", "--route", "ask", "--max-tokens", "4", HARD, stdin="")
    assert r.returncode == 0, r.stderr
    assert "send to" in r.stderr and "Not sent" in r.stderr and "[user] Prove that" in r.stderr
    assert server.chat_requests() == before  # nothing reached the cloud
    assert _rows(cloud_home)[-1] == ("assistant", "complete", "local")


def test_route_ask_with_yes_sends_the_hard_prompt(run_cli, cloud_home: Path, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    r = run_cli("ask", "--route", "ask", "--yes", "--max-tokens", "4", HARD)
    assert r.returncode == 0, r.stderr
    assert "Sending (--yes)" in r.stderr
    assert server.chat_requests() == before + 1
    assert _rows(cloud_home)[-1] == ("assistant", "complete", "cloud")


def test_route_auto_keeps_an_easy_prompt_local(run_cli, cloud_home: Path, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    r = run_cli("ask", "--route", "auto", "--max-tokens", "4", "Hi!")
    assert r.returncode == 0, r.stderr
    assert server.chat_requests() == before
    assert _rows(cloud_home)[-1] == ("assistant", "complete", "local")


def test_ask_cloud_in_offline_mode_is_refused_before_anything_is_stored(run_cli, cloud_home: Path, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    path = cloud_home / "config" / "settings.json"
    data = json.loads(path.read_text())
    data["offline_mode"] = True
    path.write_text(json.dumps(data))
    before = server.chat_requests()
    r = run_cli("ask", "--cloud", "Say hello.")
    assert r.returncode == EXIT_NETWORK  # what went wrong, in the exit code (README)
    assert "Offline mode is on" in r.stderr
    assert server.chat_requests() == before
    assert _rows(cloud_home) == []
