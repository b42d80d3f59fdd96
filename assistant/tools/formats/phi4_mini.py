"""Phi-4-mini-instruct: calls as a JSON list after the word `functools` (no closing marker),

    functools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]

(Microsoft's model card; vLLM's phi4_mini_json parser tests). Its template takes the tools
from the system message's "tools" key (a JSON string), not from the `tools` variable, and
writes no calls or results of its own: the engine has to put them there.
"""

from __future__ import annotations

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
    load_json_prefix,
)
from assistant.tools.formats.shared import name_and, per_tool

START = "functools["


class Phi4MiniFormat(ToolFormat):
    name = "phi4-mini"
    starts = (START,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return "<|tool|>" in source and "message['tools']" in source

    def parse(self, section: str) -> list[ToolCall]:
        body = section.strip().removeprefix("functools")
        value, end = load_json_prefix(body)
        if body[end:].strip():
            raise CallParseError(f"Unexpected text after the calls: {body[end:].strip()[:60]!r}.")
        if not isinstance(value, list):
            raise CallParseError("functools is not followed by a list of calls.")
        calls = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or "arguments" not in item:
                raise CallParseError('A call in functools is not {"name": …, "arguments": {…}}.')
            calls.append(ToolCall(item["name"], json_arguments(item["arguments"]), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        sp = g.space()

        call = per_tool(g, tools, name_and("arguments"))
        return g.text(f'{gbnf_literal(START)} {sp} {calls_rule(call, parallel, sep=chr(34) + "," + chr(34) + " " + sp)} {sp} "]"')
