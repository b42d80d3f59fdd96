"""The request bodies of the OpenAI API, as typed models (pydantic, as vLLM's protocol.py
and llama-cpp-python's server parse them).

Every field of the API is listed, each marked with what this server does with it:
- honoured: it changes the answer as the API documents;
- ignored: accepted and knowingly without effect (`user`, `metadata`, `store`...: they
  ask for tracking or storage that a private server does not do), said in docs/server-api.md;
- refused: a value other than the neutral one is a 400 that says what to change
  (`audio`, `functions`...).
A field the models do not know is a 400 too (extra="forbid"), so a new field of the
API cannot be accepted and dropped unnoticed; tests/server/test_protocol.py checks the
lists against the official SDKs' own parameter lists.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import AssistantError

HONOURED, IGNORED, REFUSED = "honoured", "ignored", "refused"
MAX_STOPS = 16
MAX_N = 8


class BadRequest(AssistantError):
    """The request body is not what the API documents, or asks for what this server does not do (400)."""


def honoured(default: Any = None, **kw: Any) -> Any:
    return Field(default, json_schema_extra={"support": HONOURED}, **kw)


def ignored(default: Any = None, why: str = "", **kw: Any) -> Any:
    return Field(default, json_schema_extra={"support": IGNORED, "why": why}, **kw)


def refused(default: Any = None, change: str = "", **kw: Any) -> Any:
    """A field this server cannot honour: any value but the neutral one is a 400 saying `change`."""
    return Field(default, json_schema_extra={"support": REFUSED, "change": change}, **kw)


def _a_number(value: Any) -> Any:
    # pydantic's lax mode would take "5" and true as numbers; a client that sends them has a bug
    # worth a 400 (3.0 for an integer stays accepted, as the OpenAI SDK's JSON may send it)
    if isinstance(value, (bool, str)):
        raise ValueError("Input should be a number, not " + ("true/false" if isinstance(value, bool) else "text"))
    return value


Int = Annotated[int, BeforeValidator(_a_number)]
Float = Annotated[float, BeforeValidator(_a_number)]


def support_of(model: type[BaseModel]) -> dict[str, str]:
    """{field: honoured / ignored / refused} (its alias, as clients send it)."""
    out = {}
    for name, f in model.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        out[f.alias or name] = str(extra.get("support", ""))
    return out


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _refuse(self) -> "ApiModel":
        for name, f in type(self).model_fields.items():
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            if extra.get("support") != REFUSED:
                continue
            value = getattr(self, name)
            if value is None or value is False or value == [] or value == {} or self._neutral(name, value):
                continue
            raise ValueError(f"REFUSED:{f.alias or name}:{extra.get('change', '')}")
        return self

    def _neutral(self, name: str, value: Any) -> bool:
        return False


def parse(model: type[ApiModel], body: dict[str, Any]) -> Any:
    """The body as `model`, or a BadRequest that names the field and what to change."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise BadRequest(*_explain(exc)) from None


def _explain(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors(include_url=False)[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ())).lstrip(".")
    msg = str(err.get("msg", ""))
    if "REFUSED:" in msg:
        field, _, change = msg.split("REFUSED:", 1)[1].partition(":")
        return f"“{field}” is not supported by this server.", change or f"Leave “{field}” out."
    if err.get("type") == "extra_forbidden":
        return f"Unknown field “{where}”: this server does not know it.", f"Leave “{where}” out, or check its spelling."
    if err.get("type") == "missing":
        return f"“{where}” is required.", "Add it to the request."
    return f"“{where}”: {msg}.", "Fix that value and send the request again."


Stop = str | list[str] | None


def stops(value: Stop) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    return [s for s in items if s][:MAX_STOPS]


_OLD_FUNCTIONS = "functions and function_call are OpenAI's deprecated form: send tools and tool_choice instead."


class StreamOptions(ApiModel):
    include_usage: bool = honoured(False)
    include_obfuscation: bool | None = ignored(None, "no obfuscation padding is sent")


class SamplingExtras(ApiModel):
    """llama.cpp's own sampling fields, as llama-server and vLLM take them beside OpenAI's."""

    top_k: Int | None = honoured(None, ge=0)
    min_p: Float | None = honoured(None, ge=0, le=1)
    repeat_penalty: Float | None = honoured(None, gt=0)


class _OpenAiCommon(SamplingExtras):
    """The fields /v1/chat/completions and /v1/completions share."""

    model: str = honoured("")
    max_tokens: Int | None = honoured(None, ge=1)
    temperature: Float | None = honoured(None, ge=0, le=2)
    top_p: Float | None = honoured(None, gt=0, le=1)
    n: Int = honoured(1, ge=1, le=MAX_N)
    stop: Stop = honoured(None)
    seed: Int | None = honoured(None)
    stream: bool = honoured(False)
    stream_options: StreamOptions | None = honoured(None)
    presence_penalty: Float = honoured(0.0, ge=-2, le=2)
    frequency_penalty: Float = honoured(0.0, ge=-2, le=2)
    logit_bias: dict[str, Float] | None = honoured(None)
    # text / json_object / json_schema: a grammar holds the answer (server/structured.py);
    # /v1/completions takes it too, as llama-server does
    response_format: dict[str, Any] | None = honoured(None)
    user: str | None = ignored(None, "no per-user tracking or abuse monitoring here")


class ChatCompletionRequest(_OpenAiCommon):
    messages: list[dict[str, Any]] = honoured(..., min_length=1)
    max_completion_tokens: Int | None = honoured(None, ge=1)
    logprobs: bool = honoured(False)
    top_logprobs: Int | None = honoured(None, ge=0, le=20)
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = honoured(None)
    safety_identifier: str | None = ignored(None, "no abuse monitoring here")
    metadata: dict[str, Any] | None = ignored(None, "nothing is stored to tag")
    store: bool | None = ignored(None, "answers are never stored by the server")
    service_tier: str | None = ignored(None, "one tier: this computer")
    prompt_cache_key: str | None = ignored(None, "prefixes are cached per slot anyway")
    prompt_cache_retention: str | None = ignored(None, "prefixes are cached per slot anyway")
    prompt_cache_options: dict[str, Any] | None = ignored(None, "prefixes are cached per slot anyway")
    moderation: Any = ignored(None, "no moderation here")
    # function calling (server/tool_calls.py): the model's own format, held to the tools' schemas
    parallel_tool_calls: bool = honoured(True)
    tools: list[Any] | None = honoured(None)
    tool_choice: Any = honoured(None)
    functions: list[Any] | None = refused(None, _OLD_FUNCTIONS)
    function_call: Any = refused(None, _OLD_FUNCTIONS)
    audio: dict[str, Any] | None = refused(None, "Audio output is not supported: leave audio out.")
    modalities: list[str] | None = refused(None, "Only text is supported: send modalities [\"text\"] or leave it out.")
    prediction: dict[str, Any] | None = refused(None, "Predicted outputs are not supported: leave prediction out.")
    web_search_options: dict[str, Any] | None = refused(None, "There is no web search here: leave web_search_options out.")
    verbosity: str | None = refused(None, "Only the default verbosity (medium) is supported: leave verbosity out.")

    def _neutral(self, name: str, value: Any) -> bool:
        return ((name == "modalities" and value == ["text"])
                or (name == "verbosity" and value == "medium"))

    @model_validator(mode="after")
    def _checks(self) -> "ChatCompletionRequest":
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("REFUSED:top_logprobs:Set “logprobs”: true as well, or leave top_logprobs out.")
        return self


class CompletionRequest(_OpenAiCommon):
    prompt: str | list[str] = honoured(...)
    logprobs: Int | None = honoured(None, ge=0, le=5)
    best_of: int | None = refused(None, "best_of is not supported: leave it out, or ask for n answers and pick.")
    echo: bool | None = refused(None, "echo is not supported: leave it out.")
    suffix: str | None = refused(None, "Fill-in-the-middle (suffix) is not supported: leave it out.")

    def _neutral(self, name: str, value: Any) -> bool:
        return name == "best_of" and value == 1

    @model_validator(mode="after")
    def _one_prompt(self) -> "CompletionRequest":
        if isinstance(self.prompt, list) and len(self.prompt) != 1:
            raise ValueError("REFUSED:prompt:Send one prompt (a string): batches of prompts are not supported.")
        return self

    @property
    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


def logit_bias(raw: dict[str, float] | None) -> dict[int, float]:
    """OpenAI's {"token id": bias -100..100} as llama.cpp's biases (-100 bans the token)."""
    out: dict[int, float] = {}
    for key, bias in (raw or {}).items():
        try:
            token = int(key)
        except ValueError:
            raise BadRequest(f"logit_bias: “{key}” is not a token id.", "Use token ids as the keys.") from None
        if not -100 <= bias <= 100:
            raise BadRequest(f"logit_bias: {bias} for token {token} is out of range.", "Use a bias from -100 to 100.")
        out[token] = float("-inf") if bias <= -100 else float(bias)
    return out
