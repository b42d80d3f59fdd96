"""Models on the user's own servers (vLLM, llama-server, Ollama, LM Studio, another copy
of this app): a private server, not the cloud.

The same OpenAI-compatible client as the cloud's (engines/cloud.py: the official SDK over
`network.httpx_client`), so every request is in the network record and Offline mode
refuses it; but answers are "local" ones: no consent, no cost, no redaction. The server
list is in settings (`private_servers`: name, base URL, whether it has a key); a key is in
the keyring under `private-server:<name>`.

A model on a server is a ModelRef of format "remote" whose path is
`private/<server name>/<model id>` (ids may hold slashes: "Qwen/Qwen2.5-72B-Instruct").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from assistant import keys, network
from assistant.core.types import LoadOptions, ModelRef
from assistant.engines.cloud import CloudEngine
from assistant.errors import AssistantError, EngineError, NetworkBlockedError
from assistant.settings import Settings

ENGINE = "private"
_ROOT = "private"
DEFAULT_CONTEXT = 8192  # when the server does not say (vLLM does: max_model_len)


@dataclass(frozen=True)
class PrivateServer:
    name: str
    base_url: str
    has_key: bool = False

    @property
    def host(self) -> str:
        parts = urlsplit(self.base_url)
        return parts.netloc or self.base_url

    @property
    def key_id(self) -> str:
        return f"private-server:{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "base_url": self.base_url, "has_key": self.has_key}


def servers(settings: Settings) -> list[PrivateServer]:
    """The servers in settings; entries without a name or address are skipped."""
    out = []
    for d in settings.private_servers:
        if isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("base_url"), str):
            if d["name"].strip() and d["base_url"].strip():
                out.append(PrivateServer(d["name"].strip(), d["base_url"].strip(), bool(d.get("has_key"))))
    return out


def find_server(settings: Settings, name: str) -> PrivateServer | None:
    return next((s for s in servers(settings) if s.name.lower() == name.lower()), None)


def check_name(name: str) -> str:
    name = name.strip()
    if not name or "/" in name or ":" in name:
        raise AssistantError("A server's name must not be empty nor hold “/” or “:”.",
                             "Use a short name such as gpu-box: `ask --model gpu-box:MODEL` uses it.")
    return name


def normalize_url(url: str) -> str:
    """http://host:port or .../v1 -> the base URL with /v1 (what OpenAI's SDK wants)."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AssistantError(f"“{url}” is not a server address.", "Enter it as http://HOST:PORT, for example http://192.168.1.20:8000.")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def model_ref(server: PrivateServer, model_id: str) -> ModelRef:
    return ModelRef(Path(_ROOT, server.name, *PurePosixPath(model_id).parts), "remote", name=model_id)


def parse_ref(ref: ModelRef) -> tuple[str, str]:
    """(server name, model id) of a remote ModelRef."""
    parts = ref.path.parts
    if ref.format != "remote" or len(parts) < 3 or parts[0] != _ROOT:
        raise EngineError(f"“{ref.display_name}” is not a model on one of your servers.")
    return parts[1], ref.name or "/".join(parts[2:])


def ref_from_spec(spec: str, settings: Settings) -> ModelRef | None:
    """`SERVER:MODEL` (the command line's --model) when SERVER is one of the user's servers."""
    name, sep, model_id = spec.partition(":")
    server = find_server(settings, name) if sep else None
    if server is None:
        return None
    if not model_id.strip():
        raise AssistantError(f"Name the model on {server.name}: --model {server.name}:MODEL.",
                             "`assistant ask --model` with the server's name and one of its models.")
    return model_ref(server, model_id.strip())


def engine_for(ref: ModelRef, settings: Settings) -> PrivateServerEngine:
    """The engine for a remote model; reads the server's key from the keyring when it has one."""
    name, model_id = parse_ref(ref)
    server = find_server(settings, name)
    if server is None:
        raise EngineError(f"There is no server called “{name}” any more.", "Add it again in Settings → Your servers.")
    key = keys.get_key(server.key_id) if server.has_key else None
    return PrivateServerEngine(server, model_id, key)


class PrivateServerEngine(CloudEngine):
    name = ENGINE

    def __init__(self, server: PrivateServer, model: str, api_key: str | None = None, timeout_s: float = 120) -> None:
        super().__init__("openai-compatible", model or "-", api_key or "", base_url=normalize_url(server.base_url),
                         timeout_s=timeout_s, max_retries=1)
        self.server = server
        self._label = server.name  # every message names the user's own server
        self._context = DEFAULT_CONTEXT

    def __repr__(self) -> str:
        return f"PrivateServerEngine(server={self.server.name!r}, model={self.model!r}, base_url={self.base_url!r})"

    @property
    def backend(self) -> str:
        return f"{self.server.name} ({self.server.host})"

    @property
    def context_length(self) -> int:
        return self._context

    def load(self, model: ModelRef | None = None, options: LoadOptions | None = None) -> None:
        """Nothing to load: checks the server answers and serves the model, and reads its
        context window when the server tells it."""
        if model is not None:
            self._model = self._check_model(parse_ref(model)[1])
        entries = self._model_entries()
        ids = [str(e.get("id")) for e in entries]
        if self._model not in ids:
            raise EngineError(f"{self.server.name} does not serve “{self._model}”.",
                              "It serves: " + (", ".join(ids[:10]) or "no models") + ".")
        entry = entries[ids.index(self._model)]
        for field in ("max_model_len", "context_length", "n_ctx"):  # vLLM, LM Studio, llama.cpp
            value = entry.get(field) or (entry.get("meta") or {}).get(field)
            if isinstance(value, int) and value > 0:
                self._context = value
                break

    def list_models(self) -> list[str]:
        return [str(e.get("id")) for e in self._model_entries()]

    def _model_entries(self) -> list[dict[str, Any]]:
        self._refuse_offline()
        with network.purpose(f"{self._label}: model list"):
            try:
                return [m.model_dump() for m in self._client().models.list()]
            except Exception as exc:
                raise self._translate(exc) from None

    def _refuse_offline(self) -> None:
        if network.is_offline():
            host = urlsplit(self.base_url).hostname or self.base_url
            network.record(network.NetworkEntry(
                time.time(), host, urlsplit(self.base_url).port, network.current_purpose() or f"{self._label}: chat",
                outcome=network.BLOCKED,
            ))
            raise NetworkBlockedError(
                f"Offline mode is on: your server {self.server.name} ({self.server.host}) was not contacted.",
                "Turn off Offline mode in Settings to use it, or choose a model on this computer.",
            )

    def _lost(self, partial: bool) -> EngineError:
        return EngineError(
            f"The connection to {self.server.name} ({self.server.host}) was lost mid-answer.",
            ("The partial answer was kept. " if partial else "") + "Check that the server is still running, then retry.",
        )

    def _translate(self, exc: BaseException, *, mid_stream: bool = False, partial: bool = False) -> AssistantError:
        err = super()._translate(exc, mid_stream=mid_stream, partial=partial)
        if err.message.startswith("Could not connect to"):
            return EngineError(
                f"Your server {self.server.name} is not reachable at {self.base_url}.",
                "Check that it is running and that the address is right (Settings → Your servers).",
            )
        hint = err.hint.replace("Settings → Cloud", "Settings → Your servers").replace(", or retry locally", "")
        hint = hint.replace("Retry, or retry locally.", "Retry.").replace("the provider", "the server's owner")
        return type(err)(err.message.replace("API key", "key"), hint)
