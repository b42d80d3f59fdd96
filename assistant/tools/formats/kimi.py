"""Kimi K2 (Instruct and Thinking): calls in a section, each named `functions.NAME:INDEX`
(the call's id, which the template writes back),

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>
    {"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>   (one line)

(llama.cpp: common/parsers/kimi-k2.cpp and its tests of Kimi-K2, Kimi-K2-Thinking).
"""

from __future__ import annotations

import re
from typing import Any

from assistant.core.types import ToolCall
from assistant.tools.formats.base import (
    CallParseError,
    Grammar,
    ToolFormat,
    calls_rule,
    gbnf_literal,
    json_arguments,
    load_json_prefix,
)
from assistant.tools.formats.shared import blocks, per_tool

SECTION_BEGIN = "<|tool_calls_section_begin|>"
SECTION_END = "<|tool_calls_section_end|>"
_CALL = re.compile(r"<\|tool_call_begin\|>\s*((?:functions\.)?([^:<\s]+)(?::\d+)?)\s*<\|tool_call_argument_begin\|>(.*?)"
                   r"(?:<\|tool_call_end\|>|$)", re.S)


class KimiFormat(ToolFormat):
    name = "kimi-k2"
    starts = (SECTION_BEGIN,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return SECTION_BEGIN in source

    def parse(self, section: str) -> list[ToolCall]:
        text = section.strip().removeprefix(SECTION_BEGIN)
        end = text.find(SECTION_END)
        if end >= 0:
            if text[end + len(SECTION_END):].strip():
                raise CallParseError(f"Unexpected text after the calls: {text[end + len(SECTION_END):].strip()[:60]!r}.")
            text = text[:end]
        calls = []
        for match in blocks(_CALL, text, "tool calls"):
            value, stop = load_json_prefix(match.group(3))
            if match.group(3)[stop:].strip():
                raise CallParseError(f"Unexpected text after a call's arguments: {match.group(3)[stop:].strip()[:60]!r}.")
            calls.append(ToolCall(match.group(2), json_arguments(value), match.group(1)))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()

        def one(name: str, args: str) -> str:
            return (f'"<|tool_call_begin|>" {gbnf_literal("functions." + name + ":")} [0-9]+ '
                    f'"<|tool_call_argument_begin|>" {args} "<|tool_call_end|>"')

        call = per_tool(g, tools, one)
        return g.text(f"{gbnf_literal(SECTION_BEGIN)} {calls_rule(call, parallel, sep='')} {gbnf_literal(SECTION_END)}")
