"""The network record and Offline mode, with real sockets and a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import http.server
import importlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from assistant import network
from assistant.errors import NetworkBlockedError
from assistant.network import activity


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append(self.path)
        body = b"hello from loopback" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.send_response(201)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    _Handler.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A plain listening TCP socket; accept() tells whether anything connected."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.settimeout(0.3)
    yield s
    s.close()


def _nothing_connected(s: socket.socket) -> bool:
    try:
        conn, _ = s.accept()
    except socket.timeout:
        return True
    conn.close()
    return False


# ---------------------------------------------------------------- record basics

def test_fresh_home_has_an_empty_record() -> None:
    assert network.entries() == []
    assert not network.record_path().exists()


def test_entries_newest_first_limit_clear_and_damaged_lines() -> None:
    for t in (1.0, 3.0, 2.0):
        network.record(network.NetworkEntry(t, "h", 443, "p"))
    with open(network.record_path(), "a") as f:
        f.write('{"time": "soon", "host": "h", "port": 1, "purpose": "p"}\n')
        f.write('{"time": 4.0, "host": "cut of')  # a crash mid-write
    assert [e.time for e in network.entries()] == [3.0, 2.0, 1.0]
    assert [e.time for e in network.entries(limit=1)] == [3.0]
    network.clear()
    assert network.entries() == []


def test_a_long_record_drops_its_oldest_half(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity, "MAX_RECORD_BYTES", 2000)
    for t in range(40):
        network.record(network.NetworkEntry(float(t), "h", 443, "p"))
    times = [e.time for e in network.entries()]
    assert times[0] == 39.0 and 0.0 not in times
    assert network.record_path().stat().st_size <= 2000


def test_listeners_hear_new_entries_and_clear() -> None:
    heard: list[network.NetworkEntry | None] = []
    unsubscribe = network.subscribe(heard.append)
    entry = network.NetworkEntry(1.0, "h", 443, "p")
    network.record(entry)
    network.clear()
    unsubscribe()
    network.record(entry)
    assert heard == [entry, None]


def test_a_failing_listener_does_not_break_recording() -> None:
    def broken(entry: network.NetworkEntry | None) -> None:
        raise RuntimeError("boom")

    unsubscribe = network.subscribe(broken)
    try:
        network.record(network.NetworkEntry(1.0, "h", 443, "p"))
    finally:
        unsubscribe()
    assert len(network.entries()) == 1


# ---------------------------------------------------------------- offline

def test_offline_refuses_a_raw_connect_before_it_happens(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    network.set_offline(True)
    with pytest.raises(NetworkBlockedError) as info:
        socket.create_connection(("127.0.0.1", port), timeout=2)
    assert "127.0.0.1" in info.value.message and "Offline mode" in info.value.hint
    assert _nothing_connected(listener)
    [entry] = network.entries()
    assert (entry.host, entry.port, entry.outcome, entry.purpose) == ("127.0.0.1", port, "blocked", "unattributed")


def test_offline_refuses_name_lookups_but_localhost_reaches_the_connect(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    network.set_offline(True)
    with network.purpose("Test: lookup"), pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)  # refused before any DNS query
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("localhost", port), timeout=2)
    assert _nothing_connected(listener)
    lookup, connect = sorted(network.entries(), key=lambda e: e.time)
    assert (lookup.host, lookup.port, lookup.purpose, lookup.outcome) == ("example.com", 443, "Test: lookup", "blocked")
    assert (connect.host, connect.port, connect.outcome) == ("localhost", port, "blocked")


def test_offline_refuses_datagrams() -> None:
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.3)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        network.set_offline(True)
        with pytest.raises(NetworkBlockedError):
            sender.sendto(b"x", receiver.getsockname())
        with pytest.raises(socket.timeout):
            receiver.recv(10)
    finally:
        sender.close()
        receiver.close()
    assert [e.outcome for e in network.entries()] == ["blocked"]


def test_offline_refuses_httpx_client(server: tuple[str, int]) -> None:
    host, port = server
    network.set_offline(True)
    with network.httpx_client("Test: offline") as client, pytest.raises(NetworkBlockedError):
        client.get(f"http://{host}:{port}/models?token=abc")
    assert _Handler.seen == []
    [entry] = network.entries()
    assert (entry.host, entry.port, entry.purpose, entry.method, entry.path, entry.outcome) == (
        host, port, "Test: offline", "GET", "/models", "blocked")


def test_offline_leaves_unix_sockets_and_other_events_alone(tmp_path) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    a, b = socket.socketpair()  # AF_UNIX: D-Bus and the keyring go this way
    with a, b:
        a.sendall(b"ping")
        assert b.recv(4) == b"ping"
    path = str(tmp_path / "s.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    client.close()
    server.close()
    (tmp_path / "f.txt").write_text("files still open")
    assert network.entries() == []


def test_socketpair_emulation_on_windows_is_not_a_connection() -> None:
    # Windows has no AF_UNIX socketpair; the stdlib emulates it over loopback and asyncio
    # uses it as its wake-up pipe. Same names and file as the stdlib's, run here.
    code = (
        "def socketpair():\n"
        "    lsock = socket.socket()\n"
        "    lsock.bind(('127.0.0.1', 0))\n"
        "    lsock.listen()\n"
        "    csock = socket.socket()\n"
        "    csock.connect(lsock.getsockname())\n"
        "    ssock, _ = lsock.accept()\n"
        "    lsock.close()\n"
        "    return ssock, csock\n"
    )
    namespace: dict[str, object] = {"socket": socket}
    exec(compile(code, socket.__file__, "exec"), namespace)
    network.set_offline(True)
    a, b = namespace["socketpair"]()  # type: ignore[operator]
    with a, b:
        a.sendall(b"wake")
        assert b.recv(4) == b"wake"
    assert network.entries() == []


# ---------------------------------------------------------------- online

def test_httpx_request_is_recorded_once_with_its_details(server: tuple[str, int]) -> None:
    host, port = server
    with network.httpx_client("Test: models") as client:
        r = client.get(f"http://{host}:{port}/api/models?search=gemma&limit=5")
        assert r.status_code == 200
        r2 = client.post(f"http://{host}:{port}/upload", content=b"x" * 1000)
        assert r2.status_code == 201 and r2.content == b"x" * 1000
    post, get = network.entries()
    assert (get.host, get.port, get.purpose, get.method, get.path, get.outcome, get.status) == (
        host, port, "Test: models", "GET", "/api/models", "ok", 200)
    assert get.bytes_sent and get.bytes_sent > 0
    assert get.bytes_received and get.bytes_received > len(r.content)
    assert (post.method, post.path, post.status) == ("POST", "/upload", 201)
    assert post.bytes_sent and post.bytes_sent > 1000
    assert post.bytes_received and post.bytes_received > 1000
    assert "search" not in network.record_path().read_text()


def test_streamed_response_is_recorded_when_it_ends(server: tuple[str, int]) -> None:
    host, port = server
    with network.httpx_client("Test: stream") as client:
        with client.stream("GET", f"http://{host}:{port}/file.gguf") as r:
            assert network.entries() == []  # headers are in, the body is not
            body = b"".join(r.iter_raw())
    [entry] = network.entries()
    assert entry.bytes_received and entry.bytes_received > len(body) > 0


def test_purpose_block_wins_over_the_clients_purpose(server: tuple[str, int]) -> None:
    host, port = server
    with network.httpx_client("Hugging Face Hub") as client, network.purpose("Hugging Face Hub: search"):
        client.get(f"http://{host}:{port}/api/models")
    assert [e.purpose for e in network.entries()] == ["Hugging Face Hub: search"]


def test_async_client_is_recorded_once(server: tuple[str, int]) -> None:
    host, port = server

    async def fetch() -> int:
        async with network.async_httpx_client("Test: async") as client:
            r = await client.get(f"http://{host}:{port}/a?key=1")
            return r.status_code

    assert asyncio.run(fetch()) == 200
    [entry] = network.entries()
    assert (entry.purpose, entry.path, entry.status, entry.outcome) == ("Test: async", "/a", 200, "ok")
    assert entry.bytes_received and entry.bytes_received > 0


def test_raw_connect_outside_a_client_is_recorded_unattributed(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with network.purpose("Test: raw"), socket.create_connection(("localhost", port), timeout=2):
        pass
    first, second = sorted(network.entries(), key=lambda e: e.time)
    assert (first.host, first.port, first.purpose, first.outcome) == ("127.0.0.1", port, "unattributed", "attempted")
    assert first.bytes_sent is None and first.bytes_received is None
    assert (second.host, second.purpose) == ("localhost", "Test: raw")


def test_failed_request_is_recorded_as_an_error(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    client = network.httpx_client("Test: refused")
    httpx_mod = importlib.import_module(type(client).__module__.split(".")[0])  # httpx or httpx2
    with client, pytest.raises(httpx_mod.ConnectError):
        client.get(f"http://127.0.0.1:{port}/x?key=sk-secret-789")
    [entry] = network.entries()
    assert entry.outcome == "error: the connection was refused: nothing answers at that address"
    assert entry.purpose == "Test: refused" and entry.bytes_sent == 0  # nothing was written: no bytes sent
    assert "sk-secret" not in network.record_path().read_text()


def test_no_secret_ever_reaches_the_record(server: tuple[str, int]) -> None:
    host, port = server
    with network.httpx_client("Test: secrets", headers={"Authorization": "Bearer sk-secret-123"}) as client:
        client.get(f"http://{host}:{port}/v1/models?key=sk-secret-456", headers={"X-Api-Key": "sk-secret-000"})
        client.post(f"http://{host}:{port}/v1/chat?key=sk-secret-456", json={"api_key": "sk-secret-111"})
    text = network.record_path().read_text()
    assert len(text.splitlines()) == 2
    assert "sk-secret" not in text and "Bearer" not in text
    for line in text.splitlines():
        assert set(json.loads(line)) == {f.name for f in network.NetworkEntry.__dataclass_fields__.values()}


def test_a_name_that_does_not_resolve_is_said_in_words_and_sent_nothing() -> None:
    client = network.httpx_client("Test: no such host")
    with client, pytest.raises(Exception) as caught:
        client.get("http://no-such-host.invalid/api/models")
    assert network.describe_failure(caught.value) == "the name could not be looked up"
    assert network.no_connection("no-such-host.invalid", caught.value) == \
        "No connection to no-such-host.invalid (the name could not be looked up)."
    [entry] = [e for e in network.entries() if e.purpose == "Test: no such host"]
    assert entry.outcome == "error: the name could not be looked up" and entry.bytes_sent == 0
    assert "Errno" not in network.record_path().read_text()


def test_failures_in_words() -> None:
    import socket as s
    import ssl

    def chained(outer: BaseException, inner: BaseException) -> BaseException:
        outer.__cause__ = inner
        return outer

    cases = {
        "the name could not be looked up": chained(RuntimeError("x"), s.gaierror(s.EAI_NONAME, "Name or service not known")),
        "the connection was refused: nothing answers at that address": ConnectionRefusedError(111, "refused"),
        "it did not answer in time": TimeoutError(),
        "the secure connection could not be checked (its certificate)": ssl.SSLCertVerificationError("certificate verify failed"),
        "the connection was cut": ConnectionResetError(104, "reset"),
        "Offline mode is on": network.blocked_error("example.org"),
        "the connection failed": RuntimeError("something else"),
    }
    for words, exc in cases.items():
        assert network.describe_failure(exc) == words, (words, exc)
    assert network.reword("error: ConnectError: [Errno -2] Name or service not known") == "error: the name could not be looked up"
    assert network.reword("ok") == "ok" and network.reword("error: the connection was cut") == "error: the connection was cut"
    assert network.never_connected(ConnectionRefusedError()) and not network.never_connected(ConnectionResetError())


def test_the_terminal_origin_is_said_in_outgoing_lines_only() -> None:
    network.clear()
    network.set_origin("terminal")
    try:
        network.record(network.NetworkEntry(1.0, "huggingface.co", 443, "Model download"))
        network.record(network.NetworkEntry(2.0, "127.0.0.1", 50000, "API server (incoming)", direction=network.INBOUND))
    finally:
        network.set_origin("")
    network.record(network.NetworkEntry(3.0, "huggingface.co", 443, "Model download"))
    purposes = [e.purpose for e in reversed(network.entries())]
    assert purposes == ["Model download (from the terminal)", "API server (incoming)", "Model download"]
