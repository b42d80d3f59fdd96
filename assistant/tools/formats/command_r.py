"""Command R7B (Cohere): the calls as a JSON list between action markers,

    <|START_ACTION|>[
        {"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Paris"}}
    ]<|END_ACTION|>

(llama.cpp's tests of CohereForAI-c4ai-command-r7b-12-2024-tool_use).
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
from assistant.tools.formats.shared import per_tool

START = "<|START_ACTION|>"
END = "<|END_ACTION|>"


class CommandRFormat(ToolFormat):
    name = "command-r7b"
    starts = (START,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return START in source

    def parse(self, section: str) -> list[ToolCall]:
        body = section.strip().removeprefix(START)
        value, end = load_json_prefix(body)
        rest = body[end:].strip()
        if rest and rest != END:
            raise CallParseError(f"Unexpected text after the calls: {rest[:60]!r}.")
        if not isinstance(value, list):
            raise CallParseError("The action is not a list of calls.")
        calls = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("tool_name"), str):
                raise CallParseError("A call in the action does not name a tool.")
            calls.append(ToolCall(item["tool_name"], json_arguments(item.get("parameters", {})), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        sp = g.space()
        ids = g.rule("call-id", '"\\"" [0-9]+ "\\""')

        def one(name: str, args: str) -> str:
            return (f'"{{\\"tool_call_id\\": " {ids} ", \\"tool_name\\": " {gbnf_literal(gbnf_literal(name))} '
                    f'", \\"parameters\\": " {args} "}}"')

        call = per_tool(g, tools, one)
        return g.text(f'{gbnf_literal(START)} "[" {sp} {calls_rule(call, parallel, sep=chr(34) + "," + chr(34) + " " + sp)} {sp} "]" {gbnf_literal(END)}')
