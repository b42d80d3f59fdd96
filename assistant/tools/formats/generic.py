"""For a chat template that knows no tools (Gemma 2 and 3, Phi-3.5, a base model): the
tools are described in the system prompt and a call is one JSON object,

    {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}

as llama.cpp does for such templates (common_chat_params_init_generic), which holds the
whole answer to JSON; here the answer stays free text until `{"tool_calls"` begins, so a
chat model without tool training can still talk (tool_choice "auto"), and a forced call
("required") is this object from the first token.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.core.types import Message, ToolCall
from assistant.tools.formats.base import (
    CallParseError,
    Grammar,
    ToolFormat,
    call_id,
    calls_rule,
    function_of,
    gbnf_literal,
    json_arguments,
    load_json_prefix,
)
from assistant.tools.formats.shared import name_and, per_tool

START = '{"tool_calls"'


def instructions(tools: list[dict[str, Any]], parallel: bool) -> str:
    # one line per tool: indented JSON costs a third more prompt tokens (time to first token)
    listed = "\n".join(json.dumps(function_of(t), ensure_ascii=False) for t in tools)
    many = "one or more calls" if parallel else "exactly one call"
    return ("You can call these tools (functions):\n" + listed + "\n\n"
            "To call a tool, answer with only this JSON object, with " + many + ":\n"
            '{"tool_calls": [{"name": "<function name>", "arguments": {<arguments>}}]}\n'
            "Otherwise answer in plain text.")


class GenericFormat(ToolFormat):
    name = "generic"
    starts = (START,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return True  # the fallback for every template

    def parse(self, section: str) -> list[ToolCall]:
        value, _ = load_json_prefix(section)
        items = value.get("tool_calls") if isinstance(value, dict) else None
        if not isinstance(items, list):
            raise CallParseError('The answer began {"tool_calls" but is not a list of calls.')
        calls = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise CallParseError("A call in tool_calls does not name a function.")
            calls.append(ToolCall(item["name"], json_arguments(item.get("arguments", {})), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        sp = g.space()
        call = per_tool(g, tools, name_and("arguments"))
        return g.text(f'{gbnf_literal(START + ": [")} {sp} {calls_rule(call, parallel, sep=chr(34) + "," + chr(34) + " " + sp)} {sp} "]}}"')

    def system_messages(self, messages: list[Message], tools: list[dict[str, Any]], parallel: bool) -> list[Message]:
        """The messages with the tools described in the system prompt (first message)."""
        messages = polyfill(messages)
        text = instructions(tools, parallel)
        if messages and messages[0].role == "system":
            first = messages[0]
            return [Message("system", f"{first.content}\n\n{text}" if first.content else text), *messages[1:]]
        return [Message("system", text), *messages]


def polyfill(messages: list[Message]) -> list[Message]:
    """History with calls for a template that knows no tools (as minja's polyfills do for
    llama.cpp): an assistant's calls become its text, the calls' JSON object; the results
    become one user turn (templates such as Gemma's take only user and model turns)."""
    out: list[Message] = []
    for m in messages:
        if m.role == "assistant" and m.tool_calls:
            calls = [{"name": c.name, "arguments": _loads(c.arguments)} for c in m.tool_calls]
            text = json.dumps({"tool_calls": calls}, ensure_ascii=False)
            out.append(Message("assistant", f"{m.content}\n{text}" if m.content.strip() else text))
        elif m.role == "tool":
            result = json.dumps({"tool_response": {"name": m.name, "id": m.tool_call_id, "content": m.content}},
                                ensure_ascii=False)
            if out and out[-1].role == "user" and out[-1].content.startswith('{"tool_response"'):
                out[-1] = Message("user", out[-1].content + "\n" + result)
            else:
                out.append(Message("user", result))
        else:
            out.append(m)
    return out


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
