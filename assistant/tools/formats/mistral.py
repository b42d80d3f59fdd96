"""Mistral's `[TOOL_CALLS]`, in its two forms:

- Mistral Small 3.2, Ministral 3, Magistral, Devstral (templates that write `[ARGS]`):
  `[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}`, one `[TOOL_CALLS]` per call, with
  `[CALL_ID]123456789` before `[ARGS]` where the template has call ids (Small 3.2);
- Mistral Nemo, Mistral 7B v0.3 and older: a JSON list,
  `[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "123456789"}]`.

Mistral's templates refuse a call id that is not 9 letters and digits, so a call without
one gets such an id (llama.cpp: tests of Mistral-Small-3.2, Ministral-3, Mistral-Nemo).
"""

from __future__ import annotations

import re
from typing import Any

from assistant.core.types import Message, ToolCall
from assistant.tools.formats.base import (
    CallParseError,
    Grammar,
    ToolFormat,
    calls_rule,
    gbnf_literal,
    json_arguments,
    load_json_prefix,
)
from assistant.tools.formats.shared import per_tool, short_id

TOOL_CALLS = "[TOOL_CALLS]"
_HEAD = re.compile(r"\s*([^\[\]\s]+)\s*(?:\[CALL_ID\]\s*([A-Za-z0-9]+)\s*)?\[ARGS\]", re.S)


class MistralFormat(ToolFormat):
    """`[TOOL_CALLS]name[ARGS]{…}` (Small 3.2, Ministral 3, Magistral, Devstral)."""

    name = "mistral"
    starts = (TOOL_CALLS,)


    def prepare(self, messages: list[Message]) -> list[Message]:
        return nine_char_ids(messages)

    @classmethod
    def detect(cls, source: str) -> bool:
        return TOOL_CALLS in source and "[ARGS]" in source

    def parse(self, section: str) -> list[ToolCall]:
        parts = section.split(TOOL_CALLS)
        if parts[0].strip():
            raise CallParseError("The call section does not begin with [TOOL_CALLS].")
        calls = []
        for part in parts[1:]:
            if not part.strip():
                continue
            head = _HEAD.match(part)
            if not head:
                raise CallParseError("A [TOOL_CALLS] call is not name[ARGS]{…}.")
            value, end = load_json_prefix(part[head.end():])
            if part[head.end() + end:].strip():
                raise CallParseError(f"Unexpected text after a call: {part[head.end() + end:].strip()[:60]!r}.")
            calls.append(ToolCall(head.group(1), json_arguments(value), head.group(2) or short_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        ids = '( "[CALL_ID]" [a-zA-Z0-9]{9} )?'
        call = per_tool(g, tools, lambda name, args: f'"[TOOL_CALLS]" {gbnf_literal(name)} {ids} "[ARGS]" {args}')
        return g.text(calls_rule(call, parallel, sep=""))


class MistralJsonFormat(ToolFormat):
    """`[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}]` (Nemo and older)."""

    name = "mistral-json"
    starts = (TOOL_CALLS,)


    def prepare(self, messages: list[Message]) -> list[Message]:
        return nine_char_ids(messages)

    @classmethod
    def detect(cls, source: str) -> bool:
        return TOOL_CALLS in source

    def parse(self, section: str) -> list[ToolCall]:
        rest = section.strip()
        calls: list[ToolCall] = []
        while rest.startswith(TOOL_CALLS):  # some write one [TOOL_CALLS] list per call
            value, end = load_json_prefix(rest[len(TOOL_CALLS):])
            items = value if isinstance(value, list) else [value]
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    raise CallParseError("A call in [TOOL_CALLS] does not name a function.")
                cid = item.get("id")
                ok = isinstance(cid, str) and cid.isalnum() and len(cid) == 9
                calls.append(ToolCall(item["name"], json_arguments(item.get("arguments", {})), str(cid) if ok else short_id()))
            rest = rest[len(TOOL_CALLS) + end:].strip()
        if rest:
            raise CallParseError(f"Unexpected text after the calls: {rest[:60]!r}.")
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        g = Grammar()
        sp = g.space()
        ids = '( ", \\"id\\": \\"" [a-zA-Z0-9]{9} "\\"" )?'

        def one(name: str, args: str) -> str:
            head = '{"name": ' + gbnf_literal(name) + ', "arguments": '
            return f'{gbnf_literal(head)} {args} {ids} "}}"'

        call = per_tool(g, tools, one)
        return g.text(f'"[TOOL_CALLS][" {calls_rule(call, parallel, sep=chr(34) + "," + chr(34) + " " + sp)} "]"')


def nine_char_ids(messages: list[Message]) -> list[Message]:
    """Calls' ids as Mistral's templates require them (9 letters and digits): an id from an
    API client (`call_…`, `toolu_…`) is mapped, the same way in the call and in its result."""
    import hashlib
    from dataclasses import replace

    def nine(cid: str) -> str:
        if cid.isalnum() and len(cid) == 9:
            return cid
        return hashlib.sha256(cid.encode()).hexdigest()[:9]

    out = []
    for m in messages:
        if m.tool_calls:
            m = replace(m, tool_calls=[replace(c, id=nine(c.id)) for c in m.tool_calls])
        if m.role == "tool" and m.tool_call_id:
            m = replace(m, tool_call_id=nine(m.tool_call_id))
        out.append(m)
    return out
