"""Helpers of the tool-call format tests: the tools of llama.cpp's test-chat.cpp, a call
section streamed in pieces, and llama.cpp's own grammar sampler on the test model's vocab
(does a grammar take a text, token by token, to its end?)."""

from __future__ import annotations

import ctypes
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from assistant.core.types import ToolCall
from assistant.tools.formats.base import ToolFormat


def tool(name: str, properties: dict[str, Any], required: list[str] | None = None, description: str = "") -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description or f"The {name} tool.",
        "parameters": {"type": "object", "properties": properties, "required": required if required is not None else list(properties)},
    }}


# test-chat.cpp's special_function_tool, special_function_tool_with_optional_param, get_time, get_weather
SPECIAL = tool("special_function", {"arg1": {"type": "integer", "description": "The arg."}}, description="I'm special")
SPECIAL_OPT = tool("special_function_with_opt", {"arg1": {"type": "integer"}, "arg2": {"type": "integer"}}, ["arg1"],
                   description="I'm special but have optional stuff")
GET_TIME = tool("get_time", {"city": {"type": "string"}}, description="Get the current time in a city")
GET_WEATHER = tool("get_weather", {"city": {"type": "string"}}, description="Get the weather in a city")
TOOLS = [SPECIAL, SPECIAL_OPT, GET_TIME, GET_WEATHER]


def typed(value: Any) -> Any:
    """A JSON value where 1 and 1.0 (and True and 1) differ, as they do in JSON text."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def want(expected: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(name, typed(args)) for name, args in expected]


def calls_of(calls: Iterable[ToolCall]) -> list[tuple[str, Any]]:
    """(name, arguments as an object): what must match, whatever the JSON's spacing
    (compare with want(expected))."""
    return [(c.name, typed(json.loads(c.arguments))) for c in calls]


def stream(fmt: ToolFormat, pieces: Iterable[str]) -> tuple[str, list[ToolCall], str | None, list[str]]:
    """Feed `pieces` to the format's CallStream: (answer text, calls, reason, what each
    feed gave out)."""
    s = fmt.stream()
    out = [s.feed(p) for p in pieces]
    rest, calls, reason = s.finish()
    return "".join(out) + rest, calls, reason, out


def token_pieces(text: str) -> list[str]:
    """Token-like pieces: a special-token-looking marker whole, words and punctuation apart."""
    import re

    return [p for p in re.findall(r"<[|｜][^>]*?[|｜]>|<\|?[A-Za-z_/]+\|?>|\[[A-Z_/]+\]|\w+|\s+|.", text, re.S) if p]


class Vocab:
    """The test model's vocab, loaded alone (vocab_only), for llama.cpp's grammar sampler."""

    def __init__(self, path: Path) -> None:
        import llama_cpp

        self.lib = llama_cpp
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        assert self.model, "the test model did not load"
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.eos = llama_cpp.llama_vocab_eos(self.vocab)

    def close(self) -> None:
        self.lib.llama_model_free(self.model)

    def tokens(self, text: str) -> list[int]:
        raw = text.encode()
        buf = (self.lib.llama_token * (len(raw) + 8))()
        n = self.lib.llama_tokenize(self.vocab, raw, len(raw), buf, len(buf), False, False)
        assert n >= 0
        return list(buf[:n])

    def text(self, tokens: list[int]) -> str:
        out = b""
        buf = ctypes.create_string_buffer(256)
        for tok in tokens:
            n = self.lib.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, True)
            out += buf.raw[:n]
        return out.decode("utf-8", errors="replace")

    def parses(self, grammar: str) -> bool:
        """llama.cpp's grammar parser takes the grammar (the sampler is made)."""
        smpl = self.lib.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        if not smpl:
            return False
        self.lib.llama_sampler_free(smpl)
        return True

    def accepts(self, grammar: str, text: str) -> bool:
        """The grammar allows `text` token by token, and allows the end after it."""
        lib = self.lib
        tokens = self.tokens(text)
        assert self.text(tokens) == text, "the test vocab does not write this text back as it is"
        smpl = lib.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
        assert smpl, "the grammar did not parse"
        try:
            for tok in [*tokens, self.eos]:
                data = (lib.llama_token_data * 1)()
                data[0].id, data[0].logit, data[0].p = tok, 0.0, 0.0
                arr = lib.llama_token_data_array(data, 1, -1, False)
                lib.llama_sampler_apply(smpl, ctypes.byref(arr))
                if math.isinf(data[0].logit):
                    return False
                if tok != self.eos:
                    lib.llama_sampler_accept(smpl, tok)
            return True
        finally:
            lib.llama_sampler_free(smpl)
