"""The MCP client against a real Streamable HTTP server on 127.0.0.1 (the SDK test server in
a subprocess): calls, the network record, Offline mode, secrets kept out of errors."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from support.mcp_server import free_port, start_http

from assistant import network
from assistant.errors import McpServerError, NetworkBlockedError
from assistant.network import activity
from assistant.tools.mcp_client import McpServer
from assistant.tools.mcp_config import ServerConfig


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    port = free_port()
    proc = start_http(port)
    yield port
    proc.kill()
    proc.wait(10)


@pytest.fixture(scope="module")
def web(http_port: int) -> Iterator[McpServer]:
    s = McpServer(ServerConfig("web", url=f"http://127.0.0.1:{http_port}/mcp"))
    yield s
    s.stop()


def _entries(purpose: str, wait_for: int = 1) -> list[activity.NetworkEntry]:
    deadline = time.monotonic() + 3
    while True:
        found = [e for e in activity.entries() if e.purpose == purpose]
        if len(found) >= wait_for or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_lists_and_calls_tools_over_http(web: McpServer) -> None:
    assert {"echo", "add", "sleep"} <= {t.name for t in web.list_tools()}
    assert web.call_tool("add", {"a": 20, "b": 22}).text == "42"


def test_its_traffic_is_in_the_network_record_under_its_name(web: McpServer, http_port: int) -> None:
    assert web.call_tool("echo", {"text": "recorded"}).text == "recorded"
    posts = [e for e in _entries("MCP server: web") if e.method == "POST"]
    assert posts, activity.entries()
    assert {(e.host, e.port, e.path) for e in posts} == {("127.0.0.1", http_port, "/mcp")}
    assert all(e.outcome == "ok" and e.status == 200 for e in posts)


def test_a_big_result_over_http_is_cut_not_refused(web: McpServer) -> None:
    result = web.call_tool("big", {"megabytes": 2}, timeout_s=60)
    assert result.cut and result.size == 2 * 1024 * 1024
    assert result.text.endswith("(cut: the tool returned 2 MB; the first 1 MB is shown)")


def test_offline_mode_refuses_an_http_server_before_any_connection() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    network.set_offline(True)
    s = McpServer(ServerConfig("remote", url=f"http://127.0.0.1:{port}/mcp?key=abc", headers={"Authorization": "Bearer tok"}))
    try:
        with pytest.raises(NetworkBlockedError):
            s.list_tools()
        assert not s.running
        assert not any(t.name == "mcp-remote" for t in threading.enumerate())  # no loop, no client
        with pytest.raises(BlockingIOError):  # nothing ever knocked
            listener.accept()
    finally:
        listener.close()
    [entry] = _entries("MCP server: remote")
    assert (entry.host, entry.port, entry.outcome, entry.method) == ("127.0.0.1", port, "blocked", "")


def test_offline_mode_on_after_connecting_blocks_the_next_request(web: McpServer) -> None:
    web.list_tools()
    network.set_offline(True)
    with pytest.raises((NetworkBlockedError, McpServerError)) as err:
        web.call_tool("echo", {"text": "no"}, timeout_s=10)
    assert "Offline mode" in str(err.value)
    network.set_offline(False)
    assert web.call_tool("echo", {"text": "yes"}).text == "yes"  # reconnects once online


def test_an_unreachable_server_is_named_without_its_secrets() -> None:
    port = free_port()  # nothing listens there
    s = McpServer(ServerConfig("gone", url=f"http://user:pw@127.0.0.1:{port}/mcp?token=q-s3cret",
                               headers={"Authorization": "Bearer h-s3cret"}), start_timeout_s=10)
    with pytest.raises(McpServerError) as err:
        s.list_tools()
    text = str(err.value)
    assert f"http://127.0.0.1:{port}/mcp" in text and "gone" in text
    assert "s3cret" not in text and "pw" not in text
    assert "s3cret" not in repr(s.config)
    for e in activity.entries():
        assert "s3cret" not in repr(e)


def test_the_record_holds_no_header_value(http_port: int) -> None:
    s = McpServer(ServerConfig("tokened", url=f"http://127.0.0.1:{http_port}/mcp",
                               headers={"Authorization": "Bearer rec-s3cret"}))
    try:
        s.list_tools()
    finally:
        s.stop()
    assert _entries("MCP server: tokened")
    assert "rec-s3cret" not in activity.record_path().read_text()



def test_no_token_reaches_a_log_line_even_at_debug(http_port: int, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from assistant.keys import install_log_redaction, uninstall_log_redaction

    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    try:
        s = McpServer(ServerConfig("logged", url=f"http://127.0.0.1:{http_port}/mcp?key=log-q-s3cret",
                                   headers={"Authorization": "Bearer log-h-s3cret"}))
        try:
            assert s.call_tool("echo", {"text": "Bearer log-h-s3cret"}).text  # the token even comes back
        finally:
            s.stop()
    finally:
        uninstall_log_redaction()
    assert caplog.records  # the SDK and httpx2 did log at DEBUG
    assert "s3cret" not in caplog.text


def test_a_server_that_goes_away_is_named_and_reached_again_when_back() -> None:
    port = free_port()
    proc = start_http(port)
    s = McpServer(ServerConfig("flaky", url=f"http://127.0.0.1:{port}/mcp"))
    try:
        assert s.call_tool("echo", {"text": "1"}).text == "1"
        proc.kill()
        proc.wait(10)
        with pytest.raises(McpServerError) as err:
            s.call_tool("echo", {"text": "2"}, timeout_s=10)
        assert err.value.message.startswith(f"The MCP server flaky (http://127.0.0.1:{port}/mcp) failed during echo: ")
        assert err.value.hint == "It will be connected to again on the next call."
        assert not s.running
        proc = start_http(port)
        assert s.call_tool("echo", {"text": "3"}).text == "3"
    finally:
        s.stop()
        proc.kill()
        proc.wait(10)
