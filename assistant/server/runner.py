"""uvicorn on a socket bound here, so the port (0: any free one) is known before the
first request: in a thread of its own for the window, or in the foreground for
`assistant serve` (where Ctrl-C stops it).

Logging: uvicorn's access log is off (our own network record lists each request, without
headers or queries) and its error log goes to the app's log; nothing here logs the token.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from assistant import keys
from assistant.core.types import ModelRef
from assistant.errors import AssistantError
from assistant.server.app import build_app
from assistant.server.models import ModelHost
from assistant.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
ALL_INTERFACES = "0.0.0.0"
LAN_WARNING = (
    "The API server listens on the local network: anyone on it who has the token can use "
    "your models. Keep the token secret, and turn this off on networks you do not trust."
)


class ServerError(AssistantError):
    """The API server could not start."""


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    host: str = LOOPBACK
    port: int = 0
    model: ModelRef | None = None  # loaded at start, and served even outside the models folder


class ApiServer:
    def __init__(self, config: ServerConfig, settings: Settings, models_dir: Path, token: str) -> None:
        keys.protect(token)  # redacted from every log line from now on
        self.config = config
        self.host = ModelHost(settings, models_dir, pinned=[config.model] if config.model else None)
        self._app = build_app(self.host, token)
        self._sock: socket.socket | None = None
        self._server: object | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._sock is not None, "bind() first"
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.config.host
        shown = LOOPBACK if host in (ALL_INTERFACES, "::") else host
        return f"http://{shown}:{self.port}/v1"

    def bind(self) -> None:
        if self._sock is not None:
            return
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        try:
            self._sock = socket.create_server((self.config.host, self.config.port), family=family, reuse_port=False)
        except OSError as exc:
            raise ServerError(
                f"The API server could not listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}.",
                "Another program may use that port: pick another one (Settings → Server, or --port).",
            ) from None
        if self.config.model is not None:
            self.host.preload(self.config.model)

    def _uvicorn(self):  # type: ignore[no-untyped-def]
        import uvicorn

        config = uvicorn.Config(self._app, access_log=False, log_config=None, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=5)
        server = uvicorn.Server(config)
        self._server = server
        return server

    def serve_forever(self) -> None:
        """In this thread until Ctrl-C (SIGINT / SIGTERM): `assistant serve`."""
        self.bind()
        assert self._sock is not None
        try:
            self._uvicorn().run(sockets=[self._sock])
        finally:
            self._close()
            self.host.engines.close()  # this process ends: every engine process with it

    def start(self) -> None:
        """In a thread of its own (the window); returns once it accepts requests."""
        self.bind()
        server = self._uvicorn()
        sock = self._sock
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="api-server", daemon=True)
        self._thread.start()
        while not server.started and self._thread.is_alive():
            self._thread.join(0.05)
        if not server.started:
            self._close()
            raise ServerError("The API server stopped while starting.", "The app's log has the details.")

    def stop(self, timeout_s: float = 15) -> None:
        server = self._server
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._close()

    def _close(self) -> None:
        self.host.close()
        if self._sock is not None:
            self._sock.close()
