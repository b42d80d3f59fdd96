"""Cloud models (OpenAI, Anthropic, any OpenAI-compatible server) behind the Engine interface.

Through the official SDKs, each given an httpx client from `network.httpx_client`, so
every request lands in the network record and Offline mode refuses it before any
connection. The SDKs retry 429s, 5xx and connection failures themselves
(`max_retries`, honouring retry-after).

The API key is the caller's (keys.py reads the keyring). It lives in a private
attribute and the SDK client only: no message, repr or log line written here holds
it, and provider error texts are never shown verbatim, because some of them quote
part of the key ("Incorrect API key provided: sk-...").

Token counts before a request are estimates (about 4 characters a token): the
providers' tokenizers are not local. Usage after a request is the provider's own,
or the same estimate when a server sends none (llama.cpp's server does not stream it).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from assistant import network
from assistant.core.types import Chunk, FinishReason, GenParams, LoadOptions, Message, ModelRef, Timings, Usage
from assistant.engines import cloud_tools
from assistant.engines.base import refuse_grammar
from assistant.engines.cloud_limits import CHARS_PER_TOKEN, DEFAULT_CONTEXT, KNOWN_CONTEXT, context_for, estimate_tokens
from assistant.engines.thinking import THINK, ThinkingSplitter
from assistant.errors import AssistantError, EngineError, NetworkBlockedError

log = logging.getLogger(__name__)
__all__ = ["CHARS_PER_TOKEN", "DEFAULT_CONTEXT", "KNOWN_CONTEXT", "PROVIDERS", "CloudEngine", "context_for", "estimate_tokens"]

PROVIDERS: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "openai-compatible": "OpenAI-compatible",
}
# explicit, so an OPENAI_BASE_URL / ANTHROPIC_BASE_URL in the environment cannot
# quietly send the key elsewhere
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}

_TOKENS_PER_MESSAGE = 4  # role and separators
# an image, as the providers bill a large one (OpenAI high detail ~765-1105, Anthropic up to ~1600)
IMAGE_TOKENS = 1000

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "max_tokens": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
}

_KEYLIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*.]{4,}|[A-Za-z0-9_\-]{32,})")


class CloudEngine:
    name = "cloud"

    def __init__(
        self,
        provider: str,
        model: str,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 60,
        max_retries: int = 2,
    ) -> None:
        if provider not in PROVIDERS:
            raise EngineError(
                f"Unknown cloud provider “{provider}”.",
                "Choose OpenAI, Anthropic or an OpenAI-compatible server in Settings → Cloud.",
            )
        self._provider = provider
        self._label = PROVIDERS[provider]
        if provider == "openai-compatible" and not base_url:
            raise EngineError(
                "An OpenAI-compatible server needs its address.",
                "Enter the server's base URL (for example http://127.0.0.1:8080/v1) in Settings → Cloud.",
            )
        if not api_key and provider != "openai-compatible":
            raise EngineError(f"No {self._label} API key is set.", "Add one in Settings → Cloud.")
        self._model = self._check_model(model)
        self._key = api_key
        self._base_url = base_url or DEFAULT_BASE_URLS[provider]
        self._timeout_s = float(timeout_s)
        self._max_retries = int(max_retries)
        self._sdk: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CloudEngine(provider={self._provider!r}, model={self._model!r}, base_url={self._base_url!r})"

    # ------------------------------------------------------------ Engine interface

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def backend(self) -> str:
        return self._label

    @property
    def context_length(self) -> int:
        return context_for(self._model)

    def load(self, model: ModelRef | None = None, options: LoadOptions | None = None) -> None:
        """Nothing to load in the cloud: only checks (and takes) the model id."""
        if model is not None and model.name:
            self._model = self._check_model(model.name)

    def unload(self) -> None:
        with self._lock:
            sdk, self._sdk = self._sdk, None
        if sdk is not None:
            sdk.close()

    def count_tokens(self, messages: list[Message]) -> int:
        """An estimate (characters / 4 plus a little per message, IMAGE_TOKENS an image): no local tokenizer."""
        return sum(estimate_tokens(m.content) + _TOKENS_PER_MESSAGE + IMAGE_TOKENS * len(m.images) for m in messages)

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self._refuse_offline()
        refuse_grammar(params, "A cloud or private-server model")
        if self._provider == "anthropic":
            return self._stream_anthropic(messages, params, cancel)
        return self._stream_openai(messages, params, cancel)

    # ------------------------------------------------------------ models and key

    def list_models(self) -> list[str]:
        """The model ids the provider offers to this key."""
        self._refuse_offline()
        with network.purpose(f"{self._label}: model list"):
            try:
                return [m.id for m in self._client().models.list()]
            except Exception as exc:
                raise self._translate(exc) from None

    def check_key(self) -> None:
        """One cheap request (the model list); raises a plain-words error when the key fails."""
        self._refuse_offline()
        with network.purpose(f"{self._label}: key check"):
            try:
                if self._provider == "anthropic":
                    self._client().models.list(limit=1)
                else:
                    self._client().models.list()
            except Exception as exc:
                raise self._translate(exc) from None

    # ------------------------------------------------------------ OpenAI

    def _stream_openai(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        kwargs: dict[str, Any] = {
            "model": self._model,
            "messages": cloud_tools.openai_messages(messages),  # never thinking
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        # OpenAI deprecated max_tokens (the o-series refuse it); other servers may know only max_tokens
        kwargs["max_completion_tokens" if self._provider == "openai" else "max_tokens"] = params.max_tokens
        if params.stop:
            kwargs["stop"] = params.stop[:4]  # OpenAI takes at most 4
        if params.seed is not None:
            kwargs["seed"] = params.seed
        kwargs.update(cloud_tools.openai_tool_kwargs(params))

        def open_stream() -> Any:
            return self._client().chat.completions.create(**kwargs)

        def events(stream: Any, state: _State) -> Iterator[tuple[str, str]]:
            split = ThinkingSplitter(THINK)  # servers that leave <think> in the text
            for event in stream:
                if event.usage is not None:
                    state.usage = Usage(
                        prompt_tokens=event.usage.prompt_tokens or 0,
                        completion_tokens=event.usage.completion_tokens or 0,
                        cached_tokens=getattr(event.usage.prompt_tokens_details, "cached_tokens", None) or 0,
                    )
                    state.provider_usage = True
                for choice in event.choices or []:
                    delta = choice.delta
                    if delta is not None and getattr(delta, "tool_calls", None):
                        state.openai_calls.add(delta.tool_calls)
                    if delta is not None:
                        # reasoning_content: DeepSeek, llama.cpp's server, vLLM; reasoning: OpenRouter and others
                        reasoning = _extra(delta, "reasoning_content") or _extra(delta, "reasoning")
                        thinking, text = split.feed(delta.content) if delta.content else ("", "")
                        if reasoning or thinking or text:
                            yield text, (reasoning if isinstance(reasoning, str) else "") + thinking
                    if choice.finish_reason:
                        state.finish = _FINISH.get(choice.finish_reason, "stop")
                yield "", ""  # a chance to check cancel between events without text
            yield split.flush()[::-1]

        return self._run(messages, open_stream, events, cancel)

    # ------------------------------------------------------------ Anthropic

    def _stream_anthropic(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        turns = cloud_tools.anthropic_turns(messages)  # the API wants turns to alternate
        kwargs: dict[str, Any] = {
            "model": self._model,
            "messages": turns,
            "max_tokens": params.max_tokens,
            "stream": True,
            # no temperature / top_p: the Messages API version of anthropic SDK 2.x takes
            # no sampling parameters (create() refuses them)
        }
        if system:
            kwargs["system"] = system
        if params.stop:
            kwargs["stop_sequences"] = params.stop
        kwargs.update(cloud_tools.anthropic_tool_kwargs(params))

        def open_stream() -> Any:
            return self._client().messages.create(**kwargs)

        def events(stream: Any, state: _State) -> Iterator[tuple[str, str]]:
            for event in stream:
                kind = event.type
                if kind == "message_start":
                    u = event.message.usage
                    cache_read = getattr(u, "cache_read_input_tokens", None) or 0
                    cache_write = getattr(u, "cache_creation_input_tokens", None) or 0
                    # input_tokens excludes the cached part: the prompt is all three
                    state.usage = Usage(
                        prompt_tokens=(u.input_tokens or 0) + cache_read + cache_write,
                        completion_tokens=u.output_tokens or 0,
                        cached_tokens=cache_read,
                    )
                    state.provider_usage = True
                elif kind == "content_block_start":
                    state.anthropic_calls.start(event.index, event.content_block)
                elif kind == "content_block_delta":
                    if state.anthropic_calls.delta(event.index, event.delta):
                        yield "", ""
                        continue
                    kind = getattr(event.delta, "type", "")
                    if kind in ("text_delta", "thinking_delta"):  # thinking blocks: extended thinking
                        yield (event.delta.text, "") if kind == "text_delta" else ("", event.delta.thinking)
                        continue
                elif kind == "message_delta":
                    if event.delta.stop_reason:
                        state.finish = _FINISH.get(event.delta.stop_reason, "stop")
                    if event.usage is not None and event.usage.output_tokens is not None:
                        state.usage.completion_tokens = event.usage.output_tokens  # cumulative
                elif kind == "message_stop":
                    state.ended = True
                yield "", ""

        return self._run(messages, open_stream, events, cancel)

    # ------------------------------------------------------------ shared streaming loop

    def _run(self, messages: list[Message], open_stream: Any, events: Any, cancel: threading.Event) -> Iterator[Chunk]:
        self._client()  # made (and the SDK imported) before the clock starts: not the provider's time
        t0 = time.perf_counter()
        state = _State()
        if cancel.is_set():
            yield Chunk(done=True, finish_reason="cancelled", usage=state.usage, timings=Timings())
            return
        with network.purpose(f"{self._label}: chat"):
            try:
                stream = open_stream()
            except Exception as exc:
                raise self._translate(exc) from None
        first = last = 0.0
        n_pieces = 0
        text_seen = False
        try:
            try:
                for piece, thinking in events(stream, state):
                    if piece or thinking:
                        last = time.perf_counter()
                        if not first:
                            first = last
                        n_pieces += 1
                        text_seen = True
                        yield Chunk(text=piece, thinking=thinking)
                    if cancel.is_set():
                        state.finish = "cancelled"
                        break
            except Exception as exc:
                raise self._translate(exc, mid_stream=True, partial=text_seen) from None
        finally:
            stream.close()  # on cancel, error or an abandoned generator: free the connection

        if state.finish is None and not state.ended:
            # the body ended cleanly but without the provider's last event: a proxy cut it
            raise self._lost(text_seen)
        if not state.provider_usage:
            state.usage = Usage(prompt_tokens=self.count_tokens(messages), completion_tokens=n_pieces)
        end = time.perf_counter()
        timings = Timings(
            ttft_s=(first or end) - t0,
            prompt_s=(first or end) - t0,  # the provider's prompt time is not known: network included
            decode_s=(last - first) if first else 0.0,
            total_s=end - t0,
        )
        calls = state.openai_calls.calls() + state.anthropic_calls.calls()
        yield Chunk(done=True, finish_reason=state.finish or "stop", usage=state.usage, timings=timings,
                    tool_calls=calls or None)

    # ------------------------------------------------------------ clients and errors

    def _client(self) -> Any:
        with self._lock:
            if self._sdk is None:
                http = network.httpx_client(purpose=f"{self._label}: chat", timeout=self._timeout_s)
                common: dict[str, Any] = {
                    "api_key": self._key or "none",  # the SDK insists on one; local servers ignore it
                    "base_url": self._base_url,
                    "timeout": self._timeout_s,
                    "max_retries": self._max_retries,
                    "http_client": http,
                }
                if self._provider == "anthropic":
                    import anthropic

                    self._sdk = anthropic.Anthropic(**common)
                else:
                    import openai

                    self._sdk = openai.OpenAI(**common)
            return self._sdk

    def _refuse_offline(self) -> None:
        if network.is_offline():
            host, port = _host_port(self._base_url)
            # a line in the record, as a refused request through the client would leave
            network.record(network.NetworkEntry(
                time.time(), host, port, network.current_purpose() or f"{self._label}: chat",
                outcome=network.BLOCKED,
            ))
            raise NetworkBlockedError(
                f"Offline mode is on: {self._label} ({host}) was not contacted.",
                "Turn off Offline mode in Settings to use the cloud model, or answer with a local model.",
            )

    @staticmethod
    def _check_model(model: str) -> str:
        model = (model or "").strip()
        if not model:
            raise EngineError("No cloud model is chosen.", "Pick a model in Settings → Cloud.")
        return model

    def _lost(self, partial: bool) -> EngineError:
        return EngineError(
            f"The connection to {self._label} was lost mid-answer.",
            "The partial answer was kept. Retry, or retry locally." if partial else "Retry, or retry locally.",
        )

    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "[hidden]")
        return _KEYLIKE.sub("[hidden]", text)

    def _translate(self, exc: BaseException, *, mid_stream: bool = False, partial: bool = False) -> AssistantError:
        """An SDK or transport error in plain words. Never quotes the key (see the module doc)."""
        cause: BaseException | None = exc
        while cause is not None:  # Offline mode turned on mid-request comes back wrapped
            if isinstance(cause, AssistantError):
                return cause
            cause = cause.__cause__ or cause.__context__
        label = self._label
        status = getattr(exc, "status_code", None)
        kinds = {c.__name__ for c in type(exc).__mro__}
        log.debug("%s request failed: %s (status %s)", label, type(exc).__name__, status)
        if kinds & {"APITimeoutError", "TimeoutException"}:
            return EngineError(
                f"{label} did not answer within {self._timeout_s:g} s.",
                ("The partial answer was kept. " if partial else "")
                + "Try again, raise the timeout in Settings → Cloud, or retry locally.",
            )
        if kinds & {"APIConnectionError", "TransportError", "StreamError"}:
            if mid_stream:
                return self._lost(partial)
            where = f" at {self._base_url}" if self._provider == "openai-compatible" else ""
            return EngineError(
                f"Could not connect to {label}{where}.",
                "Check the internet connection"
                + (" and the server address" if where else "")
                + ", or retry locally.",
            )
        # an error event inside the stream: no status (OpenAI SDK) or the stream's own 200 (Anthropic SDK)
        if mid_stream and kinds & {"APIError"} and (status is None or status < 400):
            detail = self._provider_message(exc)
            return EngineError(
                f"{label} stopped the answer with an error" + (f": {detail}" if detail else "."),
                ("The partial answer was kept. " if partial else "") + "Retry, or retry locally.",
            )
        if status is None:
            if not kinds & {"OpenAIError", "AnthropicError"}:
                # not the SDK's (so no key in it): a bug here or in the SDK, worth its traceback
                log.error("unexpected error from the %s request", label, exc_info=exc)
            return EngineError(
                f"The {label} request failed: {network.describe_failure(exc)}.",
                "Retry, or retry locally. The log has the details.",
            )
        if status == 401:
            return EngineError(
                f"The {label} API key was refused (401).",
                "Check the key in Settings → Cloud, or create a new one.",
            )
        if status == 403:
            return EngineError(
                f"The {label} API key may not use this model or request (403).",
                "Check the key's permissions with the provider, or pick another model in Settings → Cloud.",
            )
        if status == 404:
            return EngineError(
                f"{label} does not know the model “{self._model}” (404).",
                "Pick another model in Settings → Cloud.",
            )
        if status == 429:
            return EngineError(
                f"The {label} rate limit was reached.",
                "Wait a minute and try again, or retry locally.",
            )
        detail = self._provider_message(exc)
        if status >= 500:
            return EngineError(
                f"{label} had a server error ({status}).",
                "Try again in a moment, or retry locally.",
            )
        return EngineError(
            f"{label} refused the request ({status})" + (f": {detail}" if detail else "."),
            "Check the model and settings in Settings → Cloud, or retry locally.",
        )

    def _provider_message(self, exc: BaseException) -> str:
        body = getattr(exc, "body", None)
        message = ""
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict):
                message = str(inner.get("message") or "")
        message = " ".join(self._scrub(message).split())
        return message[:200]


def _extra(delta: Any, name: str) -> Any:
    """A field the SDK's types do not declare (servers' reasoning fields)."""
    value = getattr(delta, name, None)
    if value is None:
        value = (getattr(delta, "model_extra", None) or {}).get(name)
    return value


class _State:
    """What one stream has told so far."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.provider_usage = False
        self.finish: FinishReason | None = None
        self.ended = False  # Anthropic's message_stop
        self.openai_calls = cloud_tools.OpenAICalls()
        self.anthropic_calls = cloud_tools.AnthropicCalls()


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.hostname or url, port
