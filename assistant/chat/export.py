"""Export a conversation as Markdown (for people) or JSON (for programs)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from assistant.chat.records import Conversation, StoredMessage

EXPORT_FORMAT = 1
_ROLE = {"user": "You", "assistant": "Assistant", "system": "System"}


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def answer_details(m: StoredMessage, *, with_error: bool = True) -> str:
    """'gemma-3 · llama.cpp · 42.1 tokens/s · stopped' for an answer; the error of a failed
    one only `with_error` (the chat shows it in full above the details)."""
    bits = [b for b in (m.model, m.engine) if b]
    if m.decode_tokens_per_s:
        bits.append(f"{m.decode_tokens_per_s:.1f} tokens/s")
    if m.status == "stopped":
        bits.append("stopped")
    elif m.status == "failed":
        bits.append("failed" + (f": {m.error}" if m.error and with_error else ""))
    elif m.cut_off:
        bits.append("cut off at the length limit")
    return " · ".join(bits)


def to_markdown(conv: Conversation, messages: list[StoredMessage]) -> str:
    out = [f"# {conv.title}", "", f"*Exported {_when(time.time())}; started {_when(conv.created_at)}.*", ""]
    if conv.system_prompt:
        out += [f"> System prompt: {conv.system_prompt}", ""]
    for m in messages:
        head = f"## {_ROLE.get(m.role, m.role)}"
        details = answer_details(m) if m.role == "assistant" else ""
        out += [head + (f" ({details})" if details else ""), ""]
        if m.thinking.strip():  # collapsed, as in the chat
            out += ["<details><summary>Thinking</summary>", "", m.thinking.strip(), "", "</details>", ""]
        out += [m.content.rstrip(), ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(conv: Conversation, messages: list[StoredMessage]) -> str:
    return json.dumps(
        {
            "format": EXPORT_FORMAT,
            "conversation": asdict(conv),
            "messages": [asdict(m) for m in messages],
        },
        ensure_ascii=False,
        indent=2,
    )


def write_export(path: Path, conv: Conversation, messages: list[StoredMessage]) -> None:
    """Markdown for .md, JSON for .json; written to a temp file then renamed."""
    text = to_json(conv, messages) if path.suffix.lower() == ".json" else to_markdown(conv, messages)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
