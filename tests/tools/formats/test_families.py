"""Each family's real model outputs (llama.cpp's tests/test-chat.cpp in the llama-cpp-python
0.3.36 sdist, line numbers there; or the model's card) read into the right calls: whole,
split in two at every character, and in token-like pieces; the text before a call stays
the answer and no call text leaks into it; a call that cannot be read comes back as text
with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from support.tool_calls import TOOLS, calls_of, stream, token_pieces, want

from assistant.tools.formats import FORMATS, ToolFormat
from assistant.tools.formats.command_r import CommandRFormat
from assistant.tools.formats.deepseek import DeepSeekFormat, DeepSeekV31Format
from assistant.tools.formats.gemma4 import Gemma4Format
from assistant.tools.formats.glm import GlmFormat
from assistant.tools.formats.harmony import HarmonyFormat
from assistant.tools.formats.hermes import HermesFormat
from assistant.tools.formats.kimi import KimiFormat
from assistant.tools.formats.lfm2 import Lfm2Format
from assistant.tools.formats.llama3 import Llama3Format
from assistant.tools.formats.mistral import MistralFormat, MistralJsonFormat
from assistant.tools.formats.phi4_mini import Phi4MiniFormat
from assistant.tools.formats.qwen_xml import QwenXmlFormat

ONE = [("special_function", {"arg1": 1})]
TWO = [("special_function", {"arg1": 1}), ("special_function_with_opt", {"arg1": 1, "arg2": 2})]
HELLO = "Hello, world!\nWhat's up?"

# (format, answer text before the call, the call section, the calls) — the model's own text
CASES: list[tuple[type[ToolFormat], str, str, list[tuple[str, Any]]]] = [
    # Hermes 2 Pro / Qwen 2.5 / Granite 4 (test-chat.cpp 3407: granite-4.0)
    (HermesFormat, "", '<tool_call>\n{"name": "special_function", "arguments": {"arg1": 1}}\n</tool_call>', ONE),
    # Qwen 3.5 (2148): two calls; Qwen3-Coder (3552): text, and a call without its opening <tool_call>
    (QwenXmlFormat, "", "<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n</function>\n</tool_call>\n"
     "<tool_call>\n<function=special_function_with_opt>\n<parameter=arg1>\n1\n</parameter>\n<parameter=arg2>\n2\n</parameter>\n"
     "</function>\n</tool_call>", TWO),
    (QwenXmlFormat, "Let me call it.\n", "<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n</function>\n</tool_call>", ONE),
    (QwenXmlFormat, "", "<tool_call>\n<function=get_time>\n<parameter=city>\nSan Francisco\n</parameter>\n</function>\n</tool_call>",
     [("get_time", {"city": "San Francisco"})]),
    # GLM 4.6 (4388, newlines) and GLM 4.7 (4401, none; two calls)
    (GlmFormat, "", "<tool_call>special_function\n<arg_key>arg1</arg_key>\n<arg_value>1</arg_value>\n</tool_call>", ONE),
    (GlmFormat, "", "<tool_call>special_function<arg_key>arg1</arg_key><arg_value>1</arg_value></tool_call>"
     "<tool_call>special_function_with_opt<arg_key>arg1</arg_key><arg_value>1</arg_value>"
     "<arg_key>arg2</arg_key><arg_value>2</arg_value></tool_call>", TWO),
    # Llama 3.1-3.3: the template's own format; 3.2's "type" variant; the built-in tools (Meta's
    # Llama 3.1 model card: "<|python_tag|>brave_search.call(query=...)")
    (Llama3Format, "", '{"name": "special_function", "parameters": {"arg1": 1}}', ONE),
    (Llama3Format, "", '{"type": "function", "name": "special_function", "parameters": {"arg1": 1}}', ONE),
    (Llama3Format, "", '<|python_tag|>brave_search.call(query="current weather in Menlo Park, California")',
     [("brave_search", {"query": "current weather in Menlo Park, California"})]),
    (Llama3Format, "", "<|python_tag|>import math\nprint(math.pi)", [("python", {"code": "import math\nprint(math.pi)"})]),
    # Mistral Small 3.2 (6252: call ids, two calls), Ministral 3 (2602), Devstral (6283: text first)
    (MistralFormat, "", '[TOOL_CALLS]special_function[CALL_ID]000000001[ARGS]{"arg1": 1}'
     '[TOOL_CALLS]special_function_with_opt[CALL_ID]000000002[ARGS]{"arg1": 1, "arg2": 2}', TWO),
    (MistralFormat, "", '[TOOL_CALLS]special_function[ARGS]{"arg1":1}', ONE),
    (MistralFormat, HELLO, '[TOOL_CALLS]special_function[ARGS]{"arg1": 1}', ONE),
    # Mistral Nemo (5915)
    (MistralJsonFormat, "", '[TOOL_CALLS][{"name": "special_function", "arguments": {"arg1": 1}, "id": "123456789"}]', ONE),
    # gpt-oss, as the thinking splitter passes a call on (test_harmony.py feeds the model's own text)
    (HarmonyFormat, "", '<|channel|>commentary to=functions.special_function<|message|>{"arg1": 1}<|call|>', ONE),
    # DeepSeek R1 distills (6023..6062) and V3.1 (3919)
    (DeepSeekFormat, "", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>special_function\n"
     "```json\n{\"arg1\": 1}```<｜tool▁call▁end｜><｜tool▁calls▁end｜>", ONE),
    (DeepSeekV31Format, "", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{\"city\": "
     "\"XYZCITY\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>", [("get_time", {"city": "XYZCITY"})]),
    # Command R7B (2820, 5878)
    (CommandRFormat, "", '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "special_function", "parameters": {"arg1": 1}}\n'
     "]<|END_ACTION|>", ONE),
    # Kimi K2 / K2 Thinking (4968: text first)
    (KimiFormat, HELLO, "<|tool_calls_section_begin|><|tool_call_begin|>functions.special_function:0<|tool_call_argument_begin|>"
     '{"arg1": 1}<|tool_call_end|><|tool_calls_section_end|>', ONE),
    # Gemma 4 (2992..3100): strings, numbers, lists, objects, two calls
    (Gemma4Format, HELLO, '<|tool_call>call:get_time{city:<|"|>Paris<|"|>}<tool_call|>', [("get_time", {"city": "Paris"})]),
    (Gemma4Format, "", '<|tool_call>call:get_time{city:<|"|>London<|"|>}<tool_call|><|tool_call>call:get_weather{city:<|"|>Paris<|"|>}'
     "<tool_call|>", [("get_time", {"city": "London"}), ("get_weather", {"city": "Paris"})]),
    (Gemma4Format, "", '<|tool_call>call:set_config{config:{theme:<|"|>dark<|"|>,count:3},todos:[<|"|>buy milk<|"|>,<|"|>walk dog<|"|>],'
     "x:-7,y:1.5e10,on:true,off:false,none:null,e:{},l:[]}<tool_call|>",
     [("set_config", {"config": {"theme": "dark", "count": 3}, "todos": ["buy milk", "walk dog"], "x": -7, "y": 1.5e10,
                      "on": True, "off": False, "none": None, "e": {}, "l": []})]),
    # LFM2 / LFM2.5 (5237)
    (Lfm2Format, "Let me check the time.", '<|tool_call_start|>[get_time(city="Paris")]<|tool_call_end|>', [("get_time", {"city": "Paris"})]),
    (Lfm2Format, "", "<|tool_call_start|>[special_function(arg1=1), special_function_with_opt(arg1=1, arg2=2)]<|tool_call_end|>", TWO),
    # Phi-4-mini (vLLM's tests of its phi4_mini_json parser: one call, two, text first)
    (Phi4MiniFormat, "", 'functools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', [("get_weather", {"city": "Tokyo"})]),
    (Phi4MiniFormat, "Let me check the weather for you.\n", 'functools[\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n'
     '  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',
     [("get_weather", {"city": "Tokyo"}), ("get_time", {"timezone": "Asia/Tokyo"})]),
]
CASES = [(cls, before, section, want(expected)) for cls, before, section, expected in CASES]
IDS = [f"{c[0].name}-{i}" for i, c in enumerate(CASES)]


def made(cls: type[ToolFormat]) -> ToolFormat:
    fmt = cls()
    fmt.template_variables(TOOLS)  # as the engine renders with the tools: the XML formats learn the schemas
    return fmt


@pytest.mark.parametrize(("cls", "before", "section", "expected"), CASES, ids=IDS)
def test_a_real_output_reads_into_its_calls(cls: type[ToolFormat], before: str, section: str, expected: list[Any]) -> None:
    assert calls_of(made(cls).parse(section)) == expected
    text, calls, reason, _ = stream(made(cls), [before + section])
    assert (text, calls_of(calls), reason) == (before, expected, None)


@pytest.mark.parametrize(("cls", "before", "section", "expected"), CASES, ids=IDS)
def test_split_anywhere_the_stream_reads_the_same(cls: type[ToolFormat], before: str, section: str, expected: list[Any]) -> None:
    whole = before + section
    for cut in range(len(whole) + 1):
        text, calls, reason, out = stream(made(cls), [whole[:cut], whole[cut:]])
        assert (text, calls_of(calls), reason) == (before, expected, None), cut
        assert out[0] == before[: len(out[0])]  # what went out at once is answer text only
    text, calls, reason, out = stream(made(cls), token_pieces(whole))
    assert (text, calls_of(calls), reason) == (before, expected, None)
    assert "".join(out) == before  # the answer went out before the end; the call never did


@pytest.mark.parametrize(("cls", "before", "section", "expected"), CASES, ids=IDS)
def test_the_answer_alone_has_no_calls(cls: type[ToolFormat], before: str, section: str, expected: list[Any]) -> None:
    text, calls, reason, _ = stream(made(cls), token_pieces(HELLO + " Nothing to call."))
    assert (text, calls, reason) == (HELLO + " Nothing to call.", [], None)


MALFORMED: list[tuple[type[ToolFormat], str]] = [
    (HermesFormat, '<tool_call>\n{"name": "special_function", "arguments": {"arg1": 1\n</tool_call>'),
    (HermesFormat, '<tool_call>\n{"arguments": {"arg1": 1}}\n</tool_call>'),
    (QwenXmlFormat, "<tool_call>\n<parameter=arg1>\n1\n</parameter>\n</tool_call>"),
    (QwenXmlFormat, "<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</function>\n</tool_call>"),
    (GlmFormat, "<tool_call><arg_key>arg1</arg_key><arg_value>1</arg_value></tool_call>"),
    (GlmFormat, "<tool_call>special_function<arg_key>arg1</arg_key>1</tool_call>"),
    (Llama3Format, '{"name": "special_function", "parameters": {"arg1": '),
    (Llama3Format, '{"name": 3, "parameters": {}}'),
    (Llama3Format, "<|python_tag|>brave_search.call(query=input())"),
    (MistralFormat, '[TOOL_CALLS]special_function{"arg1": 1}'),
    (MistralFormat, '[TOOL_CALLS]special_function[ARGS]{"arg1": 1} and then'),
    (MistralJsonFormat, '[TOOL_CALLS][{"arguments": {"arg1": 1}}]'),
    (MistralJsonFormat, '[TOOL_CALLS]{"name": "special_function", "arguments": [1]}'),
    (HarmonyFormat, '<|channel|>commentary to=functions.special_function<|message|>{"arg1": <|call|>'),
    (DeepSeekFormat, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>special_function\n```json\n{\"arg1\": }```"),
    (DeepSeekV31Format, "<｜tool▁calls▁begin｜>special_function(1)<｜tool▁calls▁end｜>"),
    (DeepSeekV31Format, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜> and"),
    (CommandRFormat, '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "special_function", '),
    (CommandRFormat, '<|START_ACTION|>{"tool_name": "special_function"}<|END_ACTION|>'),
    (KimiFormat, "<|tool_calls_section_begin|><|tool_call_begin|>functions.special_function:0<|tool_call_argument_begin|>{arg1: 1}"),
    (KimiFormat, "<|tool_calls_section_begin|>special_function<|tool_calls_section_end|>"),
    (Gemma4Format, '<|tool_call>call:get_time{city:<|"|>Paris}<tool_call|>'),
    (Gemma4Format, "<|tool_call>call:get_time(city=1)<tool_call|>"),
    (Lfm2Format, '<|tool_call_start|>[get_time(city="Paris"]<|tool_call_end|>'),
    (Lfm2Format, "<|tool_call_start|>[get_time(__import__('os'))]<|tool_call_end|>"),
    (Phi4MiniFormat, 'functools[{"name": "func", "arguments": "not a dict"}]'),
    (Phi4MiniFormat, 'functools[{"name": "func"}]'),
    # text between two calls that are each fine
    (QwenXmlFormat, "<tool_call>\n<function=get_time>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\nand then\n"
     "<tool_call>\n<function=get_time>\n<parameter=city>\nRome\n</parameter>\n</function>\n</tool_call>"),
    (Gemma4Format, '<|tool_call>call:get_time{city:<|"|>Paris<|"|>}<tool_call|> and <|tool_call>call:get_time{city:<|"|>Rome<|"|>}<tool_call|>'),
]


@pytest.mark.parametrize(("cls", "section"), MALFORMED, ids=[f"{c.name}-{i}" for i, (c, _) in enumerate(MALFORMED)])
def test_a_call_that_cannot_be_read_comes_back_as_text_with_the_reason(cls: type[ToolFormat], section: str) -> None:
    for pieces in ([HELLO + section], token_pieces(HELLO + section)):
        text, calls, reason, _ = stream(made(cls), pieces)
        assert (text, calls) == (HELLO + section, [])
        assert reason


def test_every_family_has_real_outputs_and_a_malformed_one() -> None:
    covered = {c[0] for c in CASES}
    assert covered == {c for c in FORMATS if c.name != "generic"}
    assert {c for c, _ in MALFORMED} == covered


def test_ids_the_model_wrote_are_kept() -> None:
    mistral = MistralFormat().parse(CASES[10][2])
    assert [c.id for c in mistral] == ["000000001", "000000002"]
    assert MistralJsonFormat().parse(CASES[13][2])[0].id == "123456789"
    # Mistral's templates take only 9 letters and digits: a call without an id gets one
    fresh = MistralFormat().parse('[TOOL_CALLS]special_function[ARGS]{"arg1": 1}')[0].id
    assert len(fresh) == 9 and fresh.isalnum()
    assert KimiFormat().parse(CASES[18][2])[0].id == "functions.special_function:0"


def test_xml_values_follow_the_tools_schema() -> None:
    """A "string" parameter stays text even when it reads as JSON; others are JSON."""
    fmt = made(QwenXmlFormat)
    call = "<tool_call>\n<function=get_time>\n<parameter=city>\n1984\n</parameter>\n</function>\n</tool_call>"
    assert calls_of(fmt.parse(call)) == want([("get_time", {"city": "1984"})])
    assert calls_of(QwenXmlFormat().parse(call)) == want([("get_time", {"city": 1984})])  # no schema known: JSON
    glm = made(GlmFormat)
    assert calls_of(glm.parse("<tool_call>get_time<arg_key>city</arg_key><arg_value>true</arg_value></tool_call>")) == want([
        ("get_time", {"city": "true"})])
    assert calls_of(glm.parse("<tool_call>special_function<arg_key>arg1</arg_key><arg_value>7</arg_value></tool_call>")) == want([
        ("special_function", {"arg1": 7})])
