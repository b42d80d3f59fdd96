"""ToolsHost over the real SDK test server: listed off the GUI thread, mcp.json read again
with unchanged servers kept running and the others stopped, the processes ended at quit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.settings import Settings
from assistant.ui.tools.host import FAILED, NOT_STARTED, READY, STARTING, ToolsHost

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_server.py")


def _write(path: Path, servers: dict) -> None:  # type: ignore[type-arg]
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")


def test_refresh_reload_and_close(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mcp.json"
    tests = {"command": sys.executable, "args": [SERVER]}
    _write(path, {"tests": tests, "other": dict(tests)})
    host = ToolsHost(Settings(), path=path)
    assert host.state("tests").state == NOT_STARTED and not host.mcp.servers["tests"].running  # nothing at start-up
    with qtbot.waitSignal(host.tools_refreshed, timeout=15_000) as got:
        host.refresh_all()
        assert host.state("tests").state == STARTING and host.busy()  # the GUI thread did not wait
    assert got.args == [{}] and host.state("tests").state == READY and not host.busy()
    assert host.state("tests").tools == len([t for t in host.mcp.registry.tools() if t.server == "tests"]) >= 7
    running = host.mcp.servers["tests"]
    other = host.mcp.servers["other"]
    assert running.running and other.running

    # "other" changes, "tests" does not, "ghost" is new
    _write(path, {"tests": tests, "other": {**tests, "env": {"MARK": "new"}},
                  "ghost": {"command": "no-such-mcp-command"}})
    with qtbot.waitSignal(host.config_changed):
        host.reload_config()
    assert host.mcp.servers["tests"] is running and running.running
    assert host.state("tests").state == READY and "tests__echo" in host.mcp.registry.names()
    assert host.mcp.servers["other"] is not other and host.state("other").state == NOT_STARTED
    qtbot.waitUntil(lambda: not other.running, timeout=15_000)  # the old one stopped on the pool
    assert not any(t.server == "other" for t in host.mcp.registry.tools())
    assert {t.server for t in host.tools()} == {"tests"}  # what the picker reads
    with qtbot.assertNotEmitted(host.config_changed):
        host.reload_config()  # the same file: nothing restarts

    with qtbot.waitSignal(host.tools_refreshed, timeout=15_000) as got:
        host.refresh_unlisted()  # only the servers never listed
    assert set(got.args[0]) == {"ghost"} and host.state("ghost").state == FAILED
    assert "'no-such-mcp-command' was not found" in host.state("ghost").text
    assert host.state("other").state == READY and {t.server for t in host.tools()} == {"tests", "other"}
    host.close()
    assert not running.running and not host.mcp.servers["other"].running
