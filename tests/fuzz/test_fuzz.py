"""Every fuzz target (tests/fuzz/targets.py) in every test run: its kept corpus, then
inputs that hypothesis builds from the format's own pieces, with a fixed seed and a
bounded count (about 40 s in all here). tools/fuzz.py runs the same targets for as long
as you like; a crash it finds is kept in the corpus, and so becomes a test here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import targets  # noqa: E402

_BOUNDED = dict(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


def _run(name: str, data: bytes) -> None:
    try:
        targets.TARGETS[name](data)
    except targets.ALLOWED:
        pass


@pytest.mark.parametrize(("name", "index"), [(n, i) for n in targets.TARGETS for i in range(len(targets.corpus(n)))])
def test_the_corpus(name: str, index: int) -> None:
    _run(name, targets.corpus(name)[index])


def _edited(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A kept input with a few bytes overwritten, inserted or cut, as a damaged file is."""
    edit = st.tuples(st.integers(0, 1 << 20), st.binary(max_size=9), st.integers(0, 12))

    def apply(seed: bytes, edits: list[tuple[int, bytes, int]]) -> bytes:
        b = bytearray(seed)
        for pos, new, cut in edits:
            p = pos % (len(b) + 1)
            b[p:p + cut] = new
        return bytes(b)

    return st.builds(apply, st.sampled_from(seeds), st.lists(edit, max_size=6))


_INTS = st.sampled_from([0, 1, 2, 7, 31, 32, 255, 256, 65535, 2**31 - 1, 2**32 - 1, 2**32, 2**62, 2**64 - 1])


def _le(n: int, size: int) -> bytes:
    return (n % (1 << (8 * size))).to_bytes(size, "little")


@settings(max_examples=600, **_BOUNDED)
@given(_edited(targets.corpus("gguf_header")), st.lists(st.tuples(st.integers(0, 400), _INTS, st.sampled_from([1, 4, 8])), max_size=3))
def test_gguf_header(data: bytes, numbers: list[tuple[int, int, int]]) -> None:
    b = bytearray(data)
    for pos, n, size in numbers:  # counts and lengths set to the values that break readers
        b[pos:pos + size] = _le(n, size)
    _run("gguf_header", bytes(b))


_JINJA = ["{%", "%}", "{{", "}}", "{#", "#}", " for ", " in ", " if ", " else ", " endif ", " endfor ", " set ", " macro ",
          " endmacro ", "range(", ")", "(", "[", "]", "|", "~", "*", "+", "%", "//", "**", "-", ".", ",", "=", "'", '"',
          "messages", "m", "message", ".content", ".role", "loop.index", "namespace(", "ns.x", "raise_exception(",
          "tojson", "trim", "upper", "replace", "join", "length", "list", "sort", "map", "select", "wordwrap", "center",
          "format", "9", "100000", "'x'", "true", "none", "is defined", "is string", "break", "continue",
          "__class__", "__globals__", "cycler", "lipsum", "strftime_now(", "add_generation_prompt", "\n", " "]


@settings(max_examples=250, **_BOUNDED)
@given(st.one_of(st.lists(st.one_of(st.sampled_from(_JINJA), st.text(max_size=4)), max_size=40).map("".join),
                 _edited(targets.corpus("chat_template")).map(lambda b: b.decode("utf-8", "replace"))))
def test_chat_template(source: str) -> None:
    _run("chat_template", source.encode("utf-8", "surrogatepass"))


_KEYS = ["schema_version", "default_model", "system_prompt", "context_length", "n_threads", "n_gpu_layers", "offline_mode",
         "theme", "font_size", "generation", "cloud", "server", "private_servers", "extra_models", "model_settings",
         "window_geometry", "last_conversation_id", "first_run_done", "hub_endpoint", "max_tokens", "temperature", "top_k",
         "stop", "seed", "thinking", "provider", "routing_mode", "redact", "monthly_limit_usd", "base_urls", "models",
         "port", "local_network", "name", "base_url", "has_key", "engine", "n_batch", "chat_template", "/m/x.gguf"]
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=12),
              st.sampled_from(["dark", "light", "system", "ask", "auto", "local", "openai", "on", "high", "llama.cpp"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=300, **_BOUNDED)
@given(st.one_of(st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8).map(lambda d: json.dumps(d).encode()),
                 _JSON.map(lambda v: json.dumps(v).encode()), _edited(targets.corpus("settings_file"))))
def test_settings_file(data: bytes) -> None:
    _run("settings_file", data)


_API_KEYS = ["model", "messages", "role", "content", "type", "text", "prompt", "stream", "stream_options", "include_usage",
             "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stop",
             "stop_sequences", "system", "repeat_penalty", "image_url", "image", "tools"]
_API_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 2**65), st.floats(), st.text(max_size=10),
              st.sampled_from(["fuzz-model", "user", "assistant", "system", "developer", "tool", "text", "image_url", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_API_KEYS), inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=200, **_BOUNDED)
@given(st.integers(0, 3), st.one_of(st.dictionaries(st.sampled_from(_API_KEYS), _API_JSON, max_size=7).map(lambda d: json.dumps(d).encode()),
                                    st.binary(max_size=40)))
def test_api_request(route: int, body: bytes) -> None:
    _run("api_request", bytes([route]) + body)


@settings(max_examples=200, **_BOUNDED)
@given(_edited(targets.corpus("api_request")))
def test_api_request_edited(data: bytes) -> None:
    _run("api_request", data)


_THINK = ["<think>", "</think>", "<", "/", "think", ">", "[THINK]", "[/THINK]", "[", "]", "<|channel>", "<channel|>", "thought",
          "<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>", "final", "analysis", "assistant", "|", "\n",
          " ", "a", "é", "🙂", "\x00"]


@settings(max_examples=1500, **_BOUNDED)
@given(st.binary(min_size=1, max_size=12), st.lists(st.sampled_from(_THINK), max_size=30).map("".join))
def test_thinking_stream(head: bytes, text: str) -> None:
    _run("thinking_stream", head.replace(b"\0", b"\1") + b"\0" + text.encode())


@settings(max_examples=300, **_BOUNDED)
@given(st.one_of(_edited(targets.corpus("document_file")), st.binary(max_size=64)))
def test_document_file(data: bytes) -> None:
    _run("document_file", data)


@settings(max_examples=400, **_BOUNDED)
@given(st.one_of(_edited(targets.corpus("image_file")), st.binary(max_size=64)),
       st.lists(st.tuples(st.integers(0, 64), _INTS, st.sampled_from([1, 2, 4])), max_size=3))
def test_image_file(data: bytes, numbers: list[tuple[int, int, int]]) -> None:
    b = bytearray(data)
    for pos, n, size in numbers:  # sizes and lengths in the headers set to the values that break readers
        b[pos:pos + size] = n.to_bytes(8, "big")[-size:] if n < 2**64 else bytes(size)
    _run("image_file", bytes(b))


_CALLS = ["<tool_call>", "</tool_call>", "<function=", "<parameter=", "</parameter>", "</function>", "[TOOL_CALLS]",
          "[ARGS]", "[CALL_ID]", '{"tool_calls": [', '{"name": "get_weather", "arguments": ', '{"city": "Paris"}', "}",
          "]", "{", '"', ",", "<|channel|>", "commentary to=functions.get_weather", "<|message|>", "<|call|>",
          "<|python_tag|>", "functools[", "<|tool_call_start|>", "<|tool_call_end|>", "get_weather(city='Paris')",
          "<|START_ACTION|>", "<|END_ACTION|>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>", "\n", " ",
          "Paris", "é", "🙂"]


@settings(max_examples=800, **_BOUNDED)
@given(st.binary(min_size=1, max_size=12), st.lists(st.sampled_from(_CALLS), max_size=24).map("".join))
def test_tool_calls(head: bytes, text: str) -> None:
    _run("tool_calls", head.replace(b"\0", b"\1") + b"\0" + text.encode())


_MCP = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 2**40), st.text(max_size=10),
              st.sampled_from(["uvx", "npx", "http://127.0.0.1:1/mcp", "https://x.example/mcp", "--token", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from(["mcpServers", "command", "args", "env", "url", "headers", "cwd", "no_network", "type", "time"]),
        inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=300, **_BOUNDED)
@given(st.one_of(_MCP.map(lambda v: json.dumps({"mcpServers": v}).encode()), _MCP.map(lambda v: json.dumps(v).encode()),
                 _edited(targets.corpus("mcp_json"))))
def test_mcp_json(data: bytes) -> None:
    _run("mcp_json", data)
