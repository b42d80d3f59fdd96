"""gpt-oss end to end, in the engine's order: the model's own text (llama.cpp's
test-chat.cpp, openai-gpt-oss-120b, lines 6425..6600) through the thinking splitter, whose
answer goes through the harmony format's CallStream. A message to functions.NAME, its
recipient in the role or the channel header, is a call; thinking stays thinking; a
built-in tool's message (container.exec) is not a call."""

from __future__ import annotations

import pytest
from support.tool_calls import calls_of, token_pieces, want

from assistant.engines.thinking import HARMONY, ThinkingSplitter
from assistant.tools.formats.harmony import HarmonyFormat

EDIT = '{"oldString": "if (part < railCount - 1) {", "newString": "if (part < 4) {", "replaceAll": false}'
CASES = [
    (' to=functions.special_function<|channel|>analysis<|message|>{"arg1": 1}', "", [("special_function", {"arg1": 1})]),
    ('<|channel|>analysis to=functions.special_function<|message|>{"arg1": 1}', "", [("special_function", {"arg1": 1})]),
    (' to=functions.special_function<|channel|>analysis <|constrain|>json<|message|>{"arg1": 1}', "", [("special_function", {"arg1": 1})]),
    ('<|channel|>commentary to=functions.special_function<|message|>{"arg1": 1}', "", [("special_function", {"arg1": 1})]),
    ("<|channel|>analysis<|message|>I'm\nthinking<|end|>"
     '<|start|>assistant to=functions.special_function<|channel|>analysis<|message|>{"arg1": 1}', "I'm\nthinking",
     [("special_function", {"arg1": 1})]),
    ("<|channel|>analysis<|message|>Thinking about edit...<|end|>"
     "<|start|>assistant<|channel|>commentary to=functions.edit <|constrain|>json<|message|>" + EDIT + "<|call|>",
     "Thinking about edit...", [("edit", {"oldString": "if (part < railCount - 1) {", "newString": "if (part < 4) {", "replaceAll": False})]),
]


def run(pieces: list[str]) -> tuple[str, str, list, str | None]:
    splitter = ThinkingSplitter(HARMONY)
    calls = HarmonyFormat().stream()
    thinking, answer = [], []
    for piece in pieces:
        t, a = splitter.feed(piece)
        thinking.append(t)
        answer.append(calls.feed(a))
    t, a = splitter.flush()
    thinking.append(t)
    answer.append(calls.feed(a))
    rest, found, reason = calls.finish()
    return "".join(thinking), "".join(answer) + rest, calls_of(found), reason


@pytest.mark.parametrize(("raw", "thinking", "expected"), CASES)
def test_a_call_in_either_header_reaches_the_calls(raw: str, thinking: str, expected: list) -> None:
    assert run([raw]) == (thinking, "", want(expected), None)
    assert run(token_pieces(raw)) == (thinking, "", want(expected), None)
    for cut in range(len(raw) + 1):
        assert run([raw[:cut], raw[cut:]]) == (thinking, "", want(expected), None), cut


def test_the_final_answer_and_builtin_tools_are_no_calls() -> None:
    final = "<|channel|>analysis<|message|>I'm\nthinking<|end|><|start|>assistant<|channel|>final<|message|>Hello, world!\nWhat's up?"
    assert run(token_pieces(final)) == ("I'm\nthinking", "Hello, world!\nWhat's up?", [], None)
    builtin = ("<|channel|>analysis<|message|>I will execute python to say hello<|end|>"
               "<|start|>assistant to=container.exec<|channel|>commentary<|message|>python3 -c 'print(\"hello\")'")
    assert run(token_pieces(builtin)) == ("I will execute python to say hello" + "python3 -c 'print(\"hello\")'", "", [], None)
    # an answer that only begins like a recipient ("to") is the answer
    assert run(["to", "day is fine"]) == ("", "today is fine", [], None)
    assert run([" to"]) == ("", "to", [], None)


def test_a_call_is_not_thinking_while_it_streams() -> None:
    s = ThinkingSplitter(HARMONY)
    s.feed("<|channel|>analysis<|message|>plan<|end|><|start|>assistant")
    assert s.thinking_now
    s.feed("<|channel|>commentary to=functions.f<|message|>{")
    assert not s.thinking_now


def test_a_broken_call_comes_back_as_text() -> None:
    raw = '<|channel|>commentary to=functions.special_function<|message|>{"arg1": '
    thinking, answer, calls, reason = run(token_pieces(raw))
    assert (thinking, calls) == ("", [])
    assert answer == raw and reason
