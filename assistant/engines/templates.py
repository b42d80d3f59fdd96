"""Chat templates: the model's own (from its metadata) or a fallback by architecture,
always rendered in Jinja's immutable sandbox (template_env.py: the environment
transformers gives templates, with limits).

A model file is untrusted input: a GGUF chat template once ran arbitrary code in
llama-cpp-python (CVE-2024-34359). The sandbox refuses attribute access to Python
internals, and such a template fails with ChatTemplateError; nothing runs.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from assistant.core.template_syntax import invalid
from assistant.core.types import Message, ToolCall
from assistant.engines.template_env import ChatTemplateEnvironment
from assistant.errors import ChatTemplateError, EngineError

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

GEMMA = (
    "{{ bos_token }}"
    "{% set first_user_prefix = '' %}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set first_user_prefix = messages[0]['content'] + '\n\n' %}"
    "{% set loop_messages = messages[1:] %}"
    "{% else %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') "
    "+ message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

PHI3 = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

MISTRAL = (
    "{{ bos_token }}"
    "{% set sys = messages[0]['content'] + '\n\n' if messages and messages[0]['role'] == 'system' else '' %}"
    "{% for message in messages if message['role'] != 'system' %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + (sys if loop.first else '') + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)

# general.architecture -> fallback template when the file carries none
FALLBACKS: dict[str, str] = {
    "gemma": GEMMA,
    "gemma2": GEMMA,
    "gemma3": GEMMA,
    "gemma3n": GEMMA,
    "llama": LLAMA3,  # refined by vocabulary in pick_fallback (Llama 2 / Mistral use [INST])
    "phi3": PHI3,
    "qwen2": CHATML,
    "qwen3": CHATML,
    "qwen3moe": CHATML,
}


def pick_fallback(architecture: str, vocab_has: "set[str] | None" = None) -> str:
    if architecture == "llama" and vocab_has is not None and "<|eot_id|>" not in vocab_has:
        return MISTRAL if "[INST]" in vocab_has else CHATML
    return FALLBACKS.get(architecture, CHATML)


_OVERRIDE_HINT = "Set a chat template override for this model in its settings."


@lru_cache(maxsize=16)
def _compile(source: str) -> Any:
    env = ChatTemplateEnvironment()
    try:
        return env, env.from_string(source)
    except (TemplateError, SyntaxError) as exc:  # SyntaxError: Jinja's Python for `{% break %}` outside a loop
        raise invalid(exc) from exc
    except RecursionError as exc:  # thousands of nested blocks
        raise ChatTemplateError("The model's chat template is nested too deeply to read.", _OVERRIDE_HINT) from exc


# vision: where an image goes in the prompt (libmtmd's default marker; the engine puts the
# image's tokens there). A message with images gives its content as parts, each image a
# text part holding the marker, as llama-server passes image parts to templates; a
# template that reads only string content gets the markers before the text instead.
MEDIA_MARKER = "<__media__>"


def image_places(pieces: list[tuple[str, bool]], paths: list[str]) -> Iterator[tuple[str, bool, bool]]:
    """A rendered prompt's pieces split at each image place (the marker, in markup only),
    in order: (text, is_markup, False) for text, (path, True, True) for the next image.
    EngineError when the places and the chat's images do not match (the template's doing)."""
    left = list(paths)
    for text, markup in pieces:
        for k, part in enumerate(text.split(MEDIA_MARKER) if markup else [text]):
            if k > 0:
                if not left:
                    raise EngineError("The prompt has more image places than the chat has images.",
                                      "Set a chat template override for this model in its settings.")
                yield left.pop(0), True, True
            if part:
                yield part, markup, False
    if left:
        raise EngineError(f"The model's chat template left out {len(left)} of the chat's images.",
                          "Set a chat template override for this model in its settings.")


def image_content(m: Message, as_parts: bool = True) -> Any:
    if not as_parts:
        return MEDIA_MARKER * len(m.images) + "\n" + m.content
    return [{"type": "text", "text": MEDIA_MARKER} for _ in m.images] + [{"type": "text", "text": m.content}]


def message_dicts(messages: list[Message], image_parts: bool = True) -> list[dict[str, Any]]:
    """Messages as templates expect them. Thinking goes only where there is some, under
    both names templates read (`reasoning_content`: Qwen, DeepSeek, Gemma 4; `thinking`:
    gpt-oss), so a template that tests for the key does not find an empty one."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d: dict[str, Any] = {"role": m.role, "content": image_content(m, image_parts) if m.images else m.content}
        if m.role == "assistant" and m.thinking:
            d["reasoning_content"] = m.thinking
            d["thinking"] = m.thinking
        if m.role == "assistant" and m.tool_calls:
            d["tool_calls"] = [tool_call_dict(c) for c in m.tool_calls]
        if m.role == "tool":
            d["tool_call_id"] = m.tool_call_id
            if m.name:
                d["name"] = m.name
        out.append(d)
    return out


def tool_call_dict(call: ToolCall) -> dict[str, Any]:
    """A call as templates read it: OpenAI's shape with the arguments as an object (the
    templates write them with `tojson`, as llama.cpp and transformers pass them)."""
    try:
        arguments: Any = json.loads(call.arguments)
    except ValueError:
        arguments = call.arguments
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def render(
    source: str,
    messages: list[Message],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
    image_parts: bool = True,
    **extra: Any,
) -> str:
    """Render as transformers' apply_chat_template would. `extra` values that are None are
    left undefined (tools, enable_thinking, reasoning_effort), as there."""
    env, template = _compile(source)
    variables: dict[str, Any] = {
        "messages": message_dicts(messages, image_parts),
        "add_generation_prompt": add_generation_prompt,
        "bos_token": bos_token,
        "eos_token": eos_token,
    }
    # a copy: a template may add to its lists (list.append), never to the caller's
    variables.update({k: copy.deepcopy(v) for k, v in extra.items() if v is not None})
    try:
        return str(env.render_limited(template, variables))
    except SecurityError as exc:
        raise ChatTemplateError(
            "The model's chat template tried to run code and was blocked. "
            "The model file may be malicious.",
            "Delete this model, or set a chat template override for it in its settings.",
        ) from exc
    except ChatTemplateError:
        raise
    except RecursionError as exc:
        raise ChatTemplateError("The model's chat template recursed too deeply and was stopped.", _OVERRIDE_HINT) from exc
    except Exception as exc:  # the template is the model's code: whatever it raises is its failure
        raise ChatTemplateError(f"The model's chat template failed: {str(exc).rstrip('.') or type(exc).__name__}.", _OVERRIDE_HINT) from exc


def merge_system(messages: list[Message]) -> list[Message]:
    """The system prompt folded into the first user turn, for templates that refuse the
    system role (Gemma 2), as their model cards suggest."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    for i, m in enumerate(rest):
        if m.role == "user":
            rest[i] = replace(m, content=f"{system}\n\n{m.content}")
            return rest
    return [Message("user", system), *rest]


# A message's special-token text is swapped for a placeholder before rendering and put
# back as plain text after, so only the template's own markup is parsed for special tokens.
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


class ChatTemplate:
    """One model's template, checked once: it compiles, it renders a first turn, and
    whether it takes a system message (else the system prompt joins the first user turn)."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        self.source = source
        self.bos_token, self.eos_token = bos_token, eos_token
        self.render([Message("user", "hi")])  # a broken or hostile template fails here, at load
        try:
            self._render_raw([Message("system", "s"), Message("user", "hi")])
            self.system_ok = True
        except ChatTemplateError:
            self.system_ok = False

    def _render_raw(self, messages: list[Message], add_generation_prompt: bool = True, **extra: Any) -> str:
        n_images = sum(len(m.images) for m in messages)
        if n_images:  # every image's marker, or the template reads string content only
            try:
                text = render(self.source, messages, bos_token=self.bos_token, eos_token=self.eos_token,
                              add_generation_prompt=add_generation_prompt, **extra)
                # a template that prints the parts list as it is ("[{'type': 'text', ...") reads strings only
                if text.count(MEDIA_MARKER) == n_images and "'type': 'text'" not in text and '"type": "text"' not in text:
                    return text
            except ChatTemplateError:
                pass
        return render(self.source, messages, bos_token=self.bos_token, eos_token=self.eos_token,
                      add_generation_prompt=add_generation_prompt, image_parts=False, **extra)

    def prepare(self, messages: list[Message]) -> list[Message]:
        return messages if getattr(self, "system_ok", True) else merge_system(messages)

    def render(self, messages: list[Message], add_generation_prompt: bool = True, **extra: Any) -> str:
        return self._render_raw(self.prepare(messages), add_generation_prompt, **extra)

    def render_segments(
        self,
        messages: list[Message],
        find_specials: Callable[[str], Iterable[str]],
        **extra: Any,
    ) -> list[tuple[str, bool]]:
        """The prompt as (text, is_markup) pieces. Markup may hold special tokens; the
        other pieces are special-token text that a message carried and must stay text."""
        messages = self.prepare(messages)
        found: list[str] = []
        for m in messages:
            for text in (m.content, m.thinking):
                found += [s for s in find_specials(text) if s and s not in found] if text else []
                if MEDIA_MARKER in text and MEDIA_MARKER not in found:  # typed by the user: text, not an image
                    found.append(MEDIA_MARKER)
        if not found:
            return [(self._render_raw(messages, **extra), True)]
        found.sort(key=len, reverse=True)

        def protect(text: str) -> str:
            for i, special in enumerate(found):
                text = text.replace(special, f"\ue000{i}\ue001")
            return text

        safe = [replace(m, content=protect(m.content), thinking=protect(m.thinking)) for m in messages]
        out: list[tuple[str, bool]] = []
        pos = 0
        rendered = self._render_raw(safe, **extra)
        for match in _PLACEHOLDER.finditer(rendered):
            if match.start() > pos:
                out.append((rendered[pos : match.start()], True))
            out.append((found[int(match.group(1))], False))
            pos = match.end()
        if pos < len(rendered):
            out.append((rendered[pos:], True))
        return out
