"""A real MCP server written with the official SDK (MCPServer, FastMCP's name in mcp 2),
for the MCP client's tests. Run as a script: stdio by default, `--http PORT` for
Streamable HTTP on 127.0.0.1.

Tools: echo, add, sleep, big (a text result of N MB), crash (the process ends at once),
picture (an image), connect (tries a TCP connection: for the network sandbox).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp.server.mcpserver import Image, MCPServer
from mcp.shared.exceptions import MCPError

mcp = MCPServer("assistant-tests")

# the smallest PNG: one transparent pixel
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@mcp.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@mcp.tool()
async def sleep(seconds: float, marker: str = "") -> str:
    """Wait, then say so. Cancelled, it writes "cancelled" to the file `marker`."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if marker:
            Path(marker).write_text("cancelled", encoding="utf-8")
        raise
    return f"slept {seconds}"


@mcp.tool()
def big(megabytes: int = 10) -> str:
    """A text result of this many megabytes."""
    return "x" * (megabytes * 1024 * 1024)


@mcp.tool()
def crash(message: str = "the test server is going down") -> str:
    """End the server's process at once, after a line on stderr."""
    print(message, file=sys.stderr, flush=True)
    os._exit(3)


@mcp.tool()
def refuse(reason: str = "not today") -> str:
    """Answer with a JSON-RPC error (a protocol error, not a tool's error result)."""
    raise MCPError(code=-32602, message=reason)


@mcp.tool()
def picture() -> Image:
    """A one-pixel PNG."""
    return Image(data=_PIXEL, format="png")


@mcp.tool()
def connect(port: int) -> str:
    """Open a TCP connection to 127.0.0.1:port; say whether it worked."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return "connected"
    except OSError as exc:
        return f"refused: {exc.strerror or exc}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_http(port: int):  # type: ignore[no-untyped-def]
    """This server over Streamable HTTP on 127.0.0.1:port, in a subprocess, once it listens."""
    err = tempfile.TemporaryFile()  # not a pipe: a pipe nobody reads would fill and stall the server
    proc = subprocess.Popen([sys.executable, __file__, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err.seek(0)
            raise RuntimeError(f"the MCP test server ended: {err.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the MCP test server did not listen within 30 s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=0, help="serve Streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args()
    if args.http:
        mcp.settings.log_level = "WARNING"
        mcp.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        if os.environ.get("MCP_TEST_CLOSE_STDERR"):  # a server that closes its own stderr
            os.close(2)
        mcp.run()

