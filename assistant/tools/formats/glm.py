"""GLM 4.5 / 4.6 / 4.7: a call names its function after `<tool_call>`, then each
argument as a key and a value,

    <tool_call>get_weather
    <arg_key>city</arg_key>
    <arg_value>Paris</arg_value>
    </tool_call>

(newlines optional: GLM 4.7 writes none). A value is text for a "string" parameter and
JSON otherwise, as in Qwen's XML (llama.cpp's tests: GLM-4.6, GLM-4.7-Flash).
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
from assistant.tools.formats.shared import SchemaMemory, blocks

_CALL = re.compile(r"<tool_call>([^<\n]*)(.*?)(?:</tool_call>|$)", re.S)
_ARG = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)
_VALUE_TEXT = r'( [^<] | "<" [^/] | "</" [^a] )*'


class GlmFormat(ToolFormat):
    name = "glm"
    starts = ("<tool_call>",)

    def __init__(self) -> None:
        self.memory = SchemaMemory()

    @classmethod
    def detect(cls, source: str) -> bool:
        return "<arg_key>" in source and "<tool_call>" in source

    def template_variables(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        self.memory.learn(tools)
        return {"tools": tools}

    def parse(self, section: str) -> list[ToolCall]:
        calls = []
        for match in blocks(_CALL, section, "tool call"):
            name = match.group(1).strip()
            if not name:
                raise CallParseError("A <tool_call> block does not name a function.")
            args = {a.group(1).strip(): self.memory.value(name, a.group(1).strip(), a.group(2))
                    for a in blocks(_ARG, match.group(2), f"call of {name}")}
            calls.append(ToolCall(name, json_arguments(args), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        self.memory.learn(tools)
        g = Grammar()
        text = g.rule("value-text", _VALUE_TEXT)
        alts = []
        for tool in tools:
            name = tool_name(tool)
            schema = tool_parameters(tool)
            required = set(schema.get("required") or [])
            parts = []
            for key, prop in (schema.get("properties") or {}).items():
                is_text = isinstance(prop, dict) and prop.get("type") == "string"
                value = text if is_text else g.schema(prop, f"{name}-{key}")
                part = f'{gbnf_literal(f"<arg_key>{key}</arg_key>")} "\\n"? "<arg_value>" {value} "</arg_value>" "\\n"?'
                parts.append(f"( {part} )" + ("" if key in required else "?"))
            head = gbnf_literal(f"<tool_call>{name}")
            alts.append(g.rule(f"{name}-call", f'{head} "\\n"? {" ".join(parts)} "</tool_call>"'))
        call = g.rule("tool-call", " | ".join(alts))
        return g.text(calls_rule(call, parallel, sep='"\\n"?'))
