"""Tools for cloud models and the user's own servers (engines/cloud.py), in each API's
shape with the official SDKs: the request's tools and tool_choice, history with the
assistant's calls and the tools' results, and the calls read back from the stream (OpenAI's
`delta.tool_calls` pieces by index; Anthropic's `tool_use` blocks with `input_json_delta`)."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from typing import Any

from assistant.core.image_format import MEDIA_TYPES, image_info
from assistant.core.image_shrink import SHRINKABLE, shrink
from assistant.core.types import GenParams, Message, ToolCall


def _args(text: str) -> Any:
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


# what the providers read: OpenAI scales a picture to fit 2048 x 2048 (then 768 on its short
# side) and Anthropic recommends 1568 on the long side, at most 5 MB an image (its base64):
# a larger picture is sent as a copy scaled to that, never as what they would throw away
CLOUD_SIDE = 2048
CLOUD_BYTES = 3_750_000  # 5 MB as base64


def image_payload(path: str) -> tuple[str, str]:
    """(media type, base64) of an image file: its bytes, or a copy scaled to CLOUD_SIDE and
    CLOUD_BYTES when it is larger; ImageError when it cannot be used."""
    info = image_info(path)
    big = max(info.width, info.height) > CLOUD_SIDE or os.path.getsize(path) > CLOUD_BYTES
    if big and info.format in SHRINKABLE:
        with tempfile.TemporaryDirectory(prefix="assistant-cloud-image-") as tmp:
            s = shrink(path, tmp, info=info, max_side=CLOUD_SIDE, max_bytes=CLOUD_BYTES)
            return MEDIA_TYPES[s.format], base64.b64encode(s.path.read_bytes()).decode("ascii")
    with open(path, "rb") as f:
        return info.media_type, base64.b64encode(f.read()).decode("ascii")


# -- OpenAI ---------------------------------------------------------------------------------
def openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:  # never thinking
        if m.role == "user" and m.images:  # the text, then the images as data: URLs
            parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
            for path in m.images:
                media, data = image_payload(path)
                parts.append({"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}})
            out.append({"role": "user", "content": parts})
        elif m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({"role": "assistant", "content": m.content or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls]})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def openai_tool_kwargs(params: GenParams) -> dict[str, Any]:
    if not params.tools or params.tool_choice == "none":
        return {}
    choice: Any = params.tool_choice
    if choice not in ("auto", "required"):
        choice = {"type": "function", "function": {"name": choice}}
    return {"tools": params.tools, "tool_choice": choice, "parallel_tool_calls": params.parallel_tool_calls}


class OpenAICalls:
    """Calls put together from a stream's `delta.tool_calls` pieces (by index)."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, str]] = {}

    def add(self, pieces: Any) -> None:
        for p in pieces or []:
            entry = self._parts.setdefault(int(getattr(p, "index", 0) or 0), {"id": "", "name": "", "arguments": ""})
            if getattr(p, "id", None):
                entry["id"] = p.id
            fn = getattr(p, "function", None)
            if fn is not None:
                entry["name"] += fn.name or ""
                entry["arguments"] += fn.arguments or ""

    def calls(self) -> list[ToolCall]:
        return [ToolCall(e["name"], e["arguments"] or "{}", e["id"]) for _, e in sorted(self._parts.items())]


# -- Anthropic ------------------------------------------------------------------------------
def anthropic_turns(messages: list[Message]) -> list[dict[str, Any]]:
    """Turns that alternate (the API wants that): tool results are user turns of
    tool_result blocks, an assistant's calls are its tool_use blocks."""
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks: list[dict[str, Any]] = []
        if m.role == "tool":
            blocks.append({"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content})
        else:
            for path in m.images if m.role == "user" else []:  # images first, as Anthropic advises
                media, data = image_payload(path)
                blocks.append({"type": "image", "source": {"type": "base64", "media_type": media, "data": data}})
            if m.content:
                blocks.append({"type": "text", "text": m.content})
            for c in m.tool_calls:
                blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": _args(c.arguments)})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += blocks
        else:
            turns.append({"role": role, "content": blocks})
    for t in turns:  # plain text turns stay strings, as before tools
        if all(b["type"] == "text" for b in t["content"]):
            t["content"] = "\n\n".join(b["text"] for b in t["content"])
    return turns


def anthropic_tool_kwargs(params: GenParams) -> dict[str, Any]:
    if not params.tools:
        return {}
    tools = []
    for t in params.tools:
        fn = t.get("function", {})
        entry = {"name": fn.get("name", ""), "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
        if fn.get("description"):
            entry["description"] = fn["description"]
        tools.append(entry)
    kind = {"auto": "auto", "none": "none", "required": "any"}.get(params.tool_choice, "tool")
    choice: dict[str, Any] = {"type": kind}
    if kind == "tool":
        choice["name"] = params.tool_choice
    if kind in ("auto", "any", "tool") and not params.parallel_tool_calls:
        choice["disable_parallel_tool_use"] = True
    return {"tools": tools, "tool_choice": choice}


class AnthropicCalls:
    """Calls put together from tool_use blocks: content_block_start names the call,
    input_json_delta pieces make its input."""

    def __init__(self) -> None:
        self._blocks: dict[int, dict[str, str]] = {}

    def start(self, index: int, block: Any) -> None:
        if getattr(block, "type", "") == "tool_use":
            self._blocks[index] = {"id": block.id, "name": block.name, "json": ""}

    def delta(self, index: int, delta: Any) -> bool:
        if getattr(delta, "type", "") != "input_json_delta" or index not in self._blocks:
            return False
        self._blocks[index]["json"] += delta.partial_json or ""
        return True

    def calls(self) -> list[ToolCall]:
        return [ToolCall(b["name"], json.dumps(_args(b["json"])), b["id"]) for _, b in sorted(self._blocks.items())]
