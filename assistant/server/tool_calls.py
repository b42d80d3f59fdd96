"""Function calling in the API's shapes: the request's tools and tool_choice as the
engine's `GenParams.tools / tool_choice`, history with calls and results as `Message`s,
and the answer's calls in each API's response and stream shape.

- OpenAI: `tools` [{"type": "function", "function": {name, description, parameters}}],
  `tool_choice` "auto" / "none" / "required" / {"type": "function", "function": {"name"}},
  `parallel_tool_calls`; assistant `tool_calls` and `tool` messages in history.
- Anthropic: `tools` [{name, description, input_schema}], `tool_choice` {"type": "auto" /
  "any" / "tool" / "none", "name", "disable_parallel_tool_use"}; `tool_use` and
  `tool_result` blocks in history.

What cannot be honoured is a 400 that says what to change: another kind of tool (OpenAI's
custom or built-in tools, Anthropic's server tools), tool_choice naming a tool that is not
in `tools`, a forced call on a model that cannot hold a grammar.
"""

from __future__ import annotations

import json
import re
from typing import Any

from assistant.core.types import GenParams, Message, ModelRef, ToolCall
from assistant.server.common import text_of
from assistant.server.images import RequestImages, anthropic_block
from assistant.server.protocol import BadRequest

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # OpenAI's and Anthropic's rule for a tool's name


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadRequest(f"{where}: a tool's name must be 1 to 64 letters, digits, _ . or -.", "Rename the tool.")
    return name


def _check_schema(schema: Any, where: str) -> dict[str, Any]:
    if schema is None:
        return {"type": "object", "properties": {}}
    if not isinstance(schema, dict):
        raise BadRequest(f"{where} must be a JSON Schema object.", "Send the arguments' schema as an object.")
    return schema


def _unique(tools: list[dict[str, Any]], where: str) -> None:
    names = [t["function"]["name"] for t in tools]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BadRequest(f"{where}: the tool name “{twice[0]}” is used twice.", "Give each tool its own name.")


# -- OpenAI ---------------------------------------------------------------------------------
def openai_tools(raw: list[Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(raw or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(tool.get("function"), dict):
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise BadRequest(f"{where}: only function tools are supported here (got type “{kind}”).",
                             "Send {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}.")
        fn = tool["function"]
        name = _check_name(fn.get("name"), f"{where}.function.name")
        entry = {"name": name, "parameters": _check_schema(fn.get("parameters"), f"{where}.function.parameters")}
        if isinstance(fn.get("description"), str):
            entry["description"] = fn["description"]
        out.append({"type": "function", "function": entry})
    _unique(out, "tools")
    return out


def openai_choice(raw: Any, tools: list[dict[str, Any]]) -> str:
    """tool_choice as GenParams takes it: auto / none / required / the forced function's name."""
    if raw is None:
        return "auto"
    if isinstance(raw, str) and raw in ("auto", "none", "required"):
        choice = raw
    elif isinstance(raw, dict) and raw.get("type") == "function" and isinstance(raw.get("function"), dict):
        choice = _check_name(raw["function"].get("name"), "tool_choice.function.name")
    else:
        raise BadRequest("tool_choice must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}.",
                         "Fix tool_choice, or leave it out (auto).")
    if choice != "none" and not tools:
        raise BadRequest("tool_choice is set, but there are no tools.", "Send tools, or leave tool_choice out.")
    if choice not in ("auto", "none", "required") and choice not in [t["function"]["name"] for t in tools]:
        raise BadRequest(f"tool_choice names “{choice}”, which is not one of the tools.", "Name a tool from tools.")
    return choice


def openai_assistant(m: dict[str, Any], where: str) -> Message:
    calls = []
    for j, c in enumerate(m.get("tool_calls") or []):
        fn = c.get("function") if isinstance(c, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise BadRequest(f"{where}.tool_calls[{j}] needs a function with a name.", "Send the calls as the API returned them.")
        args = fn.get("arguments", "{}")
        calls.append(ToolCall(fn["name"], args if isinstance(args, str) else json.dumps(args), str(c.get("id") or "")))
    return Message("assistant", text_of(m.get("content"), where), tool_calls=calls)


def openai_tool_result(m: dict[str, Any], where: str) -> Message:
    if not isinstance(m.get("tool_call_id"), str):
        raise BadRequest(f"{where}: a tool message needs the tool_call_id it answers.", "Add tool_call_id.")
    return Message("tool", text_of(m.get("content"), where), tool_call_id=m["tool_call_id"], name=str(m.get("name") or ""))


def openai_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]


def openai_call_deltas(calls: list[ToolCall]) -> list[dict[str, Any]]:
    """The calls as a stream's delta.tool_calls (each whole in one delta: index, id, name, arguments)."""
    return [{"index": i, **call} for i, call in enumerate(openai_calls(calls))]


# -- Anthropic ------------------------------------------------------------------------------
def anthropic_tools(raw: list[Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(raw or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise BadRequest(f"{where}: server tools (type “{kind}”) are not supported here, only your own tools.",
                             "Send {\"name\", \"description\", \"input_schema\"}.")
        name = _check_name(tool.get("name"), f"{where}.name")
        entry = {"name": name, "parameters": _check_schema(tool.get("input_schema"), f"{where}.input_schema")}
        if isinstance(tool.get("description"), str):
            entry["description"] = tool["description"]
        out.append({"type": "function", "function": entry})
    _unique(out, "tools")
    return out


def anthropic_choice(raw: dict[str, Any] | None, tools: list[dict[str, Any]]) -> tuple[str, bool]:
    """(tool_choice as GenParams takes it, parallel calls allowed)."""
    if raw is None:
        return "auto", True
    kind = raw.get("type")
    parallel = not raw.get("disable_parallel_tool_use", False)
    if kind in ("auto", "none"):
        choice = str(kind)
    elif kind == "any":
        choice = "required"
    elif kind == "tool":
        choice = _check_name(raw.get("name"), "tool_choice.name")
        if choice not in [t["function"]["name"] for t in tools]:
            raise BadRequest(f"tool_choice names “{choice}”, which is not one of the tools.", "Name a tool from tools.")
    else:
        raise BadRequest("tool_choice.type must be auto, any, tool or none.", "Fix tool_choice, or leave it out.")
    if choice != "none" and not tools:
        raise BadRequest("tool_choice is set, but there are no tools.", "Send tools, or leave tool_choice out.")
    return choice, parallel


def anthropic_message(m: dict[str, Any], where: str, sink: RequestImages) -> list[Message]:
    """One Anthropic message as Messages: tool_use blocks become the assistant's calls,
    tool_result blocks become tool messages (before the user's own text), a user's image
    blocks its images (kept in `sink`)."""
    content = m.get("content")
    if not isinstance(content, list):
        return [Message(m["role"], text_of(content, where))]
    images: list[str] = []
    calls, results, rest = [], [], []
    for j, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_use" and m["role"] == "assistant":
            _check_name(block.get("name"), f"{where}.content[{j}].name")
            calls.append(ToolCall(block["name"], json.dumps(block.get("input") or {}), str(block.get("id") or "")))
        elif kind == "tool_result" and m["role"] == "user":
            text = text_of(block.get("content"), f"{where}.content[{j}].content")
            if block.get("is_error"):
                text = f"Error: {text}"
            results.append(Message("tool", text, tool_call_id=str(block.get("tool_use_id") or "")))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # thinking is not sent back to the model
        elif kind == "image" and m["role"] == "user":
            images.append(anthropic_block(block, f"{where}.content[{j}]", sink))
        else:
            rest.append(block)
    out = results
    text = text_of(rest, where) if rest else ""
    if calls or text or images or not results:
        out.append(Message(m["role"], text, tool_calls=calls, images=images))
    return out


def anthropic_blocks(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [{"type": "tool_use", "id": anthropic_id(c), "name": c.name, "input": json.loads(c.arguments)} for c in calls]


def anthropic_id(call: ToolCall) -> str:
    return "toolu_" + call.id.removeprefix("call_")


# -- both -----------------------------------------------------------------------------------
def set_tools(params: GenParams, model: ModelRef, tools: list[dict[str, Any]], choice: str, parallel: bool) -> None:
    """Tools on the request's params; a forced call on a model that cannot hold a grammar
    (MLX) is refused. A model on the user's own server gets the tools in its API's shape."""
    if not tools or choice == "none":
        return
    if params.grammar is not None:
        raise BadRequest("An answer cannot follow both a JSON format and tool calls.",
                         "Send tools or a response format, not both.")
    if model.format == "mlx" and choice != "auto":
        raise BadRequest(f"tool_choice “{choice}” needs a GGUF model (llama.cpp holds the call to the schema); "
                         f"“{model.display_name}” is an MLX model.", "Use tool_choice auto, or a GGUF model.")
    params.tools, params.tool_choice, params.parallel_tool_calls = tools, choice, parallel
