"""What every tool-call format shares: the call section's grammar built from the tools'
JSON Schemas, the lazy grammar's triggers, and the stream splitter that keeps a call's
text out of the answer while it streams.

A format (one model family: Qwen/Hermes `<tool_call>`, Mistral `[TOOL_CALLS]`, …) says
1. whether a chat template is written for it (`detect`);
2. the text that begins a call section (`starts`): the answer is free text until one of
   them, and from there on everything is calls (as llama.cpp's chat parsers read them);
3. how a call section reads back into calls (`parse`, whole text; CallParseError when it
   cannot be read);
4. the GBNF grammar of a call section (`grammar`, root rule "root"), which the engine holds
   the answer to from the trigger on (tool_choice "auto": a lazy grammar) or from the
   first token ("required", a named function).

The reference is llama.cpp's common/chat.cpp and tests/test-chat.cpp (in the
llama-cpp-python sdist).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from assistant.core.json_grammar import strict_json_chars
from assistant.core.types import Message, ToolCall
from assistant.errors import AssistantError


class CallParseError(AssistantError):
    """A call section the model wrote that cannot be read as calls (its raw text is kept)."""


_REGEX_SPECIAL = set("\\^$.|?*+()[]{}/")


def regex_escape(text: str) -> str:
    """`text` as a literal in an ECMAScript regular expression (llama.cpp's std::regex
    triggers): Python's re.escape escapes more than std::regex accepts."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def gbnf_literal(text: str) -> str:
    """`text` as a GBNF string literal."""
    return json.dumps(text, ensure_ascii=False)


def function_of(tool: dict[str, Any]) -> dict[str, Any]:
    """The function part of a tool in OpenAI's shape ({"type": "function", "function": {...}})."""
    fn = tool.get("function", tool)
    return fn if isinstance(fn, dict) else {}


def tool_name(tool: dict[str, Any]) -> str:
    return str(function_of(tool).get("name", ""))


def tool_parameters(tool: dict[str, Any]) -> dict[str, Any]:
    params = function_of(tool).get("parameters")
    return params if isinstance(params, dict) and params else {"type": "object", "properties": {}}


class Grammar:
    """A GBNF grammar built from named rules and tools' argument schemas, with llama.cpp's
    own JSON Schema converter (`llama_cpp.llama_grammar.SchemaConverter`)."""

    def __init__(self) -> None:
        from llama_cpp.llama_grammar import SchemaConverter

        self._conv = SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)

    def schema(self, schema: Any, name: str) -> str:
        """The rule for JSON values that `schema` allows; a schema the converter cannot take
        falls back to any JSON object (the call still parses; its arguments are not held)."""
        try:
            resolved = self._conv.resolve_refs(schema, name)
            return str(self._conv.visit(resolved, name))
        except Exception:  # noqa: BLE001 - the converter raises whatever a schema trips
            return str(self._conv.visit({"type": "object"}, name + "-any"))

    def arguments(self, tool: dict[str, Any]) -> str:
        return self.schema(tool_parameters(tool), f"{tool_name(tool) or 'tool'}-args")

    def rule(self, name: str, body: str) -> str:
        return str(self._conv._add_rule(name, body))

    def space(self) -> str:
        return self.rule("call-space", '| " " | "\\n"{1,2} [ \\t]{0,20}')

    def text(self, root: str) -> str:
        """The grammar with `root` as its root rule."""
        self._conv._rules["root"] = root
        return strict_json_chars(str(self._conv.format_grammar()))


def calls_rule(one: str, parallel: bool, sep: str = '","') -> str:
    """One call, or (parallel) one or more separated by `sep` (a GBNF expression)."""
    return f"{one} ({sep} {one})*" if parallel else one


def json_arguments(value: Any) -> str:
    """Arguments as OpenAI sends them: JSON text of an object. A string that holds JSON is
    taken as it is (some formats write the arguments as a JSON string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise CallParseError(f"The call's arguments are not JSON: {value[:80]!r}.") from None
    if not isinstance(value, dict):
        raise CallParseError("The call's arguments are not a JSON object.")
    return json.dumps(value, ensure_ascii=False)


def load_json_prefix(text: str) -> tuple[Any, int]:
    """The first JSON value in `text` (after leading whitespace) and where it ends."""
    dec = json.JSONDecoder()
    stripped = len(text) - len(text.lstrip())
    try:
        value, end = dec.raw_decode(text, stripped)
    except json.JSONDecodeError as exc:
        raise CallParseError(f"The call is not valid JSON ({exc.msg} at {exc.pos}).") from None
    return value, end


class ToolFormat:
    """One family's format. Subclasses set `name` and `starts`, and write `detect`,
    `parse` and `grammar`."""

    name = "base"
    starts: tuple[str, ...] = ()

    @classmethod
    def detect(cls, source: str) -> bool:
        raise NotImplementedError

    def parse(self, section: str) -> list[ToolCall]:
        """Calls from a call section (text from a start marker to the end of the answer)."""
        raise NotImplementedError

    def grammar(self, tools: list[dict[str, Any]], parallel: bool) -> str:
        """GBNF of a call section (root rule "root") that calls one of `tools`."""
        raise NotImplementedError

    def triggers(self) -> list[str]:
        """The lazy grammar's trigger patterns: any start marker."""
        return [regex_escape(s) for s in self.starts]

    def prepare(self, messages: list[Message]) -> list[Message]:
        """History as this family's template takes it (calls' ids, say); by default as it is."""
        return messages

    def template_variables(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        """What the chat template gets for the tools (`tools` as transformers passes them)."""
        return {"tools": tools}

    def stream(self) -> CallStream:
        return CallStream(self)


class CallStream:
    """Splits an answer's text as it streams: text before a call section goes out at once
    (less a tail that could begin a start marker, held until the next piece decides it);
    the call section is kept and read into calls at the end. A section that cannot be read
    comes back as text, with the reason."""

    def __init__(self, fmt: ToolFormat) -> None:
        self.fmt = fmt
        self._held = ""  # text that may be the start of a marker
        self.section: str | None = None  # the call section, once it began

    @property
    def in_call(self) -> bool:
        return self.section is not None

    def feed(self, text: str) -> str:
        """The answer text that can be shown now."""
        if self.section is not None:
            self.section += text
            return ""
        buf = self._held + text
        hit = _first_marker(buf, self.fmt.starts)
        if hit is not None:
            self.section, self._held = buf[hit:], ""
            return buf[:hit]
        keep = _partial_tail(buf, self.fmt.starts)
        self._held = buf[len(buf) - keep:] if keep else ""
        return buf[: len(buf) - keep]

    def finish(self) -> tuple[str, list[ToolCall], str | None]:
        """At the end of the answer: (text still to show, the calls, why a call section
        could not be read or None)."""
        if self.section is None:
            held, self._held = self._held, ""
            return held, [], None
        section, self.section = self.section, None
        try:
            calls = self.fmt.parse(section)
        except CallParseError as exc:
            return section, [], exc.message
        if not calls:
            return section, [], "The model began a tool call but wrote none."
        return "", calls, None


def _first_marker(text: str, markers: Iterable[str]) -> int | None:
    found = [i for i in (text.find(m) for m in markers if m) if i >= 0]
    return min(found) if found else None


def _partial_tail(text: str, markers: Iterable[str]) -> int:
    """The length of the longest end of `text` that is the beginning of a marker."""
    best = 0
    for m in markers:
        for n in range(min(len(m) - 1, len(text)), best, -1):
            if text.endswith(m[:n]):
                best = n
                break
    return best


def call_id() -> str:
    """An id for a call the format gives none (OpenAI's `call_…` shape)."""
    import secrets

    return "call_" + secrets.token_hex(12)
