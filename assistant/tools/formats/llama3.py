"""Llama 3.1 / 3.2 / 3.3: a call is the JSON object the template asks for ("Respond in the
format {"name": function name, "parameters": dictionary of argument name and its value}"),

    {"name": "get_weather", "parameters": {"city": "Paris"}}

(Llama 3.2 may write `{"type": "function", "name": …}`), and the built-in tools of 3.1 /
3.3 after `<|python_tag|>`: `brave_search.call(query="…")`, or bare code for the code
interpreter (read as a call of "python" with {"code": …}), or the JSON object again
(llama.cpp: common_chat_params_init_llama_3_x before its auto parser).
"""

from __future__ import annotations

import json
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
    regex_escape,
)
from assistant.tools.formats.shared import name_and, per_tool, python_calls

PYTHON_TAG = "<|python_tag|>"
_BUILTIN = re.compile(r"^\s*([A-Za-z_]\w*)\.call\((.*)\)\s*$", re.S)


class Llama3Format(ToolFormat):
    name = "llama3"
    starts = ('{"name"', '{"type": "function"', PYTHON_TAG)

    @classmethod
    def detect(cls, source: str) -> bool:
        return '"parameters": dictionary of argument name' in source

    def triggers(self) -> list[str]:
        return [regex_escape('{"name"')]  # where the grammar (custom tools' JSON) begins

    def parse(self, section: str) -> list[ToolCall]:
        text = section.strip()
        if text.startswith(PYTHON_TAG):
            text = text[len(PYTHON_TAG):].strip()
            if not text.startswith("{"):
                return [self._builtin(text)]
        calls = []
        dec = json.JSONDecoder()
        pos = 0
        while pos < len(text):
            try:
                value, pos = dec.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise CallParseError(f"The call is not valid JSON ({exc.msg} at {exc.pos}).") from None
            if not isinstance(value, dict) or not isinstance(value.get("name"), str):
                raise CallParseError('A call is not {"name": …, "parameters": …}.')
            args = value.get("parameters", value.get("arguments", {}))
            calls.append(ToolCall(value["name"], json_arguments(args), call_id()))
            while pos < len(text) and (text[pos].isspace() or text[pos] == ";"):
                pos += 1
        return calls

    def _builtin(self, text: str) -> ToolCall:
        match = _BUILTIN.match(text)
        if not match:  # the code interpreter: the code itself
            return ToolCall("python", json.dumps({"code": text}, ensure_ascii=False), call_id())
        ((name, args),) = python_calls(f"{match.group(1)}({match.group(2)})")
        return ToolCall(name, json_arguments(args), call_id())

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()

        call = per_tool(g, tools, name_and("parameters"))
        return g.text(calls_rule(call, parallel, sep='"; "'))
