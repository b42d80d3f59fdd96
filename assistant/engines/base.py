"""The engine interface (its data types live in core/types.py).

Engines know nothing of Qt. Cancel is a threading.Event set from any thread and
checked between tokens.
"""

from __future__ import annotations

import threading
from typing import Iterator, Protocol, runtime_checkable

from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef
from assistant.errors import GrammarError, PromptTooLongError


@runtime_checkable
class Engine(Protocol):
    name: str  # "llama.cpp", "mlx"

    @property
    def context_length(self) -> int: ...

    @property
    def backend(self) -> str:  # "CPU", "CUDA", "Metal", "MLX"
        ...

    def load(self, model: ModelRef, options: LoadOptions) -> None: ...

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the rendered prompt for these messages takes."""
        ...

    def stream_chat(
        self, messages: list[Message], params: GenParams, cancel: threading.Event
    ) -> Iterator[Chunk]: ...

    def unload(self) -> None: ...


def reusable_prefix(cached: list[int], tokens: list[int]) -> int:
    """How many leading tokens of `tokens` the cache already holds, leaving at least
    one to evaluate (its logits give the first answer token)."""
    n = 0
    for a, b in zip(cached, tokens):
        if a != b:
            break
        n += 1
    return min(n, len(tokens) - 1)


def ensure_prompt_fits(n_tokens: int, n_ctx: int) -> None:
    """A prompt must leave room for at least one answer token."""
    if n_tokens + 1 > n_ctx:
        raise PromptTooLongError(
            f"The prompt is {n_tokens} tokens, but this model's context window is {n_ctx} tokens.",
            "Shorten the message, start a new chat, or raise the context length in the model's settings.",
            limit=n_ctx,
            needed=n_tokens,
        )


def refuse_grammar(params: GenParams, engine: str) -> None:
    """An engine that cannot hold an answer to a grammar (structured output) says so, rather
    than answering in free text as if it had."""
    if params.grammar is not None:
        raise GrammarError(f"{engine} cannot hold an answer to a format (structured output, JSON).",
                           "Use a GGUF model (llama.cpp) for structured output.")
