"""Gemma 4 (and FunctionGemma): a call is `call:NAME{…}` between `<|tool_call>` and
`<tool_call|>`, its arguments in Gemma's own notation: keys bare, strings between
`<|"|>` marks, numbers, true / false / null, `{…}` and `[…]` as in JSON,

    <|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:3}<tool_call|>

(the template's format_argument macro; llama.cpp: common/parsers/gemma4.cpp and its tests).
"""

from __future__ import annotations

import re
from typing import Any

from assistant.core.types import ToolCall
from assistant.tools.formats.base import (
    CallParseError,
    Grammar,
    ToolFormat,
    call_id,
    calls_rule,
    gbnf_literal,
    json_arguments,
    tool_name,
    tool_parameters,
)
from assistant.tools.formats.shared import blocks

OPEN = "<|tool_call>"
CLOSE = "<tool_call|>"
QUOTE = '<|"|>'
_CALL = re.compile(re.escape(OPEN) + r"\s*call:([^{\s]+)\s*(\{.*?)(?:" + re.escape(CLOSE) + "|$)", re.S)
_KEY = re.compile(r"[^:,{}\[\]\s]+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def fail(self, what: str) -> CallParseError:
        return CallParseError(f"The call's arguments are not readable: {what} at {self.pos}.")

    def value(self) -> Any:
        self.skip()
        t, p = self.text, self.pos
        if t.startswith(QUOTE, p):
            end = t.find(QUOTE, p + len(QUOTE))
            if end < 0:
                raise self.fail("an unclosed string")
            self.pos = end + len(QUOTE)
            return t[p + len(QUOTE):end]
        if t.startswith("{", p):
            return self.obj()
        if t.startswith("[", p):
            self.pos += 1
            items: list[Any] = []
            self.skip()
            if t.startswith("]", self.pos):
                self.pos += 1
                return items
            while True:
                items.append(self.value())
                self.skip()
                if t.startswith(",", self.pos):
                    self.pos += 1
                elif t.startswith("]", self.pos):
                    self.pos += 1
                    return items
                else:
                    raise self.fail("a list without ]")
        for word, val in (("true", True), ("false", False), ("null", None)):
            if t.startswith(word, p):
                self.pos += len(word)
                return val
        number = _NUMBER.match(t, p)
        if number:
            self.pos = number.end()
            text = number.group()
            return float(text) if any(c in text for c in ".eE") else int(text)
        raise self.fail("an unknown value")

    def obj(self) -> dict[str, Any]:
        t = self.text
        self.pos += 1  # {
        out: dict[str, Any] = {}
        self.skip()
        if t.startswith("}", self.pos):
            self.pos += 1
            return out
        while True:
            self.skip()
            if t.startswith(QUOTE, self.pos):
                key = self.value()
            else:
                match = _KEY.match(t, self.pos)
                if not match:
                    raise self.fail("a missing key")
                key, self.pos = match.group(), match.end()
            self.skip()
            if not t.startswith(":", self.pos):
                raise self.fail("a key without :")
            self.pos += 1
            out[str(key)] = self.value()
            self.skip()
            if t.startswith(",", self.pos):
                self.pos += 1
            elif t.startswith("}", self.pos):
                self.pos += 1
                return out
            else:
                raise self.fail("an object without }")


def read_arguments(text: str) -> tuple[dict[str, Any], int]:
    """Gemma's `{key:value,…}` as a dict, and where it ends."""
    reader = _Reader(text)
    reader.skip()
    if not text.startswith("{", reader.pos):
        raise CallParseError("The call's arguments do not begin with {.")
    return reader.obj(), reader.pos


_VALUE_RULES = {
    "g-char": '[^<] | "<" [^|] | "<|" [^"]',
    "g-string": '"<|\\"|>" g-char* "<|\\"|>"',
    "g-number": '"-"? [0-9]+ ("." [0-9]+)? ([eE] [-+]? [0-9]+)?',
    "g-bool": '"true" | "false"',
    "g-key": "[A-Za-z_] [A-Za-z0-9_]*",
    "g-pair": '( g-key | g-string ) ":" g-value',
    "g-object": '"{" ( g-pair ( "," g-pair )* )? "}"',
    "g-array": '"[" ( g-value ( "," g-value )* )? "]"',
    "g-value": 'g-string | g-number | g-bool | "null" | g-object | g-array',
}
_BY_TYPE = {"string": "g-string", "integer": "g-number", "number": "g-number", "boolean": "g-bool"}


class Gemma4Format(ToolFormat):
    name = "gemma4"
    starts = (OPEN,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return OPEN in source and "call:" in source

    def parse(self, section: str) -> list[ToolCall]:
        calls = []
        for match in blocks(_CALL, section, "tool call"):
            args, end = read_arguments(match.group(2))
            if match.group(2)[end:].strip():
                raise CallParseError(f"Unexpected text after a call's arguments: {match.group(2)[end:].strip()[:60]!r}.")
            calls.append(ToolCall(match.group(1), json_arguments(args), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        for name, body in _VALUE_RULES.items():
            g.rule(name, body)
        alts = []
        for tool in tools:
            name = tool_name(tool)
            props = tool_parameters(tool).get("properties") or {}
            pairs = [f'{gbnf_literal(key + ":")} {_BY_TYPE.get(str(p.get("type")) if isinstance(p, dict) else "", "g-value")}'
                     for key, p in props.items()]
            pair = g.rule(f"{name}-pair", " | ".join(pairs)) if pairs else None
            inner = f"( {pair} ( \",\" {pair} )* )?" if pair else ""
            alts.append(g.rule(f"{name}-call", f'{gbnf_literal(OPEN + "call:" + name + "{")} {inner} "}}" {gbnf_literal(CLOSE)}'))
        call = g.rule("tool-call", " | ".join(alts))
        return g.text(calls_rule(call, parallel, sep=""))
