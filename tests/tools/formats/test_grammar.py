"""Each format's call grammar, checked by llama.cpp itself (its grammar sampler on the test
model's vocab, token by token): it parses; it takes the family's call text to the end,
and that text reads back into the call; it refuses a function the tools do not have,
arguments against the schema, and a second call unless calls may be parallel. The lazy
grammar's triggers fire where the grammar begins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.tool_calls import TOOLS, Vocab, calls_of, want

from assistant.engines.thinking import HARMONY, ThinkingSplitter
from assistant.tools.formats import FORMATS, ToolFormat
from assistant.tools.formats.command_r import CommandRFormat
from assistant.tools.formats.deepseek import DeepSeekFormat, DeepSeekV31Format
from assistant.tools.formats.gemma4 import Gemma4Format
from assistant.tools.formats.generic import GenericFormat
from assistant.tools.formats.glm import GlmFormat
from assistant.tools.formats.harmony import HarmonyFormat
from assistant.tools.formats.hermes import HermesFormat
from assistant.tools.formats.kimi import KimiFormat
from assistant.tools.formats.lfm2 import Lfm2Format
from assistant.tools.formats.llama3 import Llama3Format
from assistant.tools.formats.mistral import MistralFormat, MistralJsonFormat
from assistant.tools.formats.phi4_mini import Phi4MiniFormat
from assistant.tools.formats.qwen_xml import QwenXmlFormat

DS = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>"
# (format, one call of special_function {"arg1": 1}, the same then get_time {"city": "Paris"} or None)
CANONICAL: list[tuple[type[ToolFormat], str, str | None]] = [
    (HermesFormat, '<tool_call>\n{"name": "special_function", "arguments": {"arg1": 1}}\n</tool_call>',
     '<tool_call>\n{"name": "special_function", "arguments": {"arg1": 1}}\n</tool_call>\n'
     '<tool_call>\n{"name": "get_time", "arguments": {"city": "Paris"}}\n</tool_call>'),
    (GenericFormat, '{"tool_calls": [{"name": "special_function", "arguments": {"arg1": 1}}]}',
     '{"tool_calls": [{"name": "special_function", "arguments": {"arg1": 1}}, {"name": "get_time", "arguments": {"city": "Paris"}}]}'),
    (QwenXmlFormat, "<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n</function>\n</tool_call>",
     "<tool_call>\n<function=special_function>\n<parameter=arg1>\n1\n</parameter>\n</function>\n</tool_call>\n"
     "<tool_call>\n<function=get_time>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"),
    (GlmFormat, "<tool_call>special_function\n<arg_key>arg1</arg_key>\n<arg_value>1</arg_value>\n</tool_call>",
     "<tool_call>special_function<arg_key>arg1</arg_key><arg_value>1</arg_value></tool_call>"
     "<tool_call>get_time<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>"),
    (Llama3Format, '{"name": "special_function", "parameters": {"arg1": 1}}',
     '{"name": "special_function", "parameters": {"arg1": 1}}; {"name": "get_time", "parameters": {"city": "Paris"}}'),
    (MistralFormat, '[TOOL_CALLS]special_function[ARGS]{"arg1": 1}',
     '[TOOL_CALLS]special_function[CALL_ID]000000001[ARGS]{"arg1": 1}[TOOL_CALLS]get_time[CALL_ID]000000002[ARGS]{"city": "Paris"}'),
    (MistralJsonFormat, '[TOOL_CALLS][{"name": "special_function", "arguments": {"arg1": 1}, "id": "123456789"}]',
     '[TOOL_CALLS][{"name": "special_function", "arguments": {"arg1": 1}}, {"name": "get_time", "arguments": {"city": "Paris"}}]'),
    (HarmonyFormat, '<|channel|>commentary to=functions.special_function <|constrain|>json<|message|>{"arg1": 1}', None),
    (HarmonyFormat, ' to=functions.special_function<|channel|>commentary json<|message|>{"arg1": 1}', None),
    (DeepSeekFormat, DS + 'function<｜tool▁sep｜>special_function\n```json\n{"arg1": 1}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     DS + 'function<｜tool▁sep｜>special_function\n```json\n{"arg1": 1}\n```<｜tool▁call▁end｜>\n'
     '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{"city": "Paris"}```<｜tool▁call▁end｜><｜tool▁calls▁end｜>'),
    (DeepSeekV31Format, DS + 'special_function<｜tool▁sep｜>{"arg1": 1}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     DS + 'special_function<｜tool▁sep｜>{"arg1": 1}<｜tool▁call▁end｜>'
     '<｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>'),
    (CommandRFormat, '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "special_function", "parameters": {"arg1": 1}}\n]<|END_ACTION|>',
     '<|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "special_function", "parameters": {"arg1": 1}},\n'
     '    {"tool_call_id": "1", "tool_name": "get_time", "parameters": {"city": "Paris"}}\n]<|END_ACTION|>'),
    (KimiFormat, "<|tool_calls_section_begin|><|tool_call_begin|>functions.special_function:0<|tool_call_argument_begin|>"
     '{"arg1": 1}<|tool_call_end|><|tool_calls_section_end|>',
     "<|tool_calls_section_begin|><|tool_call_begin|>functions.special_function:0<|tool_call_argument_begin|>"
     '{"arg1": 1}<|tool_call_end|><|tool_call_begin|>functions.get_time:1<|tool_call_argument_begin|>{"city": "Paris"}'
     "<|tool_call_end|><|tool_calls_section_end|>"),
    (Gemma4Format, "<|tool_call>call:special_function{arg1:1}<tool_call|>",
     '<|tool_call>call:special_function{arg1:1}<tool_call|><|tool_call>call:get_time{city:<|"|>Paris<|"|>}<tool_call|>'),
    (Lfm2Format, "<|tool_call_start|>[special_function(arg1=1)]<|tool_call_end|>",
     '<|tool_call_start|>[special_function(arg1=1), get_time(city="Paris")]<|tool_call_end|>'),
]
CANONICAL.append((Phi4MiniFormat, 'functools[{"name": "special_function", "arguments": {"arg1": 1}}]',
                  'functools[\n  {"name": "special_function", "arguments": {"arg1": 1}},\n  {"name": "get_time", "arguments": {"city": "Paris"}}\n]'))
IDS = [f"{c.name}-{i}" for i, (c, _, _) in enumerate(CANONICAL)]
ONE = want([("special_function", {"arg1": 1})])
TWO = [*ONE, *want([("get_time", {"city": "Paris"})])]


def accepts(vocab: Vocab, grammar: str, text: str) -> bool:
    """vocab.accepts; DeepSeek's markers hold "▁" (U+2581), which the test model's
    SentencePiece vocab writes back as a space: the same swap in the grammar and the text
    keeps the check (a DeepSeek vocab has the markers as tokens)."""
    if "\u2581" in text:
        grammar, text = grammar.replace("\u2581", " "), text.replace("\u2581", " ")
    return vocab.accepts(grammar, text)


def read_back(fmt: ToolFormat, text: str) -> list[Any]:
    """What the engine gets from the text the grammar allowed: harmony's goes through the
    thinking splitter first (the engine's order)."""
    if isinstance(fmt, HarmonyFormat):
        splitter = ThinkingSplitter(HARMONY)
        text = splitter.feed(text)[1] + splitter.flush()[1]
    return calls_of(fmt.parse(text))


@pytest.mark.parametrize(("cls", "one", "two"), CANONICAL, ids=IDS)
def test_the_grammar_takes_the_call_and_it_reads_back(vocab: Vocab, cls: type[ToolFormat], one: str, two: str | None) -> None:
    fmt = cls()
    fmt.template_variables(TOOLS)
    for parallel in (False, True):
        grammar = fmt.grammar(TOOLS, parallel)
        assert vocab.parses(grammar), grammar
        assert accepts(vocab, grammar, one), (parallel, grammar)
        assert read_back(fmt, one) == ONE
        if two is not None:
            assert accepts(vocab, grammar, two) is parallel
            assert read_back(fmt, two) == TWO


@pytest.mark.parametrize(("cls", "one", "two"), CANONICAL, ids=IDS)
def test_the_grammar_refuses_what_the_tools_do_not_allow(vocab: Vocab, cls: type[ToolFormat], one: str, two: str | None) -> None:
    grammar = cls().grammar(TOOLS, True)
    assert not accepts(vocab, grammar, one.replace("special_function", "secret_function"))  # no such tool
    wrong = re.sub(r"(arg1\W{1,4})1", r'\g<1>"one"', one, count=1) if cls is not QwenXmlFormat and cls is not GlmFormat \
        else one.replace(">1<", ">one<").replace("\n1\n", "\nnope\n")
    assert wrong != one
    assert not accepts(vocab, grammar, wrong)  # arg1 is an integer
    assert not accepts(vocab, grammar, one[: len(one) * 2 // 3])  # a cut call is not a whole one


def first_fire(pattern: str, text: str) -> int | None:
    """Where llama.cpp's lazy grammar would start: the text grows a character at a time and
    the pattern is searched in all of it (^ and $ are the ends of the text so far); at the
    first match the grammar starts at the match's first group, or the match."""
    for k in range(1, len(text) + 1):
        m = re.search(pattern, text[:k])
        if m:
            return m.start(1) if m.re.groups else m.start()
    return None


@pytest.mark.parametrize("cls", sorted({c for c, _, _ in CANONICAL}, key=lambda c: c.name), ids=lambda c: c.name)
def test_every_trigger_fires_where_the_grammar_begins(vocab: Vocab, cls: type[ToolFormat]) -> None:
    """Each trigger fires on some call the grammar allows (a trigger the grammar cannot
    follow would hold the model to a grammar that refuses what it began), and wherever a
    trigger fires, the grammar takes the rest; text before the call does not fire it."""
    fmt = cls()
    grammar = fmt.grammar(TOOLS, False)
    calls = [one for c, one, _ in CANONICAL if c is cls]
    # the answer right after the prompt, and after text / a harmony analysis message
    texts = [pre + one for one in calls for pre in ("", "Sure, let me look. ", "<|channel|>analysis<|message|>x<|end|><|start|>assistant")]
    for pattern in fmt.triggers():
        fired = False
        for text in texts:
            at = first_fire(pattern, text)
            if at is not None:
                fired = True
                assert accepts(vocab, grammar, text[at:]), (pattern, text[at:])
        assert fired, pattern
    for text in texts:  # every call fires some trigger (harmony's: only in a message header)
        if not (cls is HarmonyFormat and text.startswith("Sure")):
            assert any(first_fire(p, text) is not None for p in fmt.triggers()), text
    for pattern in fmt.triggers():
        assert first_fire(pattern, "Sure, let me look. The weather in Paris is sunny.") is None


def test_every_format_has_a_grammar_case() -> None:
    assert {c for c, _, _ in CANONICAL} == set(FORMATS)


def test_json_strings_refuse_raw_control_characters(vocab: Vocab) -> None:
    """llama-cpp-python's converter lets a raw line break into a JSON string (seen in a CI
    run: an answer that did not parse); the grammars here take llama.cpp's strict rule."""
    from assistant.core.json_grammar import STRICT_CHAR
    from assistant.server.structured import schema_grammar

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    g = schema_grammar(schema, "s")
    assert STRICT_CHAR in g
    assert accepts(vocab, g, '{"name": "Sea of \\"Cortez\\"\\n"}')  # escaped: fine
    assert not accepts(vocab, g, '{"name": "Sea of\n    x"}')  # a raw line break: refused
    assert not accepts(vocab, g, '{"name": "a\tb"}')
    tools = [{"type": "function", "function": {"name": "f", "parameters": schema}}]
    from assistant.tools.formats.hermes import HermesFormat

    hg = HermesFormat().grammar(tools, False)
    assert accepts(vocab, hg, '<tool_call>\n{"name": "f", "arguments": {"name": "ok"}}\n</tool_call>')
    assert not accepts(vocab, hg, '<tool_call>\n{"name": "f", "arguments": {"name": "o\nk"}}\n</tool_call>')
