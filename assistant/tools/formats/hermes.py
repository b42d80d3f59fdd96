"""Hermes / Qwen 2.5 / Qwen 3 / QwQ: each call is a JSON object in its own block,

    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

(llama.cpp: common_chat_params_init_hermes_2_pro). Qwen 3.5 and Qwen3-Coder write XML
instead (formats/qwen3_coder.py).
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
    json_arguments,
    load_json_prefix,
)
from assistant.tools.formats.shared import name_and, per_tool

_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


class HermesFormat(ToolFormat):
    name = "hermes"
    starts = ("<tool_call>",)

    @classmethod
    def detect(cls, source: str) -> bool:
        return "<tool_call>" in source and "<function=" not in source

    def parse(self, section: str) -> list[ToolCall]:
        calls: list[ToolCall] = []
        for i, match in enumerate(_BLOCK.finditer(section)):
            body = match.group(1)
            if not body.strip():
                continue
            value, _ = load_json_prefix(body)
            if not isinstance(value, dict) or not isinstance(value.get("name"), str):
                raise CallParseError("A <tool_call> block does not name a function.")
            calls.append(ToolCall(value["name"], json_arguments(value.get("arguments", {})), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        sp = g.space()
        one = per_tool(g, tools, name_and("arguments"))
        call = g.rule("tool-block", f'"<tool_call>" {sp} {one} {sp} "</tool_call>"')
        return g.text(calls_rule(call, parallel, sep=sp))
