"""`assistant ask --tools` and `assistant tools` in a real subprocess: the test GGUF with a
real MCP server (tests/support/mcp_server.py, the official SDK, over stdio) from the
app's mcp.json; a forced call runs with --yes, is refused without a terminal, and the
tools are listed, imported from another app, and always-allowed ones revoked."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

SERVER = str(Path(__file__).resolve().parent / "support" / "mcp_server.py")


def _config(home: Path) -> Path:
    from assistant.paths import get_paths

    folder = get_paths().config_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"calc": {"command": sys.executable, "args": [SERVER]}}}))
    return path


def test_ask_with_tools_runs_a_forced_call_with_yes(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    _config(home)
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "80", "--seed", "2", "--tools", "--tool-choice",
                "calc__add", "--max-tool-rounds", "1", "--yes", "What is 2 + 3?")
    assert r.returncode == 0, r.stderr
    assert "[tool] calc__add {" in r.stderr and "[tool] done in" in r.stderr, r.stderr
    line = next(x for x in r.stderr.splitlines() if x.startswith("[tool] calc__add"))
    args = json.loads(line.removeprefix("[tool] calc__add "))
    assert "[tool] done in" in r.stderr and f": {args['a'] + args['b']}" in r.stderr  # the server's own sum
    from assistant.paths import get_paths

    db = sqlite3.connect(get_paths().history_db)
    (data,) = db.execute("SELECT data FROM message_tools").fetchone()
    record = json.loads(data)[0]
    assert record["server"] == "calc" and record["status"] == "done" and record["result"] == str(args["a"] + args["b"])


def test_without_a_terminal_a_call_is_not_run(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    _config(home)
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "80", "--seed", "2", "--tools", "calc",
                "--tool-choice", "calc__add", "--max-tool-rounds", "1", "What is 2 + 3?", stdin="")
    assert r.returncode == 0, r.stderr
    assert "needs your approval and there is no terminal" in r.stderr and "[tool] denied" in r.stderr


def test_unknown_servers_and_tools_say_what_to_do(run_cli, gemma_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    _config(home)
    r = run_cli("ask", "--model", str(gemma_path), "--tools", "nope", "Hi")
    assert r.returncode != 0 and "no MCP server called 'nope'" in r.stderr and "servers: calc" in r.stderr
    r = run_cli("ask", "--model", str(gemma_path), "--tools", "--tool-choice", "calc__nothing", "Hi")
    assert r.returncode != 0 and "not one of the tools" in r.stderr


def test_tools_list_import_and_revoke(run_cli, home: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _config(home)
    r = run_cli("tools", "list")
    assert r.returncode == 0 and "calc" in r.stdout and "calc__add: Add two whole numbers." in r.stdout, r.stderr
    cursor = Path(home) / ".cursor"
    cursor.mkdir(parents=True, exist_ok=True)
    (cursor / "mcp.json").write_text(json.dumps({"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}))
    r = run_cli("tools", "import", env={"HOME": str(home)})
    assert "Cursor:" in r.stdout, r.stdout + r.stderr
    r = run_cli("tools", "import", "cursor", env={"HOME": str(home)})
    assert r.returncode == 0 and "Added time" in r.stdout, r.stderr
    assert set(json.loads(config.read_text())["mcpServers"]) == {"calc", "time"}
    from assistant.paths import get_paths

    settings = get_paths().settings_file
    settings.write_text(json.dumps({"tools": {"always_allowed": [{"server": "calc", "tool": "add"}]}}))
    assert run_cli("tools", "allowed").stdout.strip() == "calc add"
    r = run_cli("tools", "revoke", "calc", "add")
    assert r.returncode == 0 and "will ask again" in r.stdout
    assert run_cli("tools", "allowed").stdout.strip() == ""
    assert run_cli("tools", "revoke", "calc", "add").returncode == 1
