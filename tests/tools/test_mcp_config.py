"""mcp.json: reading, writing, malformed files, and import from Claude Desktop, Cursor and LM Studio."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from assistant.errors import McpConfigError
from assistant.tools import mcp_config
from assistant.tools.mcp_config import (
    ImportSource,
    McpConfig,
    ServerConfig,
    candidate_sources,
    import_sources,
    load_config,
    merge_servers,
    parse_config,
    read_source,
    save_config,
)

CLAUDE = {
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/home/me"]},
        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_s3cret"}},
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer hdr-s3cret"}},
    },
}


def test_parses_stdio_and_http_servers() -> None:
    config = parse_config(json.dumps(CLAUDE))
    assert config.problems == []
    fs, gh, remote = config.servers["filesystem"], config.servers["github"], config.servers["remote"]
    assert (fs.transport, fs.command, fs.args) == ("stdio", "npx", ("-y", "@modelcontextprotocol/server-filesystem", "/home/me"))
    assert gh.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_s3cret"}
    assert (remote.transport, remote.url, remote.headers) == (
        "http", "https://mcp.example.com/mcp", {"Authorization": "Bearer hdr-s3cret"})
    assert config.other_keys == {"globalShortcut": "Ctrl+Space"}


def test_repr_and_describe_hold_no_secret() -> None:
    config = parse_config(json.dumps(CLAUDE))
    text = repr(config) + " ".join(repr(s) + s.describe() for s in config.servers.values())
    assert "s3cret" not in text
    assert config.servers["remote"].describe() == "https://mcp.example.com/mcp"
    assert ServerConfig("x", url="https://u:p@h.example:8443/mcp?key=k#f").describe() == "https://h.example:8443/mcp"


def test_malformed_json_names_line_and_column() -> None:
    text = '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n'
    with pytest.raises(McpConfigError) as err:
        parse_config(text, "mcp.json")
    assert err.value.message == ("mcp.json is not valid JSON: Expecting property name enclosed in double quotes "
                                 "at line 3, column 26.")
    assert err.value.hint


@pytest.mark.parametrize("text, says", [
    ("[]", "should hold a JSON object"),
    ('{"mcpServers": []}', '"mcpServers" should be an object'),
])
def test_a_wrong_top_level_is_an_error(text: str, says: str) -> None:
    with pytest.raises(McpConfigError, match=says):
        parse_config(text)


def test_a_wrong_server_is_left_out_with_its_name_and_the_rest_kept() -> None:
    data = {"mcpServers": {
        "good": {"command": "uvx", "args": ["mcp-server-time"]},
        "noargs": {"command": "x", "args": "not a list"},
        "empty": {},
        "leaky": {"command": "x", "env": {"TOKEN": 12345678}},
        "old": {"type": "sse", "url": "https://a.example/sse"},
        "ftp": {"url": "ftp://a.example/"},
        "weird": {"type": "websocket", "command": "x"},
    }}
    config = parse_config(json.dumps(data))
    assert list(config.servers) == ["good"]
    assert config.problems == [
        'The MCP server "noargs" was left out: "args" should be a list of text.',
        'The MCP server "empty" was left out: it has neither a "command" nor a "url".',
        'The MCP server "leaky" was left out: "env" → "TOKEN" should be text (in quotes).',
        'The MCP server "old" was left out: it uses the older SSE transport, which this app does not support '
        '(Streamable HTTP is).',
        'The MCP server "ftp" was left out: "url" should start with http:// or https://.',
        'The MCP server "weird" was left out: its "type" "websocket" is not one this app knows (stdio or http).',
    ]
    assert "12345678" not in " ".join(config.problems)


def test_type_http_and_no_network_are_read() -> None:
    data = {"mcpServers": {"h": {"type": "streamable-http", "url": " http://127.0.0.1:9/mcp "},
                           "s": {"type": "stdio", "command": "srv", "no_network": True}}}
    config = parse_config(json.dumps(data))
    assert config.servers["h"].url == "http://127.0.0.1:9/mcp"
    assert config.servers["s"].no_network is True
    assert config.servers["h"].extra == {"type": "streamable-http"}


def test_save_and_load_round_trip_keeping_other_keys_owner_only(home: Path) -> None:
    config = parse_config(json.dumps(CLAUDE))
    config.servers["box"] = ServerConfig("box", command="srv", no_network=True, extra={"disabled": False})
    save_config(config)
    path = mcp_config.config_path()
    assert path == home / "config" / "mcp.json"
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["globalShortcut"] == "Ctrl+Space"
    assert data["mcpServers"]["box"] == {"command": "srv", "args": [], "no_network": True, "disabled": False}
    assert data["mcpServers"]["github"]["env"] == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_s3cret"}  # as the user gave it
    again = load_config()
    assert again.servers == config.servers


def test_no_file_is_no_servers(home: Path) -> None:
    assert load_config().servers == {}


def test_a_malformed_own_file_is_named(home: Path) -> None:
    path = mcp_config.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"mcpServers": {"a": ', encoding="utf-8")
    with pytest.raises(McpConfigError) as err:
        load_config()
    assert err.value.message.startswith(f"{path} is not valid JSON: ")
    assert "line 1, column 22" in err.value.message


def test_where_each_app_keeps_its_file(tmp_path: Path) -> None:
    home = tmp_path
    linux = {s.app: s.path for s in candidate_sources(home, "linux", {})}
    assert linux == {
        "Claude Desktop": home / ".config" / "Claude" / "claude_desktop_config.json",
        "Cursor": home / ".cursor" / "mcp.json",
        "LM Studio": home / ".lmstudio" / "mcp.json",
    }
    xdg = {s.app: s.path for s in candidate_sources(home, "linux", {"XDG_CONFIG_HOME": str(home / "xdg")})}
    assert xdg["Claude Desktop"] == home / "xdg" / "Claude" / "claude_desktop_config.json"
    mac = {s.app: s.path for s in candidate_sources(home, "darwin", {})}
    assert mac["Claude Desktop"] == home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    win = {s.app: s.path for s in candidate_sources(home, "win32", {"APPDATA": str(home / "Roaming")})}
    assert win["Claude Desktop"] == home / "Roaming" / "Claude" / "claude_desktop_config.json"
    assert win["LM Studio"] == home / ".lmstudio" / "mcp.json"


def test_import_finds_the_files_that_exist_and_merges_the_chosen(tmp_path: Path) -> None:
    home = tmp_path
    claude = home / ".config" / "Claude" / "claude_desktop_config.json"
    claude.parent.mkdir(parents=True)
    claude.write_text(json.dumps(CLAUDE))
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text(json.dumps({"mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/work"]},
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
    }}))
    sources = import_sources(home, "linux", {})
    assert sources == [ImportSource("Claude Desktop", claude), ImportSource("Cursor", cursor)]

    mine = McpConfig()
    first = merge_servers(mine, read_source(sources[0]).servers, ["filesystem", "github"], "claude")
    assert (first.added, first.renamed, first.unchanged) == (["filesystem", "github"], {}, [])
    assert "remote" not in mine.servers  # not chosen
    assert [s.suffix for s in candidate_sources(home, "linux", {})] == ["claude", "cursor", "lmstudio"]
    second = merge_servers(mine, read_source(sources[1]).servers, ["filesystem", "time"], sources[1].suffix)
    assert second.added == ["time"]
    assert second.renamed == {"filesystem": "filesystem-cursor"}
    assert mine.servers["filesystem-cursor"].args[-1] == "/work"
    assert mine.servers["filesystem-cursor"].name == "filesystem-cursor"
    assert mine.servers["filesystem"].args[-1] == "/home/me"
    third = merge_servers(mine, read_source(sources[1]).servers, ["filesystem", "time"], "cursor")
    assert (third.added, third.renamed, third.unchanged) == ([], {}, ["filesystem", "time"])
    for n, folder in enumerate(["/a", "/b", "/c"]):
        other = {"filesystem": ServerConfig("filesystem", command="npx", args=("fs", folder))}
        assert merge_servers(mine, other, ["filesystem"], "cursor").renamed == {
            "filesystem": ["filesystem-cursor-2", "filesystem-cursor-3", "filesystem-cursor-4"][n]}


def test_a_malformed_import_file_names_the_app_and_place(tmp_path: Path) -> None:
    path = tmp_path / ".lmstudio" / "mcp.json"
    path.parent.mkdir()
    path.write_text('{"mcpServers": {\n  "a": {"command": "x"}\n  "b": {}\n}}')
    with pytest.raises(McpConfigError) as err:
        read_source(ImportSource("LM Studio", path))
    assert err.value.message == (f"LM Studio's {path} is not valid JSON: Expecting ',' delimiter "
                                 "at line 3, column 3.")


def test_an_unreadable_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_bytes(b'{"mcpServers": {"\xff": {}}}')
    with pytest.raises(McpConfigError, match="is not UTF-8 text"):
        load_config(path)


def test_the_values_that_may_be_tokens_are_known_for_redaction() -> None:
    config = ServerConfig("s", command="srv", env={"GITHUB_TOKEN": "ghp_short1", "DEBUG": "true",
                                                   "HOME_DIR": "/home/me/a/long/path/123",
                                                   "X": "AbCdEf0123456789AbCdEf"})
    assert sorted(config.secrets()) == ["AbCdEf0123456789AbCdEf", "ghp_short1"]
    web = ServerConfig("w", url="https://u:pa55word@h.example/mcp?api_key=q-s3cret&x=1",
                       headers={"Authorization": "Bearer h-s3cret", "X-Team": "team-one"})
    assert sorted(web.secrets()) == sorted(["Bearer h-s3cret", "h-s3cret", "team-one", "pa55word", "q-s3cret"])


@pytest.mark.parametrize("kind", ["http", "streamable-http", "streamable_http", "streamableHttp"])
def test_each_apps_name_for_streamable_http(kind: str) -> None:
    config = parse_config(json.dumps({"mcpServers": {"h": {"type": kind, "url": "http://127.0.0.1:9/mcp"}}}))
    assert config.servers["h"].transport == "http"
    config = parse_config(json.dumps({"mcpServers": {"h": {"type": kind}}}))
    assert config.problems == ['The MCP server "h" was left out: "url" should be the server\'s address.']


def test_a_plain_entry_keeps_nothing_extra_and_round_trips() -> None:
    entry = {"command": "srv", "args": ["-v"], "env": {"A": "1"}, "cwd": "/srv", "no_network": True}
    server = parse_config(json.dumps({"mcpServers": {"s": entry}})).servers["s"]
    assert (server.extra, server.cwd, server.no_network) == ({}, "/srv", True)
    assert server.to_json() == entry
    plain = parse_config('{"mcpServers": {"p": {"command": "srv"}}}').servers["p"]
    assert (plain.no_network, plain.to_json()) == (False, {"command": "srv", "args": []})
    web = parse_config('{"mcpServers": {"w": {"url": "https://a.example/mcp", "headers": {"X": "y"}}}}').servers["w"]
    assert (web.extra, web.to_json()) == ({}, {"url": "https://a.example/mcp", "headers": {"X": "y"}})


@pytest.mark.parametrize("entry, says", [
    ("nope", 'its entry should be an object with a "command" or a "url"'),
    ({"transport": "sse", "url": "https://a.example/sse"}, "older SSE transport"),
    ({"command": "x", "no_network": "yes"}, '"no_network" should be true or false'),
    ({"command": "x", "cwd": 3}, '"cwd" should be a folder\'s path'),
    ({"url": "https://a.example/", "headers": ["X"]}, '"headers" should be an object'),
])
def test_more_wrong_entries(entry: object, says: str) -> None:
    config = parse_config(json.dumps({"mcpServers": {"bad": entry}}))
    assert config.servers == {} and says in config.problems[0]


@pytest.mark.parametrize("name", ["API_KEY", "GITHUB_TOKEN", "CLIENT_SECRET", "DB_PASSWORD", "AUTH_HEADER",
                                  "AWS_CREDENTIALS", "GITLAB_PAT", "SESSION_ID", "COOKIE"])
def test_env_names_that_say_secret(name: str) -> None:
    assert ServerConfig("s", command="x", env={name: "abcdef"}).secrets() == ["abcdef"]
    assert ServerConfig("s", command="x", env={name: "abcde"}).secrets() == []  # too short to redact safely


def test_a_long_key_like_value_is_secret_whatever_its_name() -> None:
    assert ServerConfig("s", command="x", env={"X": "a1" * 10}).secrets() == ["a1" * 10]
    assert ServerConfig("s", command="x", env={"X": "a1" * 9 + "a"}).secrets() == []  # 19 characters


def test_addresses_shown_without_secrets() -> None:
    assert ServerConfig("x", url="http://[::1]:8080/mcp?t=1").describe() == "http://[::1]:8080/mcp"
    assert ServerConfig("x", url="no-scheme").describe() == "(an address without a scheme)"


def test_save_to_a_given_path(tmp_path: Path) -> None:
    path = tmp_path / "other" / "mcp.json"
    save_config(McpConfig({"t": ServerConfig("t", command="srv")}), path)
    assert load_config(path).servers == {"t": ServerConfig("t", command="srv")}
    assert not mcp_config.config_path().exists()
    assert [p.name for p in path.parent.iterdir()] == ["mcp.json"]  # no temp file left


def test_secret_arguments_are_hidden_from_the_command_line_shown() -> None:
    server = ServerConfig("s", command="npx", args=("-y", "@acme/mcp", "--api-key", "sk-arg-s3cret", "--token=tok-s3cret",
                                                    "--path", "/home/me", "Zx81Zx81Zx81Zx81Zx81"))
    assert server.describe() == "npx -y @acme/mcp --api-key [hidden] --token=[hidden] --path /home/me [hidden]"
    assert sorted(server.secrets()) == sorted(["sk-arg-s3cret", "tok-s3cret", "Zx81Zx81Zx81Zx81Zx81"])
    assert "s3cret" not in repr(server)


def test_an_address_that_cannot_be_read_leaves_its_server_out_with_the_reason() -> None:
    config = parse_config('{"mcpServers": {"web": {"url": "https://[example.com/mcp"}, "t": {"command": "uvx"}}}')
    assert list(config.servers) == ["t"]
    assert config.problems == ['The MCP server "web" was left out: its "url" cannot be read as an address.']
