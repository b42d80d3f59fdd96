"""The command line with the engine in its own process: a crashing engine, safe mode in
`doctor`, and what a terminal user can type (numbers out of range, text that is not UTF-8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.chat.store import ChatStore
from assistant.engines.host_child import CRASH_ENV

REPO = Path(__file__).resolve().parents[1]


def stored(home: Path) -> list[tuple[str, str, str]]:
    with ChatStore.open(home / "data" / "history.sqlite3") as store:
        return [(m.role, m.content, m.status) for c in store.list_conversations() for m in store.messages(c.id)]


def test_ask_on_a_crashing_engine_says_so_and_exits_1(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "40", "--temperature", "0",
                "Write a poem about the sea.", env={CRASH_ENV: "token:4:SIGSEGV"})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "The engine stopped unexpectedly while answering (signal 11, a memory fault in llama.cpp's CPU code)" in r.stderr
    assert "Your conversation is safe" in r.stderr and "partial answer was kept" in r.stderr
    assert "Traceback" not in r.stderr
    rows = stored(home)
    assert rows[0][:2] == ("user", "Write a poem about the sea.")
    assert rows[1][0] == "assistant" and rows[1][2] == "failed"
    assert rows[1][1] and rows[1][1].strip() in r.stdout


def test_ask_when_the_engine_crashes_at_load(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), "Hello", env={CRASH_ENV: "load:SIGABRT"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "while loading gemma-3-270m-q4_k_m.gguf" in r.stderr and "signal 6" in r.stderr


def test_doctor_shows_and_resets_safe_mode(run_cli, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the first load crashes while CPU weight repacking is on; safe mode's first step works
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "4", "Hi", env={CRASH_ENV: "load:SIGSEGV:repack"})
    assert r.returncode == 0, r.stderr
    doc = run_cli("doctor")
    assert doc.returncode == 0
    assert "Safe mode" in doc.stdout and gemma_path.name in doc.stdout
    assert "level 1: off: CPU weight repacking and AMX" in doc.stdout and "--reset-safe-mode" in doc.stdout
    report = json.loads(run_cli("doctor", "--json").stdout)
    assert [e["level"] for e in report["safe_mode"]] == [1]
    reset = run_cli("doctor", "--reset-safe-mode")
    assert reset.returncode == 0 and "1 remembered setting forgotten" in reset.stderr
    assert "none: every model runs with normal settings" in reset.stdout
    assert json.loads(run_cli("doctor", "--json").stdout)["safe_mode"] == []


@pytest.mark.parametrize(
    "args, expect",
    [
        (["--max-tokens", "0"], "--max-tokens must be a whole number from 1 to 1,000,000 (got 0)"),
        (["--max-tokens", "-1"], "--max-tokens must be a whole number from 1 to 1,000,000 (got -1)"),
        (["--temperature", "nan"], "--temperature must be a number from 0 to 5 (got nan)"),
        (["--temperature", "inf"], "--temperature must be a number from 0 to 5 (got inf)"),
        (["--temperature", "-1"], "--temperature must be a number from 0 to 5 (got -1.0)"),
        (["--ctx", "-5"], "--ctx must be a whole number from 256 to 10,000,000 (got -5)"),
    ],
    ids=["max-tokens-0", "max-tokens-neg", "temp-nan", "temp-inf", "temp-neg", "ctx-neg"],
)
def test_numbers_out_of_range_are_refused(run_cli, gemma_path: Path, args: list[str], expect: str) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ask", "--model", str(gemma_path), *args, "Hello")
    assert r.returncode == 1 and expect in r.stderr and "Traceback" not in r.stderr
    assert "Loading" not in r.stderr  # refused before any model is loaded
    c = run_cli("chat", "--model", str(gemma_path), *args, stdin="hi\n")
    assert c.returncode == 1 and expect in c.stderr


def test_a_prompt_that_is_not_utf8_is_saved_with_replacement_characters(gemma_path: Path, home: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), ASSISTANT_HOME=str(home), LC_ALL="C.UTF-8")
    r = subprocess.run(
        [sys.executable.encode(), b"-m", b"assistant", b"ask", b"--model", str(gemma_path).encode(),
         b"--max-tokens", b"4", b"caf\xe9 au lait \xff"],
        capture_output=True, env=env, timeout=300,
    )
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, err
    assert "not valid UTF-8" in err and "U+FFFD" in err and "Traceback" not in err
    assert stored(home)[0][:2] == ("user", "caf\ufffd au lait \ufffd")
    # standard input too
    r = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--model", str(gemma_path), "--max-tokens", "4", "-"],
        input=b"na\xefve\n", capture_output=True, env=env, timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    assert any(row[1] == "na\ufffdve\n" for row in stored(home))


def test_chat_goes_on_after_a_crash_in_safe_mode(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("chat", "--model", str(gemma_path), "--max-tokens", "8", "--temperature", "0",
                stdin="First message\nSecond message\n/quit\n", env={CRASH_ENV: "token:2:SIGSEGV:repack"})
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("stopped unexpectedly while answering") == 1 and "Traceback" not in r.stderr
    assert "safe mode" in r.stderr
    rows = stored(home)
    assert [(x[0], x[2]) for x in rows] == [("user", "complete"), ("assistant", "failed"),
                                            ("user", "complete"), ("assistant", "complete")]
    assert rows[1][1] and rows[3][1]
