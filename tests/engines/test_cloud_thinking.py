"""The cloud engine separates thinking: OpenAI-compatible servers' reasoning fields or
<think> text, Anthropic's thinking blocks. Thinking is never sent."""

from __future__ import annotations

import threading

import pytest
from support.anthropic_server import AnthropicServer
from support.openai_server import OpenAIServer

from assistant.core.types import GenParams, Message
from assistant.engines.cloud import CloudEngine

KEY = "sk-ant-test-2b4d6f8a0c1e3a5c7e9f"
# a history whose earlier answer has thinking attached: it must not travel
HISTORY = [Message("user", "Hi"), Message("assistant", "Hello.", thinking="SECRET-THOUGHT"), Message("user", "Capital of France?")]


def collect(engine: CloudEngine) -> tuple[str, str, str | None]:
    chunks = list(engine.stream_chat(HISTORY, GenParams(max_tokens=50), threading.Event()))
    return "".join(c.thinking for c in chunks), "".join(c.text for c in chunks), chunks[-1].finish_reason


@pytest.mark.parametrize("deltas", [
    [{"role": "assistant", "content": ""}, {"reasoning_content": "Think"}, {"reasoning_content": "ing."},
     {"content": "Paris"}, {"content": "."}],
    [{"reasoning": "Think"}, {"reasoning": "ing."}, {"content": "Paris."}],
    [{"content": "<th"}, {"content": "ink>Thinking."}, {"content": "</think>\n\nPar"}, {"content": "is."}],
])
def test_openai_compatible_reasoning_is_thinking(deltas: list[dict]) -> None:
    with OpenAIServer() as server:
        server.deltas = deltas
        engine = CloudEngine("openai-compatible", "deepseek-reasoner", "", base_url=server.base_url)
        try:
            assert collect(engine) == ("Thinking.", "Paris.", "stop")
        finally:
            engine.unload()
        sent = server.last_body
    assert sent is not None and "SECRET-THOUGHT" not in str(sent)
    assert all(set(m) == {"role", "content"} for m in sent["messages"])


def test_anthropic_thinking_blocks_are_thinking() -> None:
    with AnthropicServer(KEY) as server:
        server.thinking = ["The user ", "asks."]
        engine = CloudEngine("anthropic", "claude-test-1", KEY, base_url=server.base_url)
        try:
            thinking, text, finish = collect(engine)
        finally:
            engine.unload()
        sent = server.last_body
    assert thinking == "The user asks." and text.startswith("You said:") and finish == "stop"
    assert sent is not None and "SECRET-THOUGHT" not in str(sent)
