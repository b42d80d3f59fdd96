"""The real chat templates (tests/engines/templates) pick their family's format, and render
the tools, an assistant turn's calls and a tool's result (what the engine sends a model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.tool_calls import tool

from assistant.core.types import Message, ToolCall
from assistant.engines.templates import render
from assistant.errors import ChatTemplateError
from assistant.tools.formats import FORMATS, for_template

TEMPLATES = Path(__file__).resolve().parents[2] / "engines" / "templates"
FAMILY = {
    "Qwen-Qwen3-0.6B.jinja": "hermes", "Qwen-QwQ-32B.jinja": "hermes", "Qwen-Qwen2.5-7B-Instruct.jinja": "hermes",
    "ibm-granite-granite-4.0.jinja": "hermes",
    "Qwen3.5-4B.jinja": "qwen3-coder", "Qwen3-Coder.jinja": "qwen3-coder", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja": "qwen3-coder",
    "GLM-4.7-Flash.jinja": "glm",
    "meta-llama-Llama-3.1-8B-Instruct.jinja": "llama3", "meta-llama-Llama-3.2-3B-Instruct.jinja": "llama3",
    "meta-llama-Llama-3.3-70B-Instruct.jinja": "llama3",
    "Mistral-Small-3.2-24B-Instruct-2506.jinja": "mistral", "mistralai-Ministral-3-14B-Reasoning-2512.jinja": "mistral",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": "mistral-json",
    "openai-gpt-oss-120b.jinja": "harmony",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": "deepseek", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": "deepseek",
    "deepseek-ai-DeepSeek-V3.1.jinja": "deepseek-v3.1",
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja": "command-r7b",
    "moonshotai-Kimi-K2.jinja": "kimi-k2", "Kimi-K2-Thinking.jinja": "kimi-k2",
    "google-gemma-4-31B-it.jinja": "gemma4",
    "LFM2.5-Instruct.jinja": "lfm2", "microsoft-Phi-4-mini-instruct.jinja": "phi4-mini",
    # no tools in the template: the tools go in the system prompt (Generic)
    "google-gemma-3-4b-it.jinja": "generic", "google-gemma-2-2b-it.jinja": "generic",
    "microsoft-Phi-3.5-mini-instruct.jinja": "generic", "microsoft-phi-4.jinja": "generic",
    "HuggingFaceTB-SmolLM3-3B.jinja": "generic",
}
WITH_TOOLS = sorted(n for n, f in FAMILY.items() if f != "generic")
# templates that never list the tools (they render the calls and results only): the engine
# has to describe the tools itself (as Generic does, in the system prompt)
NO_TOOL_LIST = {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
                "deepseek-ai-DeepSeek-V3.1.jinja"}
# none now: Kimi K2 Thinking's template appends to and pops from its own list
# (tool_response_queue.ids), which the sandbox allows on a copy of what it is given
BLOCKED: set[str] = set()
# R1-Distill-Llama's template writes an assistant turn's calls only when its content is None
# (message_dicts sends ""), and then joins the arguments as a string (message_dicts sends an
# object): llama.cpp probes a template for both; the app does not yet
SKIPS_CALLS = {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"}
# Phi-4-mini's template reads the tools from the system message's "tools" key (a JSON string)
# and writes an assistant turn's content only: neither is there in the app's messages yet
SYSTEM_TOOLS = {"microsoft-Phi-4-mini-instruct.jinja"}
WEATHER = tool("get_weather", {"city": {"type": "string", "description": "The city's name."}},
               description="Reports the weather of a city (DESC-4471).")
CALL = ToolCall("get_weather", '{"city": "Zanzibar-9"}', "abc123XYZ")  # Mistral's templates take 9 letters/digits
CONVERSATION = [
    Message("user", "What is the weather in Zanzibar?"),
    Message("assistant", "", tool_calls=[CALL]),
    Message("tool", "RESULT-31C-sunny", tool_call_id=CALL.id, name="get_weather"),
]


def source(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def test_every_template_is_classified() -> None:
    assert set(FAMILY) == {p.name for p in TEMPLATES.glob("*.jinja")}
    assert set(FAMILY.values()) == {c.name for c in FORMATS}  # and every format has a real template


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_the_template_picks_its_family(name: str) -> None:
    assert for_template(source(name)).name == FAMILY[name]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(raises=ChatTemplateError, strict=True, reason="list.append is blocked"))
    if n in BLOCKED else
    pytest.param(n, marks=pytest.mark.xfail(raises=AssertionError, strict=True, reason="the calls need content None"))
    if n in SKIPS_CALLS else
    pytest.param(n, marks=pytest.mark.xfail(raises=AssertionError, strict=True, reason="tools in the system message"))
    if n in SYSTEM_TOOLS else n for n in WITH_TOOLS])
def test_the_template_renders_the_tools_the_call_and_the_result(name: str) -> None:
    fmt = for_template(source(name))
    text = render(source(name), CONVERSATION, bos_token="<BOS>", eos_token="<EOS>", **fmt.template_variables([WEATHER]))
    assert "get_weather" in text
    assert ("DESC-4471" in text) is (name not in NO_TOOL_LIST)
    assert "RESULT-31C-sunny" in text
    if name == "LFM2.5-Instruct.jinja":
        # LFM2.5's template writes an assistant turn's content only: the engine must keep the
        # call's text in the content for the model to see it (the format's own text)
        assert "Zanzibar-9" not in text
        return
    assert "Zanzibar-9" in text


def test_kimi_k2_thinking_renders_the_tools_without_calls() -> None:
    text = render(source("Kimi-K2-Thinking.jinja"), CONVERSATION[:1], tools=[WEATHER])
    assert "get_weather" in text and "DESC-4471" in text


def test_without_tools_the_prompt_has_none() -> None:
    for name in WITH_TOOLS:
        text = render(source(name), [Message("user", "Hi")])
        assert "DESC-4471" not in text and "get_weather" not in text


@pytest.mark.parametrize("name", ["Mistral-Small-3.2-24B-Instruct-2506.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja",
                                  "mistralai-Ministral-3-14B-Reasoning-2512.jinja"])
def test_mistral_gets_nine_character_ids_from_any_client(name: str) -> None:
    """Mistral's templates refuse ids that are not 9 letters and digits; API clients send
    `call_…` and `toolu_…`: the call and its result get the same 9-character id."""
    from assistant.core.types import GenParams, ToolCall
    from assistant.engines.prompting import ChatFormat

    cf = ChatFormat(source(name), bos_token="<s>", eos_token="</s>")
    long_id = "call_abcdef0123456789"
    msgs = [Message("user", "w?"), Message("assistant", "", tool_calls=[ToolCall("get_weather", '{"city": "Zanzibar-9"}', long_id)]),
            Message("tool", "RESULT-31C-sunny", tool_call_id=long_id, name="get_weather")]
    text = cf.build(msgs, GenParams(tools=[WEATHER]), lambda t: []).text
    assert "Zanzibar-9" in text and "RESULT-31C-sunny" in text and long_id not in text
    nine = __import__("hashlib").sha256(long_id.encode()).hexdigest()[:9]
    assert text.count(nine) == (2 if "Nemo" in name or "Small" in name else text.count(nine))
    with pytest.raises(ChatTemplateError, match="length 9"):
        render(source("mistralai-Mistral-Nemo-Instruct-2407.jinja"), msgs, tools=[WEATHER])  # unmapped: refused
