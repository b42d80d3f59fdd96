"""A model's own chat template, read from its file without loading it, and what it says
about thinking: whether the model reasons (a larger answer budget) and which Thinking
control its settings offer."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from assistant.core.gguf_meta import read_gguf
from assistant.core.types import Message
from assistant.engines import templates
from assistant.engines import thinking as th
from assistant.errors import AssistantError


@lru_cache(maxsize=64)
def _read(path: str, mtime: float) -> str | None:
    p = Path(path)
    try:
        if p.is_file():
            return read_gguf(p).chat_template or None
        jinja = p / "chat_template.jinja"
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        for name in ("chat_template.json", "tokenizer_config.json"):
            f = p / name
            if f.is_file():
                value = json.loads(f.read_text(encoding="utf-8")).get("chat_template")
                if isinstance(value, list):  # named templates
                    value = {t.get("name"): t.get("template") for t in value if isinstance(t, dict)}.get("default")
                if isinstance(value, str):
                    return value
    except (OSError, ValueError, AttributeError, AssistantError):
        return None
    return None


def model_template(path: Path | str, override: str | None = None) -> str | None:
    """The template the model renders with: the override, else its own (None if unknown)."""
    if override:
        return override
    p = Path(path)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        return None
    return _read(str(p), mtime)


def is_reasoning(path: Path | str | None, override: str | None = None) -> bool:
    return path is not None and th.detect_format(model_template(path, override)) is not None


def thinking_control(path: Path | str, override: str | None = None) -> str | None:
    """"toggle", "effort" or None: the Thinking control the model's settings offer."""
    return th.thinking_control(model_template(path, override))


def thinking_default(path: Path | str, override: str | None = None) -> str | None:
    """What the model does unless told: "on" / "off" for a toggle, "medium" for gpt-oss."""
    source = model_template(path, override)
    control = th.thinking_control(source)
    if control == "effort":
        return "medium"
    if control != "toggle" or source is None:
        return None
    # Qwen3 thinks unless enable_thinking is false; Gemma 4 only when it is true
    msgs = [Message("user", "hi")]
    try:
        same = templates.render(source, msgs) == templates.render(source, msgs, enable_thinking=True)
    except AssistantError:
        return "on"
    return "on" if same else "off"
