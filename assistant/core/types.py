"""The shared vocabulary of the app: model references, messages, sampling parameters,
chunks of an answer, usage and timings.

A floor below engines, library, chat and ui: everything may import it, it imports
nothing of the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ModelFormat = Literal["gguf", "mlx", "remote"]  # remote: a model on one of the user's own servers
FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]  # tool_calls: the answer ended in calls


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
    # power-user options (core/kv_cache.py has the choices; engines/llamacpp_options.py applies them)
    flash_attn: str = "auto"  # auto / on / off
    kv_cache_type: str = "f16"  # f16 / q8_0 / q4_0
    n_batch: int = 512  # tokens per prompt-evaluation batch
    prompt_lookup: str = "auto"  # draft tokens from the chat's own text (auto: while they are accepted) / off
    # answers decoded together (llama.cpp: sequences sharing one KV cache of n_ctx cells;
    # MLX: answered in turn). 1 while the API server is off (factory.prepare): N slots make
    # the SWA layers' cache N windows long, which a lone chat deep in its context pays for
    parallel: int = 1
    # vision: the model's projector file (an mmproj GGUF; llama.cpp) that lets it see the
    # images on messages; None: text only (a message with images is then refused)
    mmproj: str | None = None


@dataclass
class GenParams:
    """Sampling parameters: the one type and the one set of defaults. Settings keep the
    app-wide values in this type; a model's own settings override single fields."""

    max_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    # 1.0 is off, as in llama.cpp and llama-server: many model cards ask for none, and
    # the penalties sampler scans the whole vocabulary (262k tokens for Gemma 3) per token
    repeat_penalty: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    # OpenAI's penalties (llama.cpp's penalties sampler over the last 64 tokens, as llama-server)
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict)  # token id -> added to its logit
    # log-probabilities of the answer's tokens: None off; N >= 0 with the N likeliest alternatives
    logprobs: int | None = None
    # a reasoning model's thinking: "on" / "off" (templates with enable_thinking),
    # "low" / "medium" / "high" (gpt-oss's reasoning effort); None: the model's default
    thinking: str | None = None
    # a GBNF grammar (root rule "root") the answer must follow (structured output: JSON,
    # a JSON Schema); None: free text. Engines that cannot hold an answer to it refuse it
    grammar: str | None = None
    # lazy grammar (tool calls): the model writes freely until the text matches one of these
    # regular expressions (llama.cpp's trigger patterns: from the first capture group on, the
    # grammar holds the answer); empty: the grammar holds it from the first token
    grammar_triggers: list[str] = field(default_factory=list)
    # function calling: the tools in OpenAI's shape ({"type": "function", "function": {name,
    # description, parameters}}); empty: none. tool_choice: "auto" / "none" / "required" /
    # a function's name (that one call is forced)
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str = "auto"
    parallel_tool_calls: bool = True


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool the model asked for: the function's name and its arguments as
    JSON text (as OpenAI sends them: a client parses them itself)."""

    name: str
    arguments: str = "{}"
    id: str = ""


@dataclass
class Message:
    role: str  # system / user / assistant / tool
    content: str
    # an assistant turn's thinking; history leaves it empty (it is not sent back), the
    # engines read it on a last assistant message: continue the answer it belongs to
    thinking: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)  # an assistant turn's calls
    tool_call_id: str = ""  # a tool message: the call it answers
    name: str = ""  # a tool message: the tool's name
    # image files shown to the model with this message, before its text (the app keeps
    # them in its content-hashed store); only a model loaded with a projector can see them
    images: list[str] = field(default_factory=list)


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
    # forward passes during decode, when fewer than the tokens: drafts kept by prompt lookup
    # come several to a pass (0: one pass a token)
    decode_steps: int = 0

    def decode_tokens_per_s(self, completion_tokens: int) -> float:
        # the first token comes out of prompt evaluation; the rest are decode steps
        steps = completion_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0

    def decode_steps_per_s(self, completion_tokens: int) -> float:
        """The model's own decode rate, without the tokens that drafts added for free."""
        if not self.decode_steps:
            return self.decode_tokens_per_s(completion_tokens)
        return self.decode_steps / self.decode_s if self.decode_s > 0 else 0.0


@dataclass
class TokenLogprob:
    """One answer token's log-probability, and the likeliest alternatives at its place."""

    token: str
    logprob: float
    top: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Chunk:
    text: str = ""  # the answer
    thinking: str = ""  # a reasoning model's thinking, apart from the answer
    done: bool = False
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    stop_sequence: str | None = None  # on the final chunk: the stop string that ended the answer
    logprobs: list[TokenLogprob] | None = None  # the tokens of this chunk's text, when asked for
    tool_calls: list[ToolCall] | None = None  # calls the model made (finish_reason "tool_calls")
    # a call the model began but that could not be read: its raw text is in `text`, this says why
    tool_error: str | None = None
