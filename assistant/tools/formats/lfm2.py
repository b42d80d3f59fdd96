"""LFM2 / LFM2.5 (Liquid): calls written as a Python list between markers,

    <|tool_call_start|>[get_weather(city="Paris"), get_time(city="Paris")]<|tool_call_end|>

(llama.cpp: common/parsers/lfm2.cpp and its tests of LFM2-8B-A1B, LFM2.5-Instruct). The
template (LFM2.5) lists the tools as JSON after "List of tools: ["; LFM2 wraps that list in
<|tool_list_start|> … <|tool_list_end|>.
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
    tool_name,
    tool_parameters,
)
from assistant.tools.formats.shared import python_calls

START = "<|tool_call_start|>"
END = "<|tool_call_end|>"


class Lfm2Format(ToolFormat):
    name = "lfm2"
    starts = (START,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return "List of tools: [" in source or "<|tool_list_start|>" in source

    def parse(self, section: str) -> list[ToolCall]:
        calls = []
        rest = section.strip()
        while rest.startswith(START):
            end = rest.find(END)
            body, rest = (rest[len(START):end], rest[end + len(END):].strip()) if end >= 0 else (rest[len(START):], "")
            calls += [ToolCall(name, json_arguments(args), call_id()) for name, args in python_calls(body)]
        if rest:
            raise CallParseError(f"Unexpected text after the calls: {rest[:60]!r}.")
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        alts = []
        for tool in tools:
            name = tool_name(tool)
            props = tool_parameters(tool).get("properties") or {}
            kw = [f'{gbnf_literal(key + "=")} {g.schema(p, f"{name}-{key}")}' for key, p in props.items()]
            kwarg = g.rule(f"{name}-kwarg", " | ".join(kw)) if kw else None
            inner = f'( {kwarg} ( ", " {kwarg} )* )?' if kwarg else ""
            alts.append(g.rule(f"{name}-call", f'{gbnf_literal(name + "(")} {inner} ")"'))
        call = g.rule("tool-call", " | ".join(alts))
        return g.text(f'{gbnf_literal(START + "[")} {calls_rule(call, parallel, sep=chr(34) + ", " + chr(34))} {gbnf_literal("]" + END)}')
