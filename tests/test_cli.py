"""The command line, run as a real subprocess with the real Gemma model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.gguf_edit import truncated_copy

from assistant.chat.store import ChatStore
from assistant.cli.common import EXIT_ERROR, EXIT_NOT_FOUND

REPO = Path(__file__).resolve().parents[1]


def stored(home: Path) -> list[tuple[str, str, str]]:
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        return [(m.role, m.content, m.status) for c in store.list_conversations() for m in store.messages(c.id)]


def test_ask_streams_and_saves(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "12", "--temperature", "0", "Say hello.")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()
    rows = stored(home)
    assert rows[0][:2] == ("user", "Say hello.")
    assert rows[1][0] == "assistant" and rows[1][2] == "complete"
    assert rows[1][1].strip() and rows[1][1].strip() in r.stdout


def test_ask_json_last_line(run_cli, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "16", "--json", "--system", "Be brief.", "Name a fruit.")
    assert r.returncode == 0, r.stderr
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"engine", "model", "prompt_tokens", "completion_tokens", "ttft_s", "decode_tokens_per_s"} <= set(last)
    assert last["engine"] == "llama.cpp" and last["model"] == gemma_path.stem
    assert last["prompt_tokens"] > 5 and 0 < last["completion_tokens"] <= 16
    assert last["ttft_s"] > 0
    if last["completion_tokens"] > 1:
        assert last["decode_tokens_per_s"] > 0


def test_ask_by_installed_name_and_no_history(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    models = home / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    os.symlink(gemma_path, models / "tiny-gemma.gguf")
    r = run_cli("ask", "--model", "tiny-gemma", "--max-tokens", "4", "--no-history", "Hi")
    assert r.returncode == 0, r.stderr
    assert stored(home) == []
    # with one installed model, --model is optional
    r = run_cli("ask", "--max-tokens", "4", "Hi")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "make, expect, code",
    [
        (lambda d, g: d / "missing.gguf", "not found", EXIT_NOT_FOUND),
        (lambda d, g: (d / "t.gguf").write_text("hello") and d / "t.gguf", "not a GGUF model file", EXIT_ERROR),
        (lambda d, g: truncated_copy(g, d / "cut.gguf", 60_000_000), "incomplete", EXIT_ERROR),
    ],
    ids=["missing", "not-gguf", "truncated"],
)
def test_bad_model_gives_a_clear_message_and_keeps_history(run_cli, gemma_path: Path, home: Path, tmp_path: Path, make, expect, code) -> None:  # type: ignore[no-untyped-def]
    ok = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "4", "Keep me")
    assert ok.returncode == 0
    before = stored(home)
    bad = make(tmp_path, gemma_path)
    r = run_cli("ask", "--model", str(bad), "Hello")
    assert r.returncode == code  # a missing file is "not found" (3), as for `models`; the rest 1
    assert expect in r.stderr and "Traceback" not in r.stderr
    assert str(bad.name) in r.stderr
    assert stored(home) == before


def test_mlx_folder_on_linux_is_explained(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "Qwen3-0.6B-4bit"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    r = run_cli("ask", "--model", str(folder), "Hello")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "Qwen3-0.6B-4bit" in r.stderr


def test_no_model_installed(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "Hello")
    assert r.returncode == EXIT_NOT_FOUND and "No model is installed" in r.stderr and "--model" in r.stderr


def test_doctor(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("doctor", "--model", str(gemma_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("Processor", "Memory", "GPU offload", "Keyring", "History", str(home), "GPU layers"):
        assert needle in out, needle
    j = run_cli("doctor", "--json")
    report = json.loads(j.stdout)
    # what the report says against what this machine and its llama.cpp build say themselves
    import llama_cpp
    import psutil

    assert report["hardware"]["physical_cores"] == (psutil.cpu_count(logical=False) or psutil.cpu_count())
    assert report["hardware"]["llama_gpu_offload"] is bool(llama_cpp.llama_supports_gpu_offload())
    from assistant import hardware
    from assistant.core.types import ModelRef

    assert f"llama.cpp on {hardware.plan(ModelRef(gemma_path, 'gguf'), hardware.detect()).backend}" in out
    assert report["paths"]["history"].startswith(str(home))


def test_ctrl_c_stops_and_keeps_the_partial_answer(gemma_path: Path, home: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), ASSISTANT_HOME=str(home), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "ask", "--model", str(gemma_path), "--max-tokens", "2000",
         "--temperature", "0.8", "--seed", "7", "Write a very long story about a dragon."],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert proc.stdout is not None
    got = b""
    deadline = time.time() + 120
    while len(got) < 40 and time.time() < deadline:
        chunk = os.read(proc.stdout.fileno(), 64)
        if not chunk:  # the process ended before Ctrl-C: say so, do not spin
            break
        got += chunk
    assert len(got) >= 40 and proc.poll() is None, f"the answer ended before Ctrl-C: {got!r}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"stopped" in err and b"Traceback" not in err
    rows = stored(home)
    assert rows[1][0] == "assistant" and rows[1][2] == "stopped"
    assert len(rows[1][1]) >= 20
    assert (got + out).decode("utf-8", "replace").strip().startswith(rows[1][1].strip()[:10])
    # the database is intact
    with sqlite3.connect(home / "data" / "history.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_chat_saves_into_the_same_history(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("chat", "--model", str(gemma_path), "--max-tokens", "6", stdin="First message\nSecond message\n/quit\n")
    assert r.returncode == 0, r.stderr
    rows = stored(home)
    assert [x[0] for x in rows] == ["user", "assistant", "user", "assistant"]
    assert rows[0][1] == "First message" and rows[2][1] == "Second message"
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        assert len(store.list_conversations()) == 1


def test_version(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("--version")
    assert r.returncode == 0 and "assistant 0." in r.stdout


def test_an_answer_cut_at_the_limit_says_so(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "5", "--temperature", "0", "--json",
                "Tell me a very long story about a lighthouse keeper.")
    assert r.returncode == 0, r.stderr
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert last["finish_reason"] == "length" and last["completion_tokens"] == 5
    assert "cut off at the length limit (5 tokens)" in r.stderr
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        answer = store.messages(store.list_conversations()[0].id)[-1]
    assert answer.finish_reason == "length" and answer.cut_off and answer.status == "complete"
