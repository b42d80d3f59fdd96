"""Export a conversation as Markdown (for people) or JSON (for programs).

A chat's pictures go with it: copied into a folder beside the export
(`<name>-images/`, numbered in the chat's order) and named from it, as Markdown image
links under their message and as an "images" list in the JSON. The data folder's copies
(named by their hash) are never pointed at: the export works on another computer.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.chat.images import StoredImage
from assistant.chat.records import Conversation, StoredMessage

Images = Mapping[int, Sequence[StoredImage]]  # a message's pictures, by its id

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


def image_files(images: Images | None, folder: str) -> dict[tuple[int, int], str]:
    """Where each picture goes in the export: (message id, position) -> "folder/1-cat.png"."""
    out: dict[tuple[int, int], str] = {}
    for mid in sorted(images or {}):
        for i, im in enumerate((images or {})[mid]):
            stem = re.sub(r"[^\w.-]+", "_", Path(im.name).stem if im.name else im.sha256[:12]).strip("._")[:60]
            out[(mid, i)] = f"{folder}/{len(out) + 1}-{stem or 'image'}{im.path.suffix}"
    return out


def to_markdown(conv: Conversation, messages: list[StoredMessage], images: Images | None = None,
                folder: str = "images") -> str:
    out = [f"# {conv.title}", "", f"*Exported {_when(time.time())}; started {_when(conv.created_at)}.*", ""]
    files = image_files(images, folder)
    if conv.system_prompt:
        out += [f"> System prompt: {conv.system_prompt}", ""]
    for m in messages:
        head = f"## {_ROLE.get(m.role, m.role)}"
        details = answer_details(m) if m.role == "assistant" else ""
        out += [head + (f" ({details})" if details else ""), ""]
        if m.thinking.strip():  # collapsed, as in the chat
            out += ["<details><summary>Thinking</summary>", "", m.thinking.strip(), "", "</details>", ""]
        out += [m.content.rstrip(), ""]
        pictures = (images or {}).get(m.id, ())
        if pictures:
            out += [f"![{im.name or 'image'}]({files[(m.id, i)]})" for i, im in enumerate(pictures)] + [""]
    return "\n".join(out).rstrip() + "\n"


def to_json(conv: Conversation, messages: list[StoredMessage], images: Images | None = None,
            folder: str = "images") -> str:
    files = image_files(images, folder)

    def message(m: StoredMessage) -> dict[str, Any]:
        d = asdict(m)
        pictures = (images or {}).get(m.id, ())
        if pictures:
            d["images"] = [{"file": files[(m.id, i)], "name": im.name, "format": im.format, "width": im.width,
                            "height": im.height, "sha256": im.sha256} for i, im in enumerate(pictures)]
        return d

    return json.dumps(
        {
            "format": EXPORT_FORMAT,
            "conversation": asdict(conv),
            "messages": [message(m) for m in messages],
        },
        ensure_ascii=False,
        indent=2,
    )


def write_export(path: Path, conv: Conversation, messages: list[StoredMessage], images: Images | None = None) -> None:
    """Markdown for .md, JSON for .json; written to a temp file then renamed. The pictures
    are copied into `<stem>-images/` beside it first (a picture gone from the data folder
    is left out of the folder, its link kept)."""
    folder = f"{path.stem}-images"
    files = image_files(images, folder)
    if files:
        (path.parent / folder).mkdir(exist_ok=True)
        for (mid, i), rel in files.items():
            src = (images or {})[mid][i].path
            if src.is_file():
                shutil.copyfile(src, path.parent / rel)
    as_json = path.suffix.lower() == ".json"
    text = to_json(conv, messages, images, folder) if as_json else to_markdown(conv, messages, images, folder)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
