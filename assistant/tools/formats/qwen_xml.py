"""Qwen 3.5, Qwen3-Coder and Nemotron 3 Nano: each call is XML in a `<tool_call>` block,

    <tool_call>
    <function=get_weather>
    <parameter=city>
    Paris
    </parameter>
    </function>
    </tool_call>

A parameter's value is text: a "string" parameter (by the tool's schema) is taken as it
is, any other is read as JSON (llama.cpp: common_chat_params_init_qwen3_coder; its
tests show models that leave out the opening `<tool_call>`, which is read too).
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
from assistant.tools.formats.shared import SchemaMemory, blocks, xml_text

_CALL = re.compile(r"(?:<tool_call>\s*)?<function=([^>\n]+)>(.*?)</function>\s*(?:</tool_call>|$)", re.S)
_PARAM = re.compile(r"<parameter=([^>\n]+)>(.*?)</parameter>", re.S)
# a string value: any text without "</parameter"
STRING_TEXT = r'( [^<] | "<" [^/] | "</" [^p] )*'


class QwenXmlFormat(ToolFormat):
    name = "qwen3-coder"
    starts = ("<tool_call>", "<function=")

    def __init__(self) -> None:
        self.memory = SchemaMemory()

    @classmethod
    def detect(cls, source: str) -> bool:
        return "<function=" in source and "<parameter=" in source

    def template_variables(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        self.memory.learn(tools)
        return {"tools": tools}

    def parse(self, section: str) -> list[ToolCall]:
        calls = []
        for match in blocks(_CALL, section, "tool call"):
            name, body = match.group(1).strip(), match.group(2)
            args: dict[str, Any] = {}
            for p in blocks(_PARAM, body, f"call of {name}"):
                key = p.group(1).strip()
                args[key] = self.memory.value(name, key, xml_text(p.group(2)))
            calls.append(ToolCall(name, json_arguments(args), call_id()))
        if not calls and section.strip():
            raise CallParseError("The tool call has no <function=…> block.")
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        self.memory.learn(tools)
        g = Grammar()
        text = g.rule("param-text", STRING_TEXT)
        alts = []
        for tool in tools:
            name = tool_name(tool)
            schema = tool_parameters(tool)
            props = schema.get("properties") or {}
            required = set(schema.get("required") or [])
            parts = []
            for key, prop in props.items():
                is_text = isinstance(prop, dict) and prop.get("type") == "string"
                value = text if is_text else g.schema(prop, f"{name}-{key}")
                part = f'{gbnf_literal(f"<parameter={key}>" + chr(10))} {value} {gbnf_literal(chr(10) + "</parameter>" + chr(10))}'
                parts.append(f"( {part} )" + ("" if key in required else "?"))
            # the opening <tool_call> may be left out (as models do: llama.cpp's tests), so the
            # lazy grammar can begin at either start marker
            head = f'"<tool_call>\\n"? {gbnf_literal(f"<function={name}>" + chr(10))}'
            alts.append(g.rule(f"{name}-call", f'{head} {" ".join(parts)} "</function>\\n</tool_call>"'))
        call = g.rule("tool-call", " | ".join(alts))
        return g.text(calls_rule(call, parallel, sep='"\\n"'))
