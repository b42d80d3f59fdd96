"""The MCP client against real stdio servers: the SDK test server (tests/support/mcp_server.py)
and the published mcp-server-time from PyPI."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import McpServerError, ToolCancelledError, ToolTimeoutError
from assistant.tools.mcp_client import McpServer
from assistant.tools.mcp_config import ServerConfig

SERVER = str(Path(__file__).resolve().parents[1] / "support" / "mcp_server.py")


@pytest.fixture(scope="module")
def server() -> Iterator[McpServer]:
    s = McpServer(ServerConfig("tests", command=sys.executable, args=[SERVER]))
    yield s
    s.stop()


def test_lists_the_tools_with_their_server_and_schema(server: McpServer) -> None:
    tools = {t.name: t for t in server.list_tools()}
    assert {"echo", "add", "sleep", "big", "crash"} <= set(tools)
    add = tools["add"]
    assert add.server == "tests"
    assert add.description == "Add two whole numbers."
    assert add.input_schema["properties"]["a"]["type"] == "integer"
    assert add.input_schema["required"] == ["a", "b"]


def test_calls_a_tool_and_joins_its_text(server: McpServer) -> None:
    assert server.call_tool("add", {"a": 2, "b": 40}).text == "42"
    result = server.call_tool("echo", {"text": "héllo"})
    assert (result.text, result.is_error, result.cut) == ("héllo", False, False)


def test_an_image_is_described_not_pasted(server: McpServer) -> None:
    assert server.call_tool("picture").text == "[image: image/png, 70 bytes]"


def test_a_tool_error_comes_back_as_an_error_result(server: McpServer) -> None:
    result = server.call_tool("no_such_tool", {})
    assert result.is_error
    assert "no_such_tool" in result.text


def test_a_protocol_error_is_named_and_keeps_the_connection(server: McpServer) -> None:
    server.list_tools()
    conn = server._conn
    with pytest.raises(McpServerError) as err:
        server.call_tool("refuse", {"reason": "the disk is read-only"})
    assert err.value.message == "The MCP server tests refused refuse: the disk is read-only"
    assert server._conn is conn and server.running  # not restarted for an answer


def test_a_hanging_call_ends_at_its_time_limit_naming_tool_and_server(server: McpServer) -> None:
    started = time.monotonic()
    with pytest.raises(ToolTimeoutError) as err:
        server.call_tool("sleep", {"seconds": 30}, timeout_s=0.5)
    assert 0.5 <= time.monotonic() - started < 2
    assert (err.value.tool, err.value.server) == ("sleep", "tests")
    assert "sleep" in err.value.message and "tests" in err.value.message
    assert server.call_tool("echo", {"text": "still here"}).text == "still here"  # not restarted for a timeout


def test_cancel_ends_the_call_at_once_and_the_server_hears_of_it(server: McpServer, tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ToolCancelledError):
        server.call_tool("sleep", {"seconds": 30, "marker": str(marker)}, timeout_s=60, cancel=cancel)
    assert time.monotonic() - started < 2.5  # against 30 s; slack for a loaded 2-core CI machine
    # the SDK sent notifications/cancelled: the server's handler was cancelled
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "cancelled"


def test_a_result_over_the_cap_is_cut_with_a_note(server: McpServer) -> None:
    result = server.call_tool("big", {"megabytes": 10}, timeout_s=60)
    assert result.cut and result.size == 10 * 1024 * 1024
    body, note = result.text.rsplit("\n", 1)
    assert body == "x" * (1024 * 1024)
    assert note == "(cut: the tool returned 10 MB; the first 1 MB is shown)"


def test_the_cap_is_settable() -> None:
    s = McpServer(ServerConfig("small", command=sys.executable, args=[SERVER]), max_result_bytes=3)
    try:
        result = s.call_tool("echo", {"text": "abcdef"})
    finally:
        s.stop()
    assert result.text == "abc\n(cut: the tool returned 6 bytes; the first 3 bytes is shown)"


def test_a_crash_is_reported_with_its_stderr_and_the_next_call_restarts(server: McpServer) -> None:
    server.list_tools()
    with pytest.raises(McpServerError) as err:
        server.call_tool("crash", {"message": "disk on fire"})
    assert "disk on fire" in err.value.stderr
    assert "disk on fire" in str(err.value) and "tests" in err.value.message
    assert not server.running
    assert server.call_tool("add", {"a": 1, "b": 1}).text == "2"
    assert server.running


def test_a_server_that_closes_its_stderr_is_not_taken_for_dead() -> None:
    s = McpServer(ServerConfig("quiet", command=sys.executable, args=[SERVER], env={"MCP_TEST_CLOSE_STDERR": "1"}))
    try:
        assert s.call_tool("echo", {"text": "a"}).text == "a"
        conn = s._conn
        assert conn is not None and conn.stderr is not None and conn.stderr.ended.wait(5)
        assert s.call_tool("echo", {"text": "b"}).text == "b"
        assert s._conn is conn  # asked, not started again
    finally:
        s.stop()


def test_a_server_that_died_while_idle_is_started_again_at_the_next_call(server: McpServer) -> None:
    server.list_tools()
    conn = server._conn
    assert conn is not None and conn.stderr is not None
    with pytest.raises(McpServerError):
        server.call_tool("crash", {})
    assert conn.stderr.ended.wait(5)
    assert server.call_tool("add", {"a": 2, "b": 2}).text == "4"
    assert server._conn is not conn


def test_a_command_that_does_not_exist_is_named() -> None:
    s = McpServer(ServerConfig("ghost", command="no-such-mcp-server-command"))
    with pytest.raises(McpServerError) as err:
        s.list_tools()
    assert "'no-such-mcp-server-command' was not found" in err.value.message
    assert "ghost" in err.value.message


def test_a_server_that_ends_while_starting_shows_its_stderr() -> None:
    code = "import sys; print('missing API_TOKEN', file=sys.stderr); sys.exit(2)"
    s = McpServer(ServerConfig("quits", command=sys.executable, args=["-c", code, "--token", "arg-s3cr3t"],
                               env={"API_TOKEN": "s3cr3t"}))
    with pytest.raises(McpServerError) as err:
        s.list_tools()
    assert "ended while starting" in err.value.message
    assert err.value.stderr == "missing API_TOKEN"
    assert "s3cr3t" not in str(err.value)
    assert "--token [hidden]" in err.value.message


def test_a_server_that_never_answers_ends_at_the_start_limit() -> None:
    # reads its stdin and never answers: the handshake waits until the limit
    s = McpServer(ServerConfig("mute", command=sys.executable, args=["-c", "import sys; sys.stdin.read()"]),
                  start_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(McpServerError) as err:
        s.list_tools()
    assert "did not answer within 0.5 s of starting" in err.value.message
    assert time.monotonic() - started < 2  # the SDK stops the process (stdin closed, then signals)


def test_the_published_time_server() -> None:
    s = McpServer(ServerConfig("time", command=sys.executable, args=["-m", "mcp_server_time"]))
    try:
        names = {t.name for t in s.list_tools()}
        result = s.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
    finally:
        s.stop()
    assert {"get_current_time", "convert_time"} <= names
    assert not result.is_error
    data = json.loads(result.text)
    assert data["timezone"] == "Asia/Tokyo"
    assert data["datetime"].endswith("+09:00")


def test_stop_ends_the_process() -> None:
    s = McpServer(ServerConfig("brief", command=sys.executable, args=[SERVER]))
    s.list_tools()
    conn = s._conn
    assert conn is not None and conn.stderr is not None
    s.stop()
    assert conn.stderr.ended.wait(5)  # the stderr pipe closed: the process is gone
    assert not s.running



def test_stop_while_a_server_starts_ends_the_start() -> None:
    s = McpServer(ServerConfig("slow", command=sys.executable, args=["-c", "import sys; sys.stdin.read()"]))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ToolCancelledError, match="start of the MCP server slow was stopped"):
        s.call_tool("echo", {"text": "x"}, cancel=cancel)
    assert time.monotonic() - started < 2.5  # slack for a loaded 2-core CI machine
    assert not s.running


def test_a_call_already_stopped_does_not_start_the_server() -> None:
    s = McpServer(ServerConfig("never", command="no-such-mcp-server-command"))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ToolCancelledError):
        s.call_tool("echo", {}, cancel=cancel)
    assert s._conn is None
