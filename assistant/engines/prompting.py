"""From messages to the prompt pieces an engine tokenizes: the model's chat template,
its thinking family and Thinking setting, and special tokens kept out of message text.

Shared by the llama.cpp and MLX engines. A last message from the assistant means
"continue this answer": the prompt is the turn before it plus what it had written
(thinking included), and the model writes on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from assistant.core.types import Chunk, GenParams, Message, ToolCall
from assistant.engines import thinking as th
from assistant.engines.templates import ChatTemplate
from assistant.errors import GrammarError
from assistant.tools.formats import CallStream, ToolFormat, for_template
from assistant.tools.formats.base import tool_name
from assistant.tools.formats.generic import GenericFormat


class AnswerStream(th.ThinkingStream):
    """The thinking splitter, then (when the request has tools) the call splitter on the
    answer: a call's text never shows as answer text. After `flush`, `tool_calls` holds the
    calls (they go on the answer's final chunk) and `tool_error` why a call that began
    could not be read (its text then came out as answer text)."""

    def __init__(self, fmt: th.ThinkFormat | None, calls: CallStream | None = None, **kw: bool) -> None:
        super().__init__(fmt, **kw)
        self.calls = calls
        self.tool_calls: list[ToolCall] = []
        self.tool_error: str | None = None

    def feed(self, text: str) -> Chunk | None:
        chunk = super().feed(text)
        if chunk is None or self.calls is None:
            return chunk
        chunk.text = self.calls.feed(chunk.text)
        return chunk if chunk.text or chunk.thinking else None

    def flush(self) -> Chunk | None:
        chunk = super().flush()
        if self.calls is None:
            return chunk
        if chunk is not None:
            chunk.text = self.calls.feed(chunk.text)
        text, self.tool_calls, self.tool_error = self.calls.finish()
        chunk = chunk or Chunk()
        chunk.text += text
        return chunk if chunk.text or chunk.thinking else None

    def finish(self, last: Chunk) -> None:
        """The calls on the answer's final chunk (finish_reason "tool_calls" when it ended by itself)."""
        if self.tool_calls:
            last.tool_calls = self.tool_calls
            if last.finish_reason == "stop" and not last.stop_sequence:
                last.finish_reason = "tool_calls"
        last.tool_error = self.tool_error


@dataclass
class Prompt:
    pieces: list[tuple[str, bool]]  # (text, is_markup): only markup is parsed for special tokens
    stream: th.ThinkingStream  # splits what the model writes next
    # tools: the grammar of the calls and its lazy triggers (empty: from the first token)
    grammar: str | None = None
    triggers: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.pieces)


def chosen_tools(params: GenParams) -> list[dict[str, Any]]:
    """The tools the answer may call: all of them, or the one tool_choice names."""
    if params.tool_choice in ("auto", "required"):
        return params.tools
    chosen = [t for t in params.tools if tool_name(t) == params.tool_choice]
    if not chosen:
        raise GrammarError(f"tool_choice names “{params.tool_choice}”, which is not one of the tools.",
                           "Name one of the tools, or use auto / required / none.")
    return chosen


class ChatFormat:
    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        self.template = ChatTemplate(source, bos_token=bos_token, eos_token=eos_token)
        self.think = th.detect_format(source)
        self.control = th.thinking_control(source)
        self.tool_format: ToolFormat = for_template(source)

    @property
    def source(self) -> str:
        return self.template.source

    @property
    def markers(self) -> tuple[str, ...]:
        return th.marker_texts(self.think)

    def build(
        self,
        messages: list[Message],
        params: GenParams | None,
        find_specials: Callable[[str], Iterable[str]],
    ) -> Prompt:
        extra: dict[str, Any] = dict(th.template_variables(self.control, params.thinking if params else None))
        tools = params is not None and bool(params.tools) and params.tool_choice != "none"
        if any(m.tool_calls or m.role == "tool" for m in messages):  # history with calls, as the family writes it
            messages = self.tool_format.prepare(messages)
        if tools:
            assert params is not None
            if isinstance(self.tool_format, GenericFormat):  # the template knows no tools: the system prompt says them
                messages = self.tool_format.system_messages(messages, params.tools, params.parallel_tool_calls)
            else:
                extra.update(self.tool_format.template_variables(params.tools))
        last = messages[-1] if messages else None
        cont = last is not None and last.role == "assistant"
        head = messages[:-1] if cont else messages
        pieces = self.template.render_segments(head, find_specials, **extra)
        text = "".join(t for t, _ in pieces)
        calls = self.tool_format.stream() if tools else None
        if cont and last is not None:
            pieces.append((th.prefill(self.think, text, last.thinking, last.content), True))
            return Prompt(pieces, AnswerStream(self.think, calls, start_thinking=not last.content,
                                               start_answer=bool(last.content)))
        opens = th.opens_thinking(text, self.think)
        prompt = Prompt(pieces, AnswerStream(self.think, calls, start_thinking=opens))
        if tools:
            assert params is not None
            # a named tool is called once (a forced call, as OpenAI's named tool_choice)
            parallel = params.parallel_tool_calls and params.tool_choice in ("auto", "required")
            prompt.grammar = self.tool_format.grammar(chosen_tools(params), parallel)
            if params.tool_choice == "auto":
                prompt.triggers = self.tool_format.triggers()
            elif opens and self.think is not None and self.think.close == "</think>":  # a forced call after the thinking the prompt opened
                prompt.grammar = after_thinking(prompt.grammar, self.think.close)
        return prompt


def after_thinking(grammar: str, close: str) -> str:
    """A call grammar that first lets the model think and close its thinking block."""
    import json
    import re

    body = re.sub(r"^root ::= ", "call-root ::= ", grammar, count=1, flags=re.M)
    return (f"root ::= thinking {json.dumps(close)} [ \\t\\n]* call-root\n"
            f"thinking ::= ( [^<] | \"<\" [^/] | \"</\" [^t] )*\n" + body)
