"""gpt-oss (harmony): a call is a message to the tool, on the commentary channel,

    <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>

the recipient in the channel header or in the role header (`<|start|>assistant
to=functions.get_weather<|channel|>commentary json<|message|>…`), on the commentary or
analysis channel (llama.cpp: common/parsers/gpt-oss.cpp and its tests).

The thinking splitter (assistant/engines/thinking.py, harmony) reads the channels; it
passes a message to `functions.NAME` to the answer in one form,
`<|channel|>commentary to=functions.NAME<|message|>ARGS<|call|>`, which is what `parse`
reads. The grammar, though, holds the model's own text (the engine applies it before the
splitter), so it and its triggers are the raw forms, as llama.cpp's.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.core.types import ToolCall
from assistant.engines.thinking import HARMONY_CALL_CLOSE, HARMONY_CALL_OPEN
from assistant.tools.formats.base import (
    CallParseError,
    Grammar,
    ToolFormat,
    call_id,
    gbnf_literal,
    json_arguments,
    load_json_prefix,
)
from assistant.tools.formats.shared import blocks, per_tool

_CALL = re.compile(re.escape(HARMONY_CALL_OPEN) + r"([^<\s]+)<\|message\|>(.*?)(?:" + re.escape(HARMONY_CALL_CLOSE) + "|$)", re.S)


class HarmonyFormat(ToolFormat):
    name = "harmony"
    starts = (HARMONY_CALL_OPEN,)

    @classmethod
    def detect(cls, source: str) -> bool:
        return "<|channel|>" in source and "<|call|>" in source and "functions" in source

    def triggers(self) -> list[str]:
        # llama.cpp's: the grammar begins at the match, or at its first group
        return [
            r"^\s+to$",
            r"^<\|channel\|>(?:commentary|analysis)\s+to=functions$",
            r"<\|start\|>assistant(\s+to)",
            r"<\|start\|>assistant(<\|channel\|>(?:commentary|analysis)\s+to)",
        ]

    def parse(self, section: str) -> list[ToolCall]:
        calls = []
        for match in blocks(_CALL, section, "tool call"):
            value, end = load_json_prefix(match.group(2))
            if match.group(2)[end:].strip():
                raise CallParseError(f"Unexpected text after a call's arguments: {match.group(2)[end:].strip()[:60]!r}.")
            calls.append(ToolCall(match.group(1), json_arguments(value), call_id()))
        return calls

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        # one call per turn: <|call|> ends the model's turn (parallel is moot)
        g = Grammar()
        channel = g.rule("call-channel", '"<|channel|>" ( "commentary" | "analysis" )')
        constraint = g.rule("call-constraint", '( " "? "<|constrain|>"? [A-Za-z0-9_-]+ )?')

        def one(name: str, args: str) -> str:
            to = gbnf_literal(f" to=functions.{name}")
            return f'( {to} {channel} | {channel} {to} ) {constraint} "<|message|>" {args}'

        return g.text(per_tool(g, tools, one))
