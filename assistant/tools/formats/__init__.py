"""Tool-call formats, one per model family, told from the chat template (`for_template`)."""

from __future__ import annotations

from assistant.tools.formats.base import CallParseError, CallStream, ToolFormat
from assistant.tools.formats.generic import GenericFormat
from assistant.tools.formats.hermes import HermesFormat

# checked in order: the first whose detect() is true is the model's format; Generic last
FORMATS: list[type[ToolFormat]] = [HermesFormat, GenericFormat]


def for_template(source: str | None) -> ToolFormat:
    """The format a chat template is written for; Generic when it knows no tools."""
    for cls in FORMATS:
        if cls is not GenericFormat and source and cls.detect(source):
            return cls()
    return GenericFormat()


__all__ = ["CallParseError", "CallStream", "FORMATS", "ToolFormat", "for_template"]
