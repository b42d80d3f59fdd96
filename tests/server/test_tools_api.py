"""Function calling through the real server (engine in its own process, the test GGUF)
with the official SDKs and a real agent framework: a forced call validates against its
tool's schema, whole and streamed; history with calls and results goes back to the model;
what cannot be honoured is a 400 that says what to change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import openai
import pytest
from support.api_server import running

from assistant.library.installed import model_ref_for_path
from assistant.server.runner import ApiServer
from assistant.settings import ServerSettings, Settings

TOKEN = "tools-token-" + "q7" * 12
MODEL = "gemma-3-270m-q4_k_m"
WEATHER = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
           "required": ["city", "unit"], "additionalProperties": False}
ADD = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"],
       "additionalProperties": False}
TOOLS: Any = [
    {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "add", "description": "Add two integers", "parameters": ADD}},
]
SCHEMAS = {"get_weather": WEATHER, "add": ADD}
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    settings = Settings(context_length=2048, n_threads=2, n_gpu_layers=0, server=ServerSettings(parallel=2, queue=4))
    with running(model_ref_for_path(gemma_path), settings, tmp_path_factory.mktemp("models"), TOKEN) as srv:
        yield srv


def client(srv: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url, api_key=TOKEN, max_retries=0, timeout=120)


def valid(name: str, arguments: str) -> None:
    jsonschema.validate(json.loads(arguments), SCHEMAS[name])


def test_required_gives_valid_calls_whole_and_streamed(server: ApiServer) -> None:
    c = client(server)
    for seed in (1, 2, 3):
        r = c.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required", seed=seed,
                                      max_tokens=160, parallel_tool_calls=False)
        choice = r.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        calls = choice.message.tool_calls or []
        assert len(calls) == 1 and calls[0].type == "function" and calls[0].id.startswith("call_")
        valid(calls[0].function.name, calls[0].function.arguments)  # type: ignore[union-attr]
    deltas, finish, content = [], None, ""
    for event in c.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, tool_choice="required", seed=4,
                                           max_tokens=160, parallel_tool_calls=False, stream=True):
        for ch in event.choices:
            deltas += ch.delta.tool_calls or []
            content += ch.delta.content or ""
            finish = ch.finish_reason or finish
    assert finish == "tool_calls" and content == "" and len(deltas) == 1
    d = deltas[0]
    assert d.index == 0 and d.id and d.function and d.function.name in SCHEMAS
    valid(d.function.name, d.function.arguments or "")


def test_a_named_function_and_the_round_trip(server: ApiServer) -> None:
    c = client(server)
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Add 2 and 3."}], tools=TOOLS,
                                  tool_choice={"type": "function", "function": {"name": "add"}}, seed=2, max_tokens=120,
                                  parallel_tool_calls=False)
    calls = r.choices[0].message.tool_calls or []
    assert calls and all(call.function.name == "add" for call in calls)  # type: ignore[union-attr]
    call = calls[0]
    valid("add", call.function.arguments)  # type: ignore[union-attr]
    history: Any = [{"role": "user", "content": "Add 2 and 3."},
                    {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
                    {"role": "tool", "tool_call_id": call.id, "content": "5"}]
    r2 = c.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, seed=1, max_tokens=8)
    assert r2.choices[0].finish_reason in ("stop", "length", "tool_calls")
    # the call and the result reached the prompt: it is longer than the question alone by them
    n_plain = c.chat.completions.create(model=MODEL, messages=history[:1], tools=TOOLS, max_tokens=1).usage
    assert r2.usage and n_plain and r2.usage.prompt_tokens > n_plain.prompt_tokens + 10


def test_tools_lengthen_the_prompt_and_none_leaves_them_out(server: ApiServer) -> None:
    c = client(server)
    plain = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=1).usage
    tools = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=1, tools=TOOLS).usage
    none = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=1, tools=TOOLS, tool_choice="none").usage
    assert plain and tools and none
    assert tools.prompt_tokens > plain.prompt_tokens + 50 and none.prompt_tokens == plain.prompt_tokens


def test_anthropic_tool_use_whole_and_streamed(server: ApiServer) -> None:
    a = anthropic.Anthropic(base_url=server.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0, timeout=120)
    tools: Any = [{"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER}]
    msg = a.messages.create(model=MODEL, max_tokens=160, messages=ASK, tools=tools,
                            tool_choice={"type": "any", "disable_parallel_tool_use": True})
    assert msg.stop_reason == "tool_use"
    uses = [b for b in msg.content if b.type == "tool_use"]
    assert len(uses) >= 1 and uses[0].name == "get_weather" and uses[0].id.startswith("toolu_")
    jsonschema.validate(uses[0].input, WEATHER)
    history: Any = [*ASK, {"role": "assistant", "content": [u.model_dump() for u in uses]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u.id, "content": "18 C"} for u in uses]}]
    follow = a.messages.create(model=MODEL, max_tokens=4, messages=history, tools=tools)
    assert follow.usage.input_tokens > msg.usage.input_tokens
    with a.messages.stream(model=MODEL, max_tokens=160, messages=ASK, tools=tools,
                           tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}) as s:
        final = s.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert final.stop_reason == "tool_use" and len(uses) == 1
    jsonschema.validate(uses[0].input, WEATHER)  # the SDK put the input_json_delta back together


@pytest.mark.parametrize("extra,words", [
    ({"tools": [{"type": "custom", "custom": {"name": "f"}}]}, "only function tools"),
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "not one of the tools"),
    ({"tool_choice": "required"}, "there are no tools"),
    ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, "letters, digits"),
    ({"tools": TOOLS + TOOLS[:1]}, "used twice"),
    ({"tools": TOOLS, "response_format": {"type": "json_object"}}, "not both"),
])
def test_what_cannot_be_honoured_is_a_400_that_says_what_to_change(server: ApiServer, extra: Any, words: str) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client(server).chat.completions.create(model=MODEL, messages=ASK, max_tokens=4, **extra)
    assert words in str(e.value)


def test_anthropic_server_tools_are_refused(server: ApiServer) -> None:
    a = anthropic.Anthropic(base_url=server.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as e:
        a.messages.create(model=MODEL, max_tokens=4, messages=ASK,
                          tools=[{"type": "web_search_20250305", "name": "web_search"}])  # type: ignore[list-item]
    assert "server tools" in str(e.value)


def test_a_real_agent_framework_completes_a_tool_round_trip(server: ApiServer) -> None:
    """The OpenAI Agents SDK against this server: the model must call the tool (required);
    the SDK parses the call, runs the tool and takes its output; then the whole exchange
    (the call and its output, in the SDK's own items) goes back to the model, which answers.
    A 270M base model shown a call tends to call again under tool_choice auto, so the answer
    after the result comes from an agent without tools rather than a loop of calls."""
    from agents import Agent, ModelSettings, OpenAIChatCompletionsModel, RunConfig, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # nothing leaves the machine: the SDK's tracing would send to OpenAI
    seen: list[tuple[int, int]] = []

    @function_tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        seen.append((a, b))
        return a + b

    model = OpenAIChatCompletionsModel(model=MODEL, openai_client=openai.AsyncOpenAI(
        base_url=server.url, api_key=TOKEN, max_retries=0, timeout=120))
    settings = ModelSettings(tool_choice="required", max_tokens=80, temperature=0.0, seed=3, parallel_tool_calls=False)
    calc = Agent(name="calc", instructions="Use the add tool.", tools=[add], model=model, model_settings=settings,
                 tool_use_behavior="stop_on_first_tool")
    run = RunConfig(tracing_disabled=True)
    talk = Agent(name="talk", instructions="Say the result in words.", model=model,
                 model_settings=ModelSettings(max_tokens=12, temperature=0.0, seed=3))

    async def both() -> tuple[Any, Any]:  # one event loop: the SDK's client is bound to it
        first = await Runner.run(calc, "What is 2 + 3?", max_turns=2, run_config=run)
        return first, await Runner.run(talk, first.to_input_list(), max_turns=1, run_config=run)

    result, follow = asyncio.run(both())
    assert len(seen) == 1 and all(isinstance(x, int) for x in seen[0])
    kinds = [item.type for item in result.new_items]
    assert kinds == ["tool_call_item", "tool_call_output_item"]
    assert result.final_output == str(sum(seen[0]))  # the tool's own output
    assert isinstance(follow.final_output, str) and follow.raw_responses[0].usage.input_tokens > 0


@pytest.mark.parametrize("provider", ["openai-compatible", "anthropic"])
def test_the_cloud_engine_calls_tools_in_each_api(server: ApiServer, provider: str) -> None:
    """CloudEngine (the cloud and the user's own servers) with tools, against this real
    server in both API shapes: the calls come back whole, and the history with a call and
    its result is sent in the API's own form (the server would refuse it otherwise)."""
    import threading

    from assistant.core.types import GenParams, Message, ToolCall
    from assistant.engines.cloud import CloudEngine

    base = server.url if provider == "openai-compatible" else server.url.removesuffix("/v1")
    engine = CloudEngine(provider, MODEL, TOKEN, base_url=base, max_retries=0)
    params = GenParams(max_tokens=160, seed=2, tools=TOOLS, tool_choice="get_weather", parallel_tool_calls=False)
    chunks = list(engine.stream_chat([Message("user", "Weather in Paris?")], params, threading.Event()))
    last = chunks[-1]
    assert last.finish_reason == "tool_calls" and last.tool_calls and len(last.tool_calls) == 1
    call = last.tool_calls[0]
    assert call.name == "get_weather" and call.id
    valid(call.name, call.arguments)
    history = [Message("user", "Weather in Paris?"), Message("assistant", "", tool_calls=[ToolCall(call.name, call.arguments, call.id)]),
               Message("tool", "18 C", tool_call_id=call.id, name=call.name)]
    again = list(engine.stream_chat(history, GenParams(max_tokens=4, tools=TOOLS), threading.Event()))
    assert again[-1].done and again[-1].usage and again[-1].usage.prompt_tokens > 0
