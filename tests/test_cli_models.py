"""`assistant models`: the real command in subprocesses, against the tests' local Hub
(which misbehaves as asked: an ignored Range, 401 for a missing file, 429, an empty
body), the real Gemma model, and a real `assistant serve`."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant.cli.common import EXIT_INTERRUPTED, EXIT_NETWORK, EXIT_NOT_FOUND, EXIT_REFUSED
from assistant.paths import get_paths
from assistant.settings import Settings, save_settings

ROOT = Path(__file__).resolve().parents[1]
TINY = "bartowski/Tiny-GGUF"
GEMMA_REPO = "test-org/gemma-3-270m-GGUF"
GEMMA_FILE = "gemma-3-270m-Q4_K_M.gguf"


@pytest.fixture
def hub(gemma_path: Path, home: Path) -> Iterator[LocalHub]:
    with LocalHub() as h:
        h.add_repo(TINY, make_repo_files(), tags=["gguf"], license="apache-2.0", downloads=5)
        h.add_repo(GEMMA_REPO, {GEMMA_FILE: gemma_path, "README.md": b"# gemma\n"}, tags=["gguf"],
                   license="apache-2.0", downloads=9)
        save_settings(Settings(hub_endpoint=h.url), get_paths().settings_file)
        yield h


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_HOME": str(home)}


def _part(home: Path, repo: str, name: str) -> Path:
    return get_paths().models_dir / ".downloads" / repo.replace("/", "__") / (name + ".part")


def _start_pull(home: Path, spec: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "assistant", "models", "pull", spec, "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(home))


def _wait_for_part(part: Path, at_least: int, child: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        size = part.stat().st_size if part.exists() else 0
        if size >= at_least:
            return size
        assert child.poll() is None, child.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{part} never reached {at_least} bytes")


def test_pull_resumes_after_a_kill_then_list_ask_and_rm(hub: LocalHub, home: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    size = hub.repos[GEMMA_REPO].files[GEMMA_FILE].size
    hub.throttle_bps = 40_000_000
    child = _start_pull(home, GEMMA_REPO)  # no quant: Q4_K_M, as the wizard picks
    try:
        _wait_for_part(_part(home, GEMMA_REPO, GEMMA_FILE), 8_000_000, child)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    have = _part(home, GEMMA_REPO, GEMMA_FILE).stat().st_size
    assert 0 < have < size
    hub.throttle_bps = None
    n_before = len(hub.gets(GEMMA_FILE))
    r = run_cli("models", "pull", f"{GEMMA_REPO}:Q4_K_M", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    assert "Resuming" in r.stderr
    resumed = [g.range for g in hub.gets(GEMMA_FILE)[n_before:]]
    assert resumed and int(resumed[0][len("bytes="):-1]) >= have - 1024 * 1024  # not from 0
    out = json.loads(r.stdout)
    installed = Path(out["path"])
    assert installed.stat().st_size == size and out["model"] == "gemma-3-270m-Q4_K_M"
    # the network record says the terminal asked
    record = (get_paths().data_dir / "network_activity.jsonl").read_text(encoding="utf-8")
    assert "Model download (from the terminal)" in record

    r = run_cli("models", "pull", GEMMA_REPO, "--yes")
    assert r.returncode == 0 and "already installed" in r.stderr

    r = run_cli("models", "list", "--json")
    assert r.returncode == 0, r.stderr
    [m] = json.loads(r.stdout)
    assert (m["name"], m["quant"], m["repo"], m["size_bytes"]) == ("gemma-3-270m-Q4_K_M", "Q4_K_M", GEMMA_REPO, size)
    assert m["origin"] == f"hub {GEMMA_REPO}" and m["license"] == "apache-2.0"
    r = run_cli("models", "list")
    assert "gemma-3-270m-Q4_K_M" in r.stdout and "NAME" in r.stdout.splitlines()[0]

    r = run_cli("ask", "--model", "gemma-3-270m-Q4_K_M", "--max-tokens", "4", "--no-history", "--seed", "1", "Hi")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()

    r = run_cli("models", "rm", "gemma-3-270m-Q4_K_M")  # no terminal to ask on, no --yes: nothing done
    assert r.returncode == EXIT_REFUSED and "--yes" in r.stderr and installed.exists()
    r = run_cli("models", "rm", "gemma-3-270m-Q4_K_M", "--yes")
    assert r.returncode == 0, r.stderr
    assert not installed.exists()
    assert json.loads(run_cli("models", "list", "--json").stdout) == []
    r = run_cli("models", "rm", "gemma-3-270m-Q4_K_M", "--yes")
    assert r.returncode == EXIT_NOT_FOUND


def test_ctrl_c_pauses_a_server_that_ignores_range_and_429_then_resume(hub: LocalHub, home: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    name = "model-Q8_0-00001-of-00003.gguf"
    hub.ignore_range = True
    hub.throttle_bps = 1_000_000
    child = _start_pull(home, f"{TINY}:Q8_0")
    try:
        _wait_for_part(_part(home, TINY, name), 400_000, child)  # past 10 % of the three: a plain progress line is due
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == EXIT_INTERRUPTED, err
    assert "Paused" in err and f"assistant models pull {TINY}:Q8_0" in err
    assert "\r" not in err and re.search(rf"{TINY} Q8_0: \d+% \(", err)  # piped: plain progress lines
    assert _part(home, TINY, name).stat().st_size > 0  # the partial is kept
    hub.throttle_bps = None
    hub.rate_limit(1)  # the first request of the resume is told to slow down
    r = run_cli("models", "pull", f"{TINY}:Q8_0", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)["files"]
    assert len(files) == 3
    for f in files:
        p = get_paths().models_dir / "bartowski__Tiny-GGUF" / f
        assert p.read_bytes() == hub.repos[TINY].files[f].source


def test_missing_files_unknown_names_and_an_empty_search_body(hub: LocalHub, run_cli) -> None:  # type: ignore[no-untyped-def]
    from assistant.library.catalog import load_catalog, offered

    entry = offered(load_catalog())[0]
    hub.add_repo(entry.gguf_repo, {"README.md": b"# moved\n"}, tags=["gguf"])
    hub.missing_as_401 = True  # as a mirror does: 401 for a file it lacks
    r = run_cli("models", "pull", entry.id, "--yes")
    assert r.returncode == EXIT_NOT_FOUND, r.stderr
    assert "is no longer in" in r.stderr and r.stdout == ""
    r = run_cli("models", "pull", f"{TINY}:Q2_K", "--yes")
    assert r.returncode == EXIT_NOT_FOUND and "Choose one of" in r.stderr
    r = run_cli("models", "pull", "no-such-catalog-model", "--yes")
    assert r.returncode == EXIT_NOT_FOUND

    r = run_cli("models", "search", "tiny", "--json", "--limit", "3")
    assert r.returncode == 0, r.stderr
    hub_rows = [row for row in json.loads(r.stdout) if row["source"] == "hub"]
    assert [row["name"] for row in hub_rows] == [TINY]
    assert hub_rows[0]["quant"] == "Q4_K_M" and hub_rows[0]["size_bytes"] == 2_000_000
    assert hub_rows[0]["license"] == "apache-2.0" and hub_rows[0]["fit"]
    hub.empty_search = True
    r = run_cli("models", "search", "tiny")
    assert r.returncode == EXIT_NETWORK and "could not be read" in r.stderr


def test_offline_mode_refuses_pull_and_search(hub: LocalHub, run_cli) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(hub_endpoint=hub.url, offline_mode=True), get_paths().settings_file)
    n = len(hub.requests)
    for args in (("pull", TINY, "--yes"), ("search", "tiny")):
        r = run_cli("models", *args)
        assert r.returncode == EXIT_NETWORK, r.stderr
        assert "Offline mode is on" in r.stderr and r.stdout == ""
    assert len(hub.requests) == n  # nothing reached the Hub
    r = run_cli("models", "search", "--catalog", "--json")  # the built-in catalog needs no network
    assert r.returncode == 0 and json.loads(r.stdout)


def test_ps_and_unload_while_serve_holds_the_model(gemma_path: Path, home: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    token = "t0k3n-for-ps"
    serve = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", "0", "--token", token,
                              "--model", str(gemma_path)], stderr=subprocess.PIPE, text=True, env=_env(home))
    try:
        assert serve.stderr is not None
        url = ""
        for line in serve.stderr:
            if line.startswith("Listening on "):
                url = line.split()[2]
                break
        assert url.startswith("http://127.0.0.1:")
        deadline = time.monotonic() + 60
        while True:
            r = run_cli("models", "ps", "--url", url, "--token", token, "--json")
            assert r.returncode == 0, r.stderr
            models = json.loads(r.stdout)["models"]
            if models or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        [m] = models
        assert m["name"] == gemma_path.stem and m["kept_by"] == ["server (--model)"]
        assert m["memory_bytes"] > 50_000_000 and m["idle_unload_in_s"] is None
        r = run_cli("models", "ps", "--url", url, "--token", token)
        assert gemma_path.stem in r.stdout and "kept loaded" in r.stdout
        r = run_cli("models", "ps", "--url", url, "--token", "wrong")
        assert r.returncode == 1 and "refused the token" in r.stderr
        r = run_cli("models", "unload", "nothing-loaded", "--url", url, "--token", token)
        assert r.returncode == EXIT_NOT_FOUND, r.stderr
        r = run_cli("models", "unload", gemma_path.stem, "--url", url, "--token", token)
        assert r.returncode == 0, r.stderr
        assert json.loads(run_cli("models", "ps", "--url", url, "--token", token, "--json").stdout)["models"] == []
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(15)
        except subprocess.TimeoutExpired:
            serve.kill()
    r = run_cli("models", "ps", "--url", url, "--token", token)
    assert r.returncode == EXIT_NETWORK and "No API server answers" in r.stderr


def test_progress_is_a_bar_on_a_terminal_and_lines_when_piped() -> None:
    from assistant.cli.output import Progress

    out = io.StringIO()
    bar = Progress("m", out, tty=True)
    bar.update(50, 100, 10.0, 5.0)
    bar.message("Verifying")
    bar.close()
    assert out.getvalue().startswith("\r[") and " 50% 50 B of 100 B · 10 B/s · 5 s left" in out.getvalue()
    assert "\r\x1b[Km: Verifying\n" in out.getvalue()
    out = io.StringIO()
    bar = Progress("m", out, tty=False, step=0.25)
    for done in range(0, 101, 5):
        bar.update(done, 100)
    assert out.getvalue().splitlines() == [f"m: {p}% ({p} B of 100 B)" for p in (25, 50, 75, 100)]


def test_a_gated_repo_says_so_then_pulls_with_the_keyrings_token(hub: LocalHub, secret_service, run_cli) -> None:  # type: ignore[no-untyped-def]
    from assistant import keys
    from assistant.library.hub_access import HF_TOKEN_PROVIDER

    token = "hf_t0ken_for_the_gated_test"
    hub.gate(TINY, token)
    keys.delete_key(HF_TOKEN_PROVIDER)
    r = run_cli("models", "pull", f"{TINY}:Q4_K_M", "--yes")
    assert r.returncode == EXIT_NETWORK, r.stderr
    assert "is a gated model: its licence must be accepted" in r.stderr and f"{hub.url}/{TINY}" in r.stderr
    keys.set_key(HF_TOKEN_PROVIDER, token)
    try:
        r = run_cli("models", "pull", f"{TINY}:Q4_K_M", "--yes")
    finally:
        keys.delete_key(HF_TOKEN_PROVIDER)
    assert r.returncode == 0, r.stderr
    assert token not in r.stdout + r.stderr
    sent = [(q.path.startswith("/cdn-lfs/"), q.auth) for q in hub.gets("model-Q4_K_M.gguf")]
    assert (False, f"Bearer {token}") in sent and all(auth is None for cdn, auth in sent if cdn)
