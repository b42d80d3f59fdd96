"""Typed settings saved as JSON with a schema version.

A file that cannot be read is moved aside to `settings.json.bak` and the defaults
are used; the caller gets the warning to show. Writes are atomic (temp file +
rename), so a crash mid-save never leaves a half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

from assistant.core.types import GenParams

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class CloudSettings:
    """The optional cloud model. The API key is never here: it lives in the OS keyring."""

    provider: str = ""  # "" (none), "openai", "anthropic", "openai-compatible"
    model: str = ""
    base_url: str = ""  # the OpenAI-compatible server's address (that provider's only)
    routing_mode: str = "local"  # "local" (the default), "ask", "auto"
    redact: bool = True  # e-mail addresses, phone numbers and key-like strings
    monthly_limit_usd: float = 0.0  # 0: no limit
    # each provider's own settings: a gateway or proxy for OpenAI / Anthropic (none: the
    # provider's own endpoint), and the model last chosen for the other providers
    base_urls: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)


@dataclass
class ServerSettings:
    """The local API server (assistant/server/). Its token lives in the OS keyring."""

    enabled: bool = False  # started with the app (Settings → Server); off by default
    port: int = 8765
    # listen on the local network (0.0.0.0) rather than this computer only (127.0.0.1)
    local_network: bool = False
    # answers decoded at once by each llama.cpp engine, the chat's included (its slots)
    parallel: int = 4
    queue: int = 16  # requests that may wait for a slot; more are answered 429 with Retry-After
    # a model loaded for a request (not by the window) is unloaded after this long without one (0: never)
    idle_unload_minutes: float = 10.0


@dataclass
class Settings:
    schema_version: int = SCHEMA_VERSION
    default_model: str = ""  # a path, or the name of an installed model
    system_prompt: str = "You are a helpful assistant."
    context_length: int = 4096
    n_threads: int = 0  # 0: physical cores
    n_gpu_layers: int = -1  # -1: auto (hardware.py decides)
    offline_mode: bool = False
    theme: str = "system"  # light / dark / system
    font_size: int = 11
    generation: GenParams = field(default_factory=GenParams)  # the app-wide sampling values
    cloud: CloudSettings = field(default_factory=CloudSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    # the user's own OpenAI-compatible servers: {"name", "base_url", "has_key"} each
    # (engines/private.py reads them; a key is in the keyring, never here)
    private_servers: list[dict[str, Any]] = field(default_factory=list)
    # model files added from elsewhere on disk ("Add a model file..."): they stay where they are
    extra_models: list[str] = field(default_factory=list)
    # window state, restored at the next start
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    splitter_state: str = ""  # base64 of QSplitter.saveState()
    last_conversation_id: int = 0
    window_sizes: dict[str, list[int]] = field(default_factory=dict)  # other windows' sizes, by name
    # per-model overrides, keyed by model path (model_settings.py reads them)
    model_settings: dict[str, dict] = field(default_factory=dict)
    advanced_settings: bool = False  # the model settings dialog shows its advanced part
    first_run_done: bool = False  # the first-run wizard was finished or skipped
    # the Hugging Face Hub's address: "" is huggingface.co (or HF_ENDPOINT); a mirror or
    # self-hosted proxy otherwise. The token is never here: it lives in the OS keyring.
    hub_endpoint: str = ""


# version N -> function that upgrades a version-N dict to N+1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build a dataclass from a dict, ignoring unknown keys and wrong types."""
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        default = getattr(defaults, f.name)
        if default is None:  # optional numbers (a seed): None or an int
            if value is None or (isinstance(value, int) and not isinstance(value, bool)):
                kwargs[f.name] = value
            continue
        if hasattr(default, "__dataclass_fields__"):
            if isinstance(value, dict):
                kwargs[f.name] = _from_dict(type(default), value)
            continue
        if isinstance(default, bool):
            if isinstance(value, bool):
                kwargs[f.name] = value
        elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            kwargs[f.name] = float(value)
        elif isinstance(value, type(default)) and not isinstance(value, bool):
            kwargs[f.name] = value
        else:
            log.warning("settings: ignoring %s=%r (expected %s)", f.name, value, type(default).__name__)
    return cls(**kwargs)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = int(data.get("schema_version", 1))
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    return data


@dataclass
class LoadResult:
    settings: Settings
    warning: str = ""


def load_settings(path: Path) -> LoadResult:
    if not path.exists():
        return LoadResult(Settings())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
        if int(data.get("schema_version", 1)) > SCHEMA_VERSION:
            raise ValueError(f"written by a newer version (schema {data['schema_version']})")
        return LoadResult(_from_dict(Settings, migrate(data)))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        backup = path.with_name(path.name + ".bak")
        try:
            os.replace(path, backup)
        except OSError:
            backup = path
        msg = (
            f"Your settings file could not be read ({exc}). It was kept as {backup} "
            "and the default settings are in use."
        )
        log.warning(msg)
        return LoadResult(Settings(), msg)


def save_settings(settings: Settings, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(settings), indent=2, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
