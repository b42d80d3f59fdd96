"""DeepSeek R1 (and its distills) and V3: calls between DeepSeek's own markers,

    <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather
    ```json
    {"city": "Paris"}
    ```<｜tool▁call▁end｜><｜tool▁calls▁end｜>

and DeepSeek V3.1's shorter call, `<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{…}<｜tool▁call▁end｜>`,
which is read too (llama.cpp's tests of DeepSeek-R1-Distill-Llama-8B, -Qwen-32B, V3.1).
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
    load_json_prefix,
    regex_escape,
)
from assistant.tools.formats.shared import blocks, per_tool

CALLS_BEGIN = "<｜tool▁calls▁begin｜>"
CALLS_END = "<｜tool▁calls▁end｜>"
CALL_BEGIN = "<｜tool▁call▁begin｜>"
CALL_END = "<｜tool▁call▁end｜>"
SEP = "<｜tool▁sep｜>"
_CALL = re.compile(
    re.escape(CALL_BEGIN) + r"\s*(?:function\s*" + re.escape(SEP) + r"\s*([^\n<]+?)\s*\n\s*```(?:json)?\s*(.*?)\s*```"
    r"|([^<\n]+?)\s*" + re.escape(SEP) + r"(.*?))\s*(?:" + re.escape(CALL_END) + "|$)", re.S)


class DeepSeekFormat(ToolFormat):
    name = "deepseek"
    starts = (CALLS_BEGIN, CALL_BEGIN)

    @classmethod
    def detect(cls, source: str) -> bool:
        return "tool▁calls▁begin" in source

    def triggers(self) -> list[str]:
        return [regex_escape(CALLS_BEGIN)]  # where the grammar begins

    def parse(self, section: str) -> list[ToolCall]:
        text = section.strip().removeprefix(CALLS_BEGIN)
        end = text.find(CALLS_END)
        if end >= 0:
            if text[end + len(CALLS_END):].strip():
                raise CallParseError(f"Unexpected text after the calls: {text[end + len(CALLS_END):].strip()[:60]!r}.")
            text = text[:end]
        calls = []
        for match in blocks(_CALL, text, "tool calls"):
            name, body = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
            value, stop = load_json_prefix(body)
            if body[stop:].strip():
                raise CallParseError(f"Unexpected text after a call's arguments: {body[stop:].strip()[:60]!r}.")
            calls.append(ToolCall(name.strip(), json_arguments(value), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()

        def one(name: str, args: str) -> str:
            head = gbnf_literal(f"{CALL_BEGIN}function{SEP}{name}\n```json\n")
            return f'{head} {args} "\\n"? "```" {gbnf_literal(CALL_END)}'

        call = per_tool(g, tools, one)
        calls = calls_rule(call, parallel, sep='"\\n"?')
        return g.text(f"{gbnf_literal(CALLS_BEGIN)} {calls} {gbnf_literal(CALLS_END)}")


class DeepSeekV31Format(DeepSeekFormat):
    """DeepSeek V3.1 (its template writes no ```json fence): `NAME<｜tool▁sep｜>{…}` per call."""

    name = "deepseek-v3.1"

    @classmethod
    def detect(cls, source: str) -> bool:
        return "tool▁calls▁begin" in source and "```json" not in source

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        call = per_tool(g, tools, lambda name, args: f"{gbnf_literal(CALL_BEGIN + name + SEP)} {args} {gbnf_literal(CALL_END)}")
        return g.text(f"{gbnf_literal(CALLS_BEGIN)} {calls_rule(call, parallel, sep='')} {gbnf_literal(CALLS_END)}")
