"""The typed request bodies: every parameter of the official SDKs is listed as honoured,
ignored or refused (a new one fails here, not silently in a client), refusals say what
to change, unknown fields are refused, and docs/server-api.md agrees with the models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from anthropic.types import message_count_tokens_params, message_create_params
from openai.types import completion_create_params
from openai.types.chat import completion_create_params as chat_params

from assistant.server.anthropic_protocol import CountTokensRequest, MessagesRequest
from assistant.server.protocol import (
    BadRequest,
    ChatCompletionRequest,
    CompletionRequest,
    logit_bias,
    parse,
    support_of,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "server-api.md"


def sdk_fields(*classes: Any) -> set[str]:
    out: set[str] = set()
    for cls in classes:
        for k in cls.__mro__:
            out |= set(getattr(k, "__annotations__", {}))
    return out


@pytest.mark.parametrize("model,sdk", [
    (ChatCompletionRequest, sdk_fields(chat_params.CompletionCreateParamsStreaming)),
    (CompletionRequest, sdk_fields(completion_create_params.CompletionCreateParamsStreaming)),
    (MessagesRequest, sdk_fields(message_create_params.MessageCreateParamsStreaming)),
    (CountTokensRequest, sdk_fields(message_count_tokens_params.MessageCountTokensParams)),
])
def test_every_sdk_parameter_is_listed_with_what_the_server_does(model: Any, sdk: set[str]) -> None:
    support = support_of(model)
    assert sdk - set(support) == set(), "parameters of the SDK this server does not list"
    assert set(support.values()) <= {"honoured", "ignored", "refused"} and "" not in support.values()


def test_the_doc_lists_every_field() -> None:
    doc = DOC.read_text()
    for model in (ChatCompletionRequest, CompletionRequest, MessagesRequest, CountTokensRequest):
        for name, what in support_of(model).items():
            assert f"| `{name}` | {what} |" in doc, name


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("extra,words", [
    ({"functions": [{"name": "f"}]}, "send tools and tool_choice instead"),
    ({"response_format": "json"}, "response_format"),
    ({"audio": {"voice": "x"}}, "leave audio out"),
    ({"top_logprobs": 2}, "logprobs"),
    ({"n": 0}, "“n”"),
    ({"temperature": 3}, "“temperature”"),
    ({"frobnicate": True}, "Unknown field “frobnicate”"),
])
def test_refusals_name_the_field_and_what_to_change(extra: dict[str, Any], words: str) -> None:
    with pytest.raises(BadRequest) as e:
        parse(ChatCompletionRequest, CHAT | extra)
    assert words in str(e.value) and e.value.hint


def test_neutral_values_of_refused_fields_pass_and_ignored_ones_are_taken() -> None:
    req = parse(ChatCompletionRequest, CHAT | {"tools": [], "response_format": {"type": "text"}, "user": "u1",
                                               "metadata": {"a": "b"}, "store": False, "modalities": ["text"]})
    assert req.user == "u1"
    with pytest.raises(BadRequest, match="max_tokens"):
        parse(MessagesRequest, {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    m = parse(MessagesRequest, {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}],
                                "metadata": {"user_id": "x"}, "top_k": 5, "thinking": {"type": "disabled"}})
    assert m.top_k == 5 and m.thinking_switch == "off"


def test_structured_output_is_honoured_not_refused() -> None:
    """response_format and output_config hold the answer to a grammar (server/structured.py)."""
    assert support_of(ChatCompletionRequest)["response_format"] == "honoured"
    assert support_of(CompletionRequest)["response_format"] == "honoured"
    assert support_of(MessagesRequest)["output_config"] == "honoured"
    req = parse(ChatCompletionRequest, CHAT | {"response_format": {"type": "json_object"}})
    assert req.response_format == {"type": "json_object"}


def test_logit_bias_keys_are_token_ids() -> None:
    assert logit_bias({"15": 5, "7": -100}) == {15: 5.0, 7: float("-inf")}
    with pytest.raises(BadRequest, match="not a token id"):
        logit_bias({"hello": 1})
    with pytest.raises(BadRequest, match="out of range"):
        logit_bias({"1": 101})
