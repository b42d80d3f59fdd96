"""The engine interface and the plain data types it speaks.

Engines know nothing of Qt. Cancel is a threading.Event set from any thread and
checked between tokens.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal, Protocol, runtime_checkable

from ..errors import PromptTooLongError

ModelFormat = Literal["gguf", "mlx"]
FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class ModelRef:
    path: Path
    format: ModelFormat
    name: str = ""

    @property
    def display_name(self) -> str:
        return self.name or (self.path.stem if self.format == "gguf" else self.path.name)


@dataclass
class LoadOptions:
    n_ctx: int = 4096
    n_gpu_layers: int = 0  # -1: all layers
    n_threads: int = 0  # 0: engine default (physical cores)
    chat_template: str | None = None  # override the model's own
    seed: int = -1


@dataclass
class GenParams:
    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    seed: int | None = None
    stop: list[str] = field(default_factory=list)


@dataclass
class Message:
    role: str  # system / user / assistant
    content: str


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the previous turn's cache

    @property
    def evaluated_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens


@dataclass
class Timings:
    ttft_s: float = 0.0  # from call to first token
    prompt_s: float = 0.0  # prompt evaluation
    decode_s: float = 0.0  # first token to last token
    total_s: float = 0.0

    def decode_tokens_per_s(self, completion_tokens: int) -> float:
        # the first token comes out of prompt evaluation; the rest are decode steps
        steps = completion_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


@dataclass
class Chunk:
    text: str = ""
    done: bool = False
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    timings: Timings | None = None


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
