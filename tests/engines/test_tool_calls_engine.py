"""Function calling on the real engine (llama.cpp, the test GGUF): a 270M base model has no
tool training, so a call that parses and validates against its schema can only come from
the grammar holding it. Gemma 3's template knows no tools (the Generic format: tools in the
system prompt, `{"tool_calls": [...]}`); a copy of the model with Qwen 2.5's real template
calls in Qwen's own `<tool_call>` format."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.gguf_edit import with_string_metadata

from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, ToolCall
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.errors import GrammarError

TEMPLATES = Path(__file__).parent / "templates"
WEATHER = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
           "required": ["city", "unit"], "additionalProperties": False}
ADD = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "add", "description": "Add two integers", "parameters": ADD}},
]
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
ASK = [Message("user", "What is the weather in Paris?")]


def answer(engine: LlamaCppEngine, params: GenParams, messages: list[Message] = ASK) -> list[Chunk]:
    return list(engine.stream_chat(messages, params, threading.Event()))


def calls_of(chunks: list[Chunk]) -> list[ToolCall]:
    assert all(c.tool_calls is None for c in chunks[:-1])  # calls come on the final chunk only
    return chunks[-1].tool_calls or []


def check_valid(call: ToolCall) -> None:
    jsonschema.validate(json.loads(call.arguments), SCHEMAS[call.name])
    assert call.id.startswith("call_") and len(call.id) > 10


@pytest.fixture(scope="module")
def qwen_engine(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaCppEngine]:
    source = (TEMPLATES / "Qwen-Qwen2.5-7B-Instruct.jinja").read_text()
    path = with_string_metadata(gemma_path, tmp_path_factory.mktemp("qwen") / "qwen-template.gguf",
                                {"tokenizer.chat_template": source})
    engine = LlamaCppEngine()
    engine.load(ModelRef(path, "gguf"), LoadOptions(n_ctx=2048, n_threads=2))
    yield engine
    engine.unload()


def test_required_gives_a_call_that_validates_on_every_seed(gemma_engine: LlamaCppEngine) -> None:
    assert gemma_engine.chat_format is not None and gemma_engine.chat_format.tool_format.name == "generic"
    for seed in range(6):
        chunks = answer(gemma_engine, GenParams(max_tokens=160, seed=seed, tools=TOOLS, tool_choice="required",
                                                parallel_tool_calls=False))
        calls = calls_of(chunks)
        assert chunks[-1].finish_reason == "tool_calls", (seed, "".join(c.text for c in chunks))
        assert len(calls) == 1 and calls[0].name in SCHEMAS
        check_valid(calls[0])
        assert "".join(c.text for c in chunks) == ""  # the call's JSON never shows as answer text


def test_a_named_tool_is_the_one_called(gemma_engine: LlamaCppEngine) -> None:
    for seed in (1, 2, 3):
        chunks = answer(gemma_engine, GenParams(max_tokens=120, seed=seed, tools=TOOLS, tool_choice="add",
                                                parallel_tool_calls=False))
        calls = calls_of(chunks)
        assert [c.name for c in calls] == ["add"]
        check_valid(calls[0])
    with pytest.raises(GrammarError, match="not one of the tools"):
        answer(gemma_engine, GenParams(max_tokens=5, tools=TOOLS, tool_choice="nope"))


def test_the_tools_reach_the_prompt_and_none_leaves_them_out(gemma_engine: LlamaCppEngine) -> None:
    plain = gemma_engine.render_prompt(ASK, GenParams())
    with_tools = gemma_engine.render_prompt(ASK, GenParams(tools=TOOLS))
    assert "get_weather" not in plain and "get_weather" in with_tools and "Add two integers" in with_tools
    assert gemma_engine.render_prompt(ASK, GenParams(tools=TOOLS, tool_choice="none")) == plain
    assert len(gemma_engine.prompt_tokens(ASK, GenParams(tools=TOOLS))) > len(gemma_engine.prompt_tokens(ASK)) + 50


def test_auto_lets_the_model_talk_and_a_lazy_grammar_holds_from_its_trigger(gemma_engine: LlamaCppEngine) -> None:
    free = answer(gemma_engine, GenParams(max_tokens=12, seed=1, temperature=0, tools=TOOLS))
    assert "".join(c.text for c in free) and not calls_of(free) and free[-1].finish_reason == "length"
    # the lazy grammar (llama.cpp's trigger patterns) holds nothing until the answer's text
    # matches a trigger, then all of it from the match on: here a line break, which this
    # model writes soon, triggers a grammar that must end the answer with one exact line
    lazy = GenParams(max_tokens=80, temperature=0, grammar='root ::= "\\n" "{\\"ok\\": true}"', grammar_triggers=["\\n"])
    chunks = answer(gemma_engine, lazy)
    text = "".join(c.text for c in chunks)
    assert chunks[-1].finish_reason == "stop" and text.endswith('\n{"ok": true}'), text
    assert text.count("\n") == 1 and len(text) > len('\n{"ok": true}')  # free text before the trigger
    free_text = "".join(c.text for c in answer(gemma_engine, GenParams(max_tokens=80, temperature=0)))
    assert free_text.startswith(text.split("\n")[0] + "\n")  # untouched until the trigger


def test_qwen_template_calls_in_its_own_format(qwen_engine: LlamaCppEngine) -> None:
    assert qwen_engine.chat_format is not None and qwen_engine.chat_format.tool_format.name == "hermes"
    prompt = qwen_engine.render_prompt(ASK, GenParams(tools=TOOLS))
    assert "<tools>" in prompt and '"name": "get_weather"' in prompt
    for seed in (1, 2, 3):
        chunks = answer(qwen_engine, GenParams(max_tokens=160, seed=seed, tools=TOOLS, tool_choice="required",
                                               parallel_tool_calls=False))
        calls = calls_of(chunks)
        assert chunks[-1].finish_reason == "tool_calls" and len(calls) == 1, "".join(c.text for c in chunks)
        check_valid(calls[0])


def test_a_call_and_its_result_go_back_to_the_model(qwen_engine: LlamaCppEngine) -> None:
    call = ToolCall("get_weather", '{"city": "Paris", "unit": "celsius"}', "call_1")
    history = [*ASK, Message("assistant", "", tool_calls=[call]),
               Message("tool", "18 degrees and sunny", tool_call_id="call_1", name="get_weather")]
    prompt = qwen_engine.render_prompt(history, GenParams(tools=TOOLS))
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}\n</tool_call>' in prompt
    assert "<tool_response>\n18 degrees and sunny\n</tool_response>" in prompt
    chunks = answer(qwen_engine, GenParams(max_tokens=8, seed=1, tools=TOOLS), history)
    assert chunks[-1].done and chunks[-1].finish_reason in ("length", "stop", "tool_calls")


def test_a_call_cut_at_max_tokens_comes_back_as_text_with_the_reason(gemma_engine: LlamaCppEngine) -> None:
    chunks = answer(gemma_engine, GenParams(max_tokens=6, seed=1, tools=TOOLS, tool_choice="required"))
    assert chunks[-1].finish_reason == "length" and not chunks[-1].tool_calls
    assert "".join(c.text for c in chunks).startswith('{"tool_calls"')  # kept, never dropped
    assert chunks[-1].tool_error and "JSON" in chunks[-1].tool_error


def test_tools_with_a_json_format_are_refused(gemma_engine: LlamaCppEngine) -> None:
    with pytest.raises(GrammarError, match="both"):
        answer(gemma_engine, GenParams(max_tokens=5, tools=TOOLS, grammar='root ::= "{}"'))
