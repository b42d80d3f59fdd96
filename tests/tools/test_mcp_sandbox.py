"""Starting a stdio MCP server without network access (a network namespace of its own)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import network
from assistant.errors import McpServerError
from assistant.tools import mcp_sandbox
from assistant.tools.mcp_client import McpServer
from assistant.tools.mcp_config import ServerConfig

SERVER = str(Path(__file__).resolve().parents[1] / "support" / "mcp_server.py")


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _connect_from(no_network: bool, port: int) -> str:
    server = McpServer(ServerConfig("net", command=sys.executable, args=[SERVER], no_network=no_network))
    try:
        return server.call_tool("connect", {"port": port}).text
    finally:
        server.stop()


def test_an_unsandboxed_server_can_connect(listener: int) -> None:
    assert _connect_from(False, listener) == "connected"


def test_a_sandboxed_server_cannot_connect_even_to_this_computer(listener: int) -> None:
    ok, why = mcp_sandbox.sandbox_available()
    if not ok:
        pytest.skip(f"the kernel does not allow it here: {why}")
    assert _connect_from(True, listener) == "refused: Network is unreachable"


def test_without_unshare_the_sandbox_says_why_and_the_server_is_not_started(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no unshare to be found
    mcp_sandbox.sandbox_available.cache_clear()
    try:
        ok, why = mcp_sandbox.sandbox_available()
        assert (ok, why) == (False, "the unshare command (util-linux) is not installed")
        server = McpServer(ServerConfig("net", command=sys.executable, args=[SERVER], no_network=True))
        with pytest.raises(McpServerError) as err:
            server.list_tools()
        assert "without network access, but the unshare command (util-linux) is not installed" in err.value.message
        assert server._conn is None  # never started with the network on instead
    finally:
        mcp_sandbox.sandbox_available.cache_clear()


def test_a_refused_namespace_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # an unshare that fails as a kernel without unprivileged user namespaces makes it fail
    fake = tmp_path / "unshare"
    fake.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    mcp_sandbox.sandbox_available.cache_clear()
    try:
        ok, why = mcp_sandbox.sandbox_available()
    finally:
        mcp_sandbox.sandbox_available.cache_clear()
    assert not ok
    assert why.startswith("this system does not allow unprivileged user namespaces "
                          "(unshare said: unshare: unshare failed: Operation not permitted)")


def test_not_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mcp_sandbox.sys, "platform", "darwin")
    mcp_sandbox.sandbox_available.cache_clear()
    try:
        assert mcp_sandbox.sandbox_available() == (
            False, "starting a server without network access needs Linux (network namespaces)")
    finally:
        mcp_sandbox.sandbox_available.cache_clear()


def test_offline_mode_starts_a_stdio_server_without_network(listener: int) -> None:
    ok, why = mcp_sandbox.sandbox_available()
    if not ok:
        pytest.skip(f"the kernel does not allow it here: {why}")
    server = McpServer(ServerConfig("net", command=sys.executable, args=[SERVER]))
    try:
        assert server.call_tool("connect", {"port": listener}).text == "connected"
        network.set_offline(True)  # started online: it starts again, confined
        assert server.call_tool("connect", {"port": listener}).text == "refused: Network is unreachable"
        network.set_offline(False)  # confined stays confined until it ends: more private, never less
        assert server.call_tool("connect", {"port": listener}).text == "refused: Network is unreachable"
    finally:
        server.stop()
