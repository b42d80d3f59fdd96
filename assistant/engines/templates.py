"""Chat templates: the model's own (from its metadata) or a fallback by architecture,
always rendered in Jinja's immutable sandbox.

A model file is untrusted input: a GGUF chat template once ran arbitrary code in
llama-cpp-python (CVE-2024-34359). The sandbox refuses attribute access to Python
internals, and such a template fails with ChatTemplateError; nothing runs.
"""

from __future__ import annotations

import datetime
import json
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from assistant.core.types import Message
from assistant.errors import ChatTemplateError

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


def _raise_exception(message: str) -> None:
    raise ChatTemplateError(f"The model's chat template refused the conversation: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


@lru_cache(maxsize=8)
def _compile(source: str) -> Any:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.filters["tojson"] = _tojson
    try:
        return env.from_string(source)
    except TemplateError as exc:
        raise ChatTemplateError(
            f"The model's chat template is not valid Jinja ({exc}).",
            "Set a chat template override for this model in its settings.",
        ) from exc


def render(
    source: str,
    messages: list[Message],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    template = _compile(source)
    try:
        return template.render(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=add_generation_prompt,
            bos_token=bos_token,
            eos_token=eos_token,
            tools=None,
        )
    except SecurityError as exc:
        raise ChatTemplateError(
            "The model's chat template tried to run code and was blocked. "
            "The model file may be malicious.",
            "Delete this model, or set a chat template override for it in its settings.",
        ) from exc
    except ChatTemplateError:
        raise
    except (TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ChatTemplateError(
            f"The model's chat template failed: {exc}",
            "Set a chat template override for this model in its settings.",
        ) from exc
