"""Pieces several formats share: reading a section made of blocks (nothing else in it but
whitespace), values written as text (XML parameters: typed by the tool's schema), Python
call syntax (Llama's builtin tools, LFM2), and one grammar alternative per tool."""

from __future__ import annotations

import ast
import json
import re
import secrets
import string
from collections.abc import Callable, Iterator
from typing import Any

from assistant.tools.formats.base import CallParseError, Grammar, gbnf_literal, tool_name, tool_parameters


def blocks(pattern: re.Pattern[str], section: str, what: str) -> Iterator[re.Match[str]]:
    """The matches of `pattern` that make up `section`; text between them that is not
    whitespace means the model wrote something else (CallParseError)."""
    pos = 0
    for match in pattern.finditer(section):
        if section[pos:match.start()].strip():
            raise CallParseError(f"Unexpected text in the {what}: {section[pos:match.start()].strip()[:60]!r}.")
        pos = match.end()
        yield match
    if section[pos:].strip():
        raise CallParseError(f"Unexpected text in the {what}: {section[pos:].strip()[:60]!r}.")


class SchemaMemory:
    """Formats that write argument values as bare text (XML parameters) read them by the
    tool's schema: a "string" parameter stays text, others are JSON. The format learns the
    schemas from `template_variables` / `grammar`, which the engine calls with the tools."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    def learn(self, tools: list[dict[str, Any]]) -> None:
        self.schemas.update({tool_name(t): tool_parameters(t) for t in tools})

    def value(self, function: str, key: str, text: str) -> Any:
        prop = self.schemas.get(function, {}).get("properties", {}).get(key, {})
        kind = prop.get("type") if isinstance(prop, dict) else None
        if kind == "string" or (isinstance(kind, list) and "string" in kind and "null" not in kind):
            return text
        try:
            return json.loads(text.strip())
        except ValueError:
            return text


def xml_text(raw: str) -> str:
    """A parameter's text as Qwen writes it: one newline after the opening tag and one
    before the closing tag are layout, not value."""
    if raw.startswith("\n"):
        raw = raw[1:]
    if raw.endswith("\n"):
        raw = raw[:-1]
    return raw


def short_id(n: int = 9) -> str:
    """Mistral's call ids: 9 letters and digits (its templates refuse any other)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


_PY_NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _py_value(node: ast.expr) -> Any:
    if isinstance(node, ast.Name) and node.id in _PY_NAMES:
        return _PY_NAMES[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_py_value(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_py_value(k) if k is not None else "": _py_value(v) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def python_calls(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Calls written as Python, `[f(a=1), g(b="x")]` or `f(a=1)`: (name, keyword
    arguments). Only literals are read (ast, never evaluated)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CallParseError(f"The call is not valid call syntax ({exc.msg}).") from None
    body = tree.body
    nodes = body.elts if isinstance(body, ast.List | ast.Tuple) else [body]
    calls = []
    for node in nodes:
        if not isinstance(node, ast.Call) or node.args:
            raise CallParseError("A call is not written as name(key=value, …).")
        name = ast.unparse(node.func)
        try:
            args = {kw.arg: _py_value(kw.value) for kw in node.keywords if kw.arg}
        except (ValueError, TypeError, SyntaxError):
            raise CallParseError(f"The arguments of {name} are not literals.") from None
        calls.append((name, args))
    return calls


def name_and(key: str) -> Callable[[str, str], str]:
    """`per_tool`'s builder for a call written `{"name": "NAME", "<key>": {ARGS}}` (Hermes,
    Generic, Llama 3's "parameters", Mistral's and Phi-4-mini's "arguments")."""
    def one(name: str, args: str) -> str:
        head = '{"name": ' + gbnf_literal(name) + f', "{key}": '
        return f'{gbnf_literal(head)} {args} "}}"'

    return one


def per_tool(g: Grammar, tools: list[dict[str, Any]], build: Callable[[str, str], str], rule: str = "call") -> str:
    """A rule that is one of the tools' calls: `build(name, arguments_rule)` writes one."""
    alts = [g.rule(f"{tool_name(t) or 'tool'}-{rule}", build(tool_name(t), g.arguments(t))) for t in tools]
    return g.rule(f"tool-{rule}", " | ".join(alts))
