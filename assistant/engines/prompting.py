"""From messages to the prompt pieces an engine tokenizes: the model's chat template,
its thinking family and Thinking setting, and special tokens kept out of message text.

Shared by the llama.cpp and MLX engines. A last message from the assistant means
"continue this answer": the prompt is the turn before it plus what it had written
(thinking included), and the model writes on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from assistant.core.types import GenParams, Message
from assistant.engines import thinking as th
from assistant.engines.templates import ChatTemplate


@dataclass
class Prompt:
    pieces: list[tuple[str, bool]]  # (text, is_markup): only markup is parsed for special tokens
    stream: th.ThinkingStream  # splits what the model writes next

    @property
    def text(self) -> str:
        return "".join(t for t, _ in self.pieces)


class ChatFormat:
    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        self.template = ChatTemplate(source, bos_token=bos_token, eos_token=eos_token)
        self.think = th.detect_format(source)
        self.control = th.thinking_control(source)

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
        extra = th.template_variables(self.control, params.thinking if params else None)
        last = messages[-1] if messages else None
        cont = last is not None and last.role == "assistant"
        head = messages[:-1] if cont else messages
        pieces = self.template.render_segments(head, find_specials, **extra)
        text = "".join(t for t, _ in pieces)
        if cont and last is not None:
            pieces.append((th.prefill(self.think, text, last.thinking, last.content), True))
            return Prompt(pieces, th.ThinkingStream(self.think, start_thinking=not last.content,
                                                    start_answer=bool(last.content)))
        return Prompt(pieces, th.ThinkingStream(self.think, start_thinking=th.opens_thinking(text, self.think)))
