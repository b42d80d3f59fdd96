"""The cloud engine when servers misbehave, as real ones do: 403, 404 and 5xx answers,
an error event in the middle of a stream, a stream that ends without its final event, a
model list that fails or comes back empty; and the "openai" provider's own request shape
(max_completion_tokens), seen by a server that records what it was sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from support.anthropic_server import AnthropicServer
from support.openai_server import OpenAIServer

from assistant.core.types import Chunk, GenParams, Message
from assistant.engines.cloud import CloudEngine
from assistant.errors import AssistantError, EngineError

KEY = "sk-ant-test-errors-0123456789"
OKEY = "sk-test-errors-abcdef0123456789"
HI = [Message("user", "one two three four five six")]


@pytest.fixture(scope="module")
def claude() -> Iterator[AnthropicServer]:
    with AnthropicServer(KEY) as server:
        yield server


@pytest.fixture
def server(claude: AnthropicServer) -> AnthropicServer:
    claude.reset()
    return claude


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(OKEY) as s:
        yield s


def _anthropic(server: AnthropicServer) -> CloudEngine:
    return CloudEngine("anthropic", "claude-test-1", KEY, base_url=server.base_url, max_retries=0)


def _run(engine: CloudEngine, params: GenParams | None = None) -> tuple[str, Chunk | None, AssistantError | None]:
    text, final = "", None
    try:
        for c in engine.stream_chat(HI, params or GenParams(max_tokens=50), threading.Event()):
            text += c.text
            if c.done:
                final = c
    except AssistantError as exc:
        return text, final, exc
    return text, final, None


@pytest.mark.parametrize(
    ("status", "kind", "says", "hint"),
    [
        (403, "permission_error", "may not use this model or request (403)", "permissions"),
        (404, "not_found_error", "does not know the model “claude-test-1” (404)", "another model"),
        (500, "api_error", "had a server error (500)", "Try again"),
        (529, "overloaded_error", "had a server error (529)", "Try again"),
    ],
)
def test_error_answers_in_plain_words(server: AnthropicServer, status: int, kind: str, says: str, hint: str) -> None:
    server.fail_next = [(status, kind, "the provider's own words")]
    text, final, err = _run(_anthropic(server))
    assert isinstance(err, EngineError) and text == "" and final is None
    assert says in err.message and hint in err.hint
    assert KEY not in err.message + err.hint


def test_an_error_event_mid_stream_keeps_the_partial_answer(server: AnthropicServer) -> None:
    server.error_event_after = 3
    text, final, err = _run(_anthropic(server))
    assert text == "You said: one two"  # what came before the error
    assert isinstance(err, EngineError) and "stopped the answer with an error" in err.message and "Overloaded" in err.message
    assert err.hint.startswith("The partial answer was kept")


def test_a_stream_that_ends_without_its_final_event(server: AnthropicServer) -> None:
    server.end_early_after = 2
    text, final, err = _run(_anthropic(server))
    assert text == "You said: one"
    # no message_stop: that is not a complete answer, whatever the transport says
    assert isinstance(err, EngineError) and "lost mid-answer" in err.message
    assert final is None


def test_a_failing_model_list(server: AnthropicServer) -> None:
    server.fail_next = [(500, "api_error", "boom")]
    with pytest.raises(EngineError, match=r"had a server error \(500\)"):
        _anthropic(server).list_models()
    assert _anthropic(server).list_models() == ["claude-test-1", "claude-test-2"]  # and then it recovers


def test_an_empty_model_list_body_is_a_plain_error(openai_server: OpenAIServer) -> None:
    openai_server.models_body = b""  # a proxy that answers 200 with nothing
    engine = CloudEngine("openai-compatible", "gpt-test", OKEY, base_url=openai_server.base_url, max_retries=0)
    with pytest.raises(EngineError) as info:
        engine.list_models()
    assert "Expecting value" not in info.value.message  # no parser text
    assert "OpenAI-compatible" in info.value.message


def test_the_openai_provider_sends_max_completion_tokens(openai_server: OpenAIServer) -> None:
    engine = CloudEngine("openai", "gpt-test", OKEY, base_url=openai_server.base_url, max_retries=0)
    text, final, err = _run(engine, GenParams(max_tokens=3, temperature=0.2, seed=5))
    assert err is None and text == "You said: one two"
    body = openai_server.last_body
    assert body is not None
    assert body["max_completion_tokens"] == 3 and "max_tokens" not in body  # OpenAI deprecated max_tokens
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True} and body["seed"] == 5
    assert final is not None and final.finish_reason == "length" and final.usage is not None
    assert final.usage.completion_tokens == 3


def test_openai_compatible_servers_get_max_tokens(openai_server: OpenAIServer) -> None:
    engine = CloudEngine("openai-compatible", "gpt-test", OKEY, base_url=openai_server.base_url, max_retries=0)
    _run(engine, GenParams(max_tokens=4))
    body = openai_server.last_body
    assert body is not None and body["max_tokens"] == 4 and "max_completion_tokens" not in body
