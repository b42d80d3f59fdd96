"""Tool-call formats, one per model family, told from the chat template (`for_template`)."""

from __future__ import annotations

from assistant.tools.formats.base import CallParseError, CallStream, ToolFormat
from assistant.tools.formats.command_r import CommandRFormat
from assistant.tools.formats.deepseek import DeepSeekFormat, DeepSeekV31Format
from assistant.tools.formats.gemma4 import Gemma4Format
from assistant.tools.formats.generic import GenericFormat
from assistant.tools.formats.glm import GlmFormat
from assistant.tools.formats.harmony import HarmonyFormat
from assistant.tools.formats.hermes import HermesFormat
from assistant.tools.formats.kimi import KimiFormat
from assistant.tools.formats.lfm2 import Lfm2Format
from assistant.tools.formats.llama3 import Llama3Format
from assistant.tools.formats.mistral import MistralFormat, MistralJsonFormat
from assistant.tools.formats.phi4_mini import Phi4MiniFormat
from assistant.tools.formats.qwen_xml import QwenXmlFormat

# checked in order: the first whose detect() is true is the model's format; Generic last.
# The more specific first: Qwen's XML and GLM also write <tool_call> (Hermes's marker),
# Mistral's [ARGS] form also writes [TOOL_CALLS] (the JSON list form's).
FORMATS: list[type[ToolFormat]] = [
    HarmonyFormat,
    QwenXmlFormat,
    GlmFormat,
    HermesFormat,
    MistralFormat,
    MistralJsonFormat,
    DeepSeekV31Format,
    DeepSeekFormat,
    CommandRFormat,
    KimiFormat,
    Gemma4Format,
    Llama3Format,
    Lfm2Format,
    Phi4MiniFormat,
    GenericFormat,
]


def for_template(source: str | None) -> ToolFormat:
    """The format a chat template is written for; Generic when it knows no tools."""
    for cls in FORMATS:
        if cls is not GenericFormat and source and cls.detect(source):
            return cls()
    return GenericFormat()


__all__ = ["CallParseError", "CallStream", "FORMATS", "ToolFormat", "for_template"]
