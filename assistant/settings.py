"""Typed settings saved as JSON with a schema version.

A file that cannot be read is moved aside to `settings.json.bak` and the defaults
are used; the caller gets the warning to show. Writes are atomic (temp file +
rename), so a crash mid-save never leaves a half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypedDict

from assistant import settings_schema
from assistant.core.types import GenParams

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass
class CloudSettings:
    """The optional cloud model. The API key is never here: it lives in the OS keyring."""

    provider: str = field(default="", metadata={"choices": ("", "openai", "anthropic", "openai-compatible")})
    model: str = ""
    base_url: str = ""  # the OpenAI-compatible server's address (that provider's only)
    routing_mode: str = field(default="local", metadata={"choices": ("local", "ask", "auto")})
    redact: bool = True  # e-mail addresses, phone numbers and key-like strings
    monthly_limit_usd: float = field(default=0.0, metadata={"min": 0})  # 0: no limit
    # "Send to the cloud: rarely ... often": -2 .. 2, 0 the fitted threshold (chat/router_tradeoff.py)
    send_level: int = field(default=0, metadata={"min": -2, "max": 2})
    # each provider's own settings: a gateway or proxy for OpenAI / Anthropic (none: the
    # provider's own endpoint), and the model last chosen for the other providers
    base_urls: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)


@dataclass
class ServerSettings:
    """The local API server (assistant/server/). Its token lives in the OS keyring."""

    enabled: bool = False  # started with the app (Settings → Server); off by default
    port: int = field(default=8765, metadata={"min": 1, "max": 65535})
    # listen on the local network (0.0.0.0) rather than this computer only (127.0.0.1)
    local_network: bool = False
    # answers decoded at once by each llama.cpp engine, the chat's included (its slots)
    parallel: int = 4
    queue: int = 16  # requests that may wait for a slot; more are answered 429 with Retry-After
    # a model loaded for a request (not by the window) is unloaded after this long without one (0: never)
    idle_unload_minutes: float = 10.0


class AllowedTool(TypedDict, total=False):
    """A tool the user chose to "always allow" (tools/approval.py): its server and name."""

    server: str
    tool: str


@dataclass
class ToolSettings:
    """Function calling and MCP (assistant/tools/). The servers themselves are in mcp.json
    (their tokens with them, in the ecosystem's format), never here."""

    # tools whose calls run without asking (revocable in Settings → Tools)
    always_allowed: list[AllowedTool] = field(default_factory=list)
    call_timeout_s: float = field(default=60.0, metadata={"min": 1, "max": 3600})  # one call's time limit
    max_result_kb: int = field(default=1024, metadata={"min": 1})  # a longer result is cut, with a note
    max_rounds: int = field(default=8, metadata={"min": 1, "max": 100})  # tool rounds in one answer


class PrivateServerEntry(TypedDict, total=False):
    name: str
    base_url: str
    has_key: bool


class ModelOverrides(TypedDict, total=False):
    """One model's entry in `model_settings`: the fields of model_settings.ModelSettings
    (a test keeps the two the same), each optional."""

    context_length: int | None
    system_prompt: str | None
    temperature: float | None
    n_gpu_layers: int | None
    n_threads: int | None
    top_p: float | None
    top_k: int | None
    min_p: float | None
    repeat_penalty: float | None
    max_tokens: int | None
    chat_template: str | None
    engine: str | None
    thinking: str | None
    flash_attn: str | None
    kv_cache_type: str | None
    n_batch: int | None
    prompt_lookup: str | None


@dataclass
class Settings:
    schema_version: int = SCHEMA_VERSION
    default_model: str = ""  # a path, or the name of an installed model
    system_prompt: str = "You are a helpful assistant."
    context_length: int = field(default=4096, metadata={"min": 1})
    n_threads: int = field(default=0, metadata={"min": 0})  # 0: physical cores
    n_gpu_layers: int = field(default=-1, metadata={"min": -1})  # -1: auto (hardware.py decides)
    offline_mode: bool = False
    theme: str = field(default="system", metadata={"choices": ("system", "light", "dark")})
    font_size: int = field(default=11, metadata={"min": 6, "max": 72})
    generation: GenParams = field(default_factory=GenParams)  # the app-wide sampling values
    cloud: CloudSettings = field(default_factory=CloudSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    tools: ToolSettings = field(default_factory=ToolSettings)
    # the user's own OpenAI-compatible servers: {"name", "base_url", "has_key"} each
    # (engines/private.py reads them; a key is in the keyring, never here)
    private_servers: list[PrivateServerEntry] = field(default_factory=list)
    # model files added from elsewhere on disk ("Add a model file..."): they stay where they are
    extra_models: list[str] = field(default_factory=list)
    # window state, restored at the next start
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    splitter_state: str = ""  # base64 of QSplitter.saveState()
    last_conversation_id: int = 0
    window_sizes: dict[str, list[int]] = field(default_factory=dict)  # other windows' sizes, by name
    # per-model overrides, keyed by model path (model_settings.py reads them)
    model_settings: dict[str, ModelOverrides] = field(default_factory=dict)
    advanced_settings: bool = False  # the model settings dialog shows its advanced part
    first_run_done: bool = False  # the first-run wizard was finished or skipped
    # the Hugging Face Hub's address: "" is huggingface.co (or HF_ENDPOINT); a mirror or
    # self-hosted proxy otherwise. The token is never here: it lives in the OS keyring.
    hub_endpoint: str = ""


# version N -> function that upgrades a version-N dict to N+1
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


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
    """The settings in `path`. A file that cannot be read at all is moved aside to .bak
    and the defaults are used; a file with some wrong values keeps the rest, and a copy
    of it as it was is kept as .bak. Either way the warning names what was dropped."""
    if not path.exists():
        return LoadResult(Settings())
    backup = path.with_name(path.name + ".bak")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level is not an object")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError(f"schema_version is {version!r}, not a number")
        if version > SCHEMA_VERSION:
            raise ValueError(f"written by a newer version (schema {version})")
        clean, problems = settings_schema.check(Settings, migrate(data))
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        try:
            os.replace(path, backup)
        except OSError:
            backup = path
        msg = (
            f"Your settings file could not be read ({exc}). It was kept as {backup} "
            "and the default settings are in use."
        )
        log.info(msg)  # the caller shows it (a log warning would print it twice)
        return LoadResult(Settings(), msg)
    settings = settings_schema.build(Settings, clean)
    if not problems:
        return LoadResult(settings)
    for problem in problems:
        log.info("settings: dropped %s", problem)
    try:
        shutil.copyfile(path, backup)
        kept = f"The file as it was is kept as {backup}."
    except OSError as exc:
        kept = f"A copy could not be kept ({exc.strerror}); the file is unchanged until the settings are saved."
    shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more (see the log)" if len(problems) > 6 else "")
    return LoadResult(settings, f"Some settings were not valid and are back to their defaults: {shown}. {kept}")


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
