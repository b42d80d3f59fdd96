"""mcp.json: the MCP servers the app knows, in the format Claude Desktop, Cursor and LM
Studio use, and import from those apps' own files.

    {"mcpServers": {"NAME": {"command": "...", "args": [...], "env": {...}},
                    "OTHER": {"url": "https://...", "headers": {...}}}}

The app's own file is `mcp.json` in the config folder. `env` and `headers` values may
hold tokens: they are kept as the user wrote them in mcp.json (the ecosystem's format;
the file is written readable by its owner only) and never go into logs, exceptions or
settings; `repr` and `describe` leave them out, and so does every message here. Keys
this app does not know (another app's `disabled`, `type`...) are kept when it writes
the file again. Our own key: `"no_network": true` starts a stdio server without network
access (Linux; see mcp_sandbox.py).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from assistant.errors import McpConfigError
from assistant.paths import get_paths

FILE_NAME = "mcp.json"
HIDDEN = "[hidden]"
_KNOWN = {"command", "args", "env", "cwd", "url", "headers", "no_network"}
# "type" values meaning Streamable HTTP / stdio, as the apps write them
_HTTP_TYPES = {"http", "streamable-http", "streamable_http", "streamableHttp"}
_STDIO_TYPES = {"stdio"}
_SECRET_NAME = re.compile(r"(?i)key|token|secret|passw|auth|cred|pat$|session|cookie")


def _looks_like_token(value: str) -> bool:
    """Long, one word, not a path or address, letters mixed with digits: like a key."""
    return (len(value) >= 20 and not any(c in value for c in " /\\:")
            and any(c.isdigit() for c in value) and any(c.isalpha() for c in value))


@dataclass(frozen=True, repr=False)
class ServerConfig:
    """One server: a command (stdio) or a URL (Streamable HTTP). Its repr leaves out env,
    headers and the URL's user info and query (they may hold tokens)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = ""
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    no_network: bool = False  # stdio on Linux: a network namespace of its own
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys kept for other apps

    def __repr__(self) -> str:
        return f"ServerConfig({self.name!r}, {self.transport}: {self.describe()!r}, no_network={self.no_network})"

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        """The command line or the address, without secrets: no env or header values, no
        user info or query string in a URL, no argument after a flag like --api-key or
        --token (nor one that looks like a key)."""
        if self.url:
            return safe_url(self.url)
        return " ".join([self.command, *(shown for shown, _ in _args_split(self.args))])

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.url:
            out["url"] = self.url
            if self.headers:
                out["headers"] = dict(self.headers)
        else:
            out["command"] = self.command
            out["args"] = list(self.args)
            if self.env:
                out["env"] = dict(self.env)
            if self.cwd:
                out["cwd"] = self.cwd
        if self.no_network:
            out["no_network"] = True
        return out

    def same_as(self, other: ServerConfig) -> bool:
        return self.to_json() == other.to_json()

    def secrets(self) -> list[str]:
        """The values here that may be tokens, for log redaction (keys.protect): every
        header value (and the token after "Bearer"), env values whose name says key /
        token / secret / password or that look like one, the arguments `describe` hides,
        and a URL's password and query values."""
        out: list[str] = []
        for value in self.headers.values():
            out += [value, *value.split()[1:]]
        for name, value in self.env.items():
            if _SECRET_NAME.search(name) or _looks_like_token(value):
                out.append(value)
        out += [secret for _, secret in _args_split(self.args) if secret]
        try:
            parts = urlsplit(self.url)
            out += [parts.password or ""] + [v for _, v in parse_qsl(parts.query)]
        except ValueError:
            pass
        return [v for v in out if len(v) >= 6]


def _args_split(args: Iterable[str]) -> list[tuple[str, str]]:
    """Each argument as shown, and the secret it holds ("" for none): the value after a
    flag named like a secret (`--api-key X`, `--token=X`), or a key-like word."""
    out: list[tuple[str, str]] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append((HIDDEN, arg))
            hide_next = False
        elif arg.startswith("-") and _SECRET_NAME.search(arg.split("=", 1)[0]):
            flag, eq, value = arg.partition("=")
            out.append((f"{flag}={HIDDEN}", value) if eq else (arg, ""))
            hide_next = not eq
        elif _looks_like_token(arg):
            out.append((HIDDEN, arg))
        else:
            out.append((arg, ""))
    return out


def safe_url(url: str) -> str:
    """The URL's scheme, host, port and path: no user info, query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an address that cannot be read)"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(an address without a scheme)"


@dataclass
class McpConfig:
    """The servers of one file, and a problem in words for each server left out."""

    servers: dict[str, ServerConfig] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    other_keys: dict[str, Any] = field(default_factory=dict, repr=False)  # the file's other top-level keys


def config_path() -> Path:
    return get_paths().config_dir / FILE_NAME


def load_config(path: Path | None = None) -> McpConfig:
    """The app's mcp.json (none yet: no servers). Raises McpConfigError when the file is
    not JSON (with its line and column) or its top level is not the expected shape."""
    path = path or config_path()
    if not path.exists():
        return McpConfig()
    return parse_config(_read(path), str(path))


def save_config(config: McpConfig, path: Path | None = None) -> None:
    """Write mcp.json atomically, readable by its owner only (it may hold tokens)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(config.other_keys)
    data["mcpServers"] = {name: s.to_json() for name, s in config.servers.items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mcp-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)  # mkstemp made it readable by its owner only
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise McpConfigError(f"{path} is not UTF-8 text (byte {exc.start}).",
                             "Save the file as UTF-8, or fix it in a text editor.") from None
    except OSError as exc:
        raise McpConfigError(f"{path} could not be read ({exc.strerror or exc}).",
                             "Check that the file exists and that you may read it.") from None


def parse_config(text: str, where: str = "mcp.json") -> McpConfig:
    """The servers in mcp.json text. Malformed JSON or a wrong top level raise
    McpConfigError; a wrong server is left out with a problem naming it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise McpConfigError(
            f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            "Fix the file in a text editor (a missing comma or quote is the usual cause).",
        ) from None
    if not isinstance(data, dict):
        raise McpConfigError(f"{where} should hold a JSON object with \"mcpServers\" in it.",
                             'The expected shape is {"mcpServers": {"name": {"command": ...}}}.')
    servers = data.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise McpConfigError(f"{where}: \"mcpServers\" should be an object, one entry per server.",
                             'The expected shape is {"mcpServers": {"name": {"command": ...}}}.')
    out = McpConfig(other_keys={k: v for k, v in data.items() if k != "mcpServers"})
    for name, entry in servers.items():
        try:
            out.servers[name] = parse_server(name, entry)
        except McpConfigError as exc:
            out.problems.append(exc.message)
    return out


def parse_server(name: str, entry: Any) -> ServerConfig:
    """One server's entry. Messages name the key at fault, never a value of env or headers."""
    if not isinstance(entry, dict):
        raise _bad(name, "its entry should be an object with a \"command\" or a \"url\"")
    kind = entry.get("type", entry.get("transport"))
    extra = {k: v for k, v in entry.items() if k not in _KNOWN}
    no_network = entry.get("no_network", False)
    if not isinstance(no_network, bool):
        raise _bad(name, "\"no_network\" should be true or false")
    if "url" in entry or (isinstance(kind, str) and kind in _HTTP_TYPES | {"sse"}):
        url = entry.get("url")
        if kind == "sse":
            raise _bad(name, "it uses the older SSE transport, which this app does not support (Streamable HTTP is)")
        if not isinstance(url, str) or not url.strip():
            raise _bad(name, "\"url\" should be the server's address")
        try:
            scheme = urlsplit(url.strip()).scheme
        except ValueError:  # an unclosed [ of an IPv6 host and the like
            raise _bad(name, "its \"url\" cannot be read as an address") from None
        if scheme not in ("http", "https"):
            raise _bad(name, "\"url\" should start with http:// or https://")
        return ServerConfig(name, url=url.strip(), headers=_str_map(name, entry, "headers"),
                            no_network=no_network, extra=extra)
    if isinstance(kind, str) and kind not in _STDIO_TYPES:
        raise _bad(name, f"its \"type\" {json.dumps(kind)} is not one this app knows (stdio or http)")
    command = entry.get("command")
    if not isinstance(command, str) or not command.strip():
        raise _bad(name, "it has neither a \"command\" nor a \"url\"")
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _bad(name, "\"args\" should be a list of text")
    cwd = entry.get("cwd", "")
    if not isinstance(cwd, str):
        raise _bad(name, "\"cwd\" should be a folder's path")
    return ServerConfig(name, command=command.strip(), args=tuple(args), env=_str_map(name, entry, "env"),
                        cwd=cwd, no_network=no_network, extra=extra)


def _str_map(name: str, entry: dict[str, Any], key: str) -> dict[str, str]:
    value = entry.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(name, f"\"{key}\" should be an object of names and text values")
    for k, v in value.items():
        if not isinstance(v, str):
            # the value itself may be a token: only its name is said
            raise _bad(name, f"\"{key}\" → {json.dumps(k)} should be text (in quotes)")
    return dict(value)


def _bad(name: str, what: str) -> McpConfigError:
    return McpConfigError(f"The MCP server {json.dumps(name, ensure_ascii=False)} was left out: {what}.",
                          "Fix its entry in mcp.json.")


# --- import from other apps ---

@dataclass(frozen=True)
class ImportSource:
    app: str  # "Claude Desktop", "Cursor", "LM Studio"
    path: Path

    @property
    def suffix(self) -> str:
        """What a clashing server's name gets from this app: "claude", "cursor", "lmstudio"."""
        return self.app.split()[0].lower() if self.app.startswith("Claude") else self.app.replace(" ", "").lower()


def candidate_sources(home: Path | None = None, platform: str | None = None,
                      environ: Mapping[str, str] | None = None) -> list[ImportSource]:
    """Where Claude Desktop, Cursor and LM Studio keep their MCP servers on this system
    (whether or not the files exist)."""
    home = home if home is not None else Path.home()
    platform = platform or sys.platform
    environ = environ if environ is not None else os.environ
    claude = "claude_desktop_config.json"
    if platform == "darwin":
        claude_path = home / "Library" / "Application Support" / "Claude" / claude
    elif platform.startswith("win"):
        appdata = environ.get("APPDATA")
        claude_path = (Path(appdata) if appdata else home / "AppData" / "Roaming") / "Claude" / claude
    else:
        xdg = environ.get("XDG_CONFIG_HOME")
        claude_path = (Path(xdg) if xdg else home / ".config") / "Claude" / claude
    return [
        ImportSource("Claude Desktop", claude_path),
        ImportSource("Cursor", home / ".cursor" / "mcp.json"),
        ImportSource("LM Studio", home / ".lmstudio" / "mcp.json"),
    ]


def import_sources(home: Path | None = None, platform: str | None = None,
                   environ: Mapping[str, str] | None = None) -> list[ImportSource]:
    """The other apps' MCP files that exist here: what the import offers."""
    return [s for s in candidate_sources(home, platform, environ) if s.path.is_file()]


def read_source(source: ImportSource) -> McpConfig:
    """The servers in another app's file (McpConfigError if it cannot be read)."""
    return parse_config(_read(source.path), f"{source.app}'s {source.path}")


@dataclass
class MergeResult:
    added: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # incoming name -> the name it got
    unchanged: list[str] = field(default_factory=list)  # already here, the same


def merge_servers(config: McpConfig, incoming: Mapping[str, ServerConfig], chosen: Iterable[str],
                  suffix: str = "imported") -> MergeResult:
    """Add the chosen servers to `config`. A server already here with the same entry is
    left alone; a different one of the same name comes in as "NAME-suffix" (then -2...)."""
    result = MergeResult()
    for name in chosen:
        server = incoming[name]
        existing = config.servers.get(name)
        if existing is None:
            config.servers[name] = server
            result.added.append(name)
            continue
        if any(s.same_as(server) for s in config.servers.values()):  # here already, by any name
            result.unchanged.append(name)
            continue
        new, n = f"{name}-{suffix}", 2
        while new in config.servers:
            new, n = f"{name}-{suffix}-{n}", n + 1
        config.servers[new] = replace(server, name=new)
        result.renamed[name] = new
    return result

