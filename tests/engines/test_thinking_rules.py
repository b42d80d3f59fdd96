"""engines/thinking.py rule by rule, on short strings (mutation testing found most of
these untested by the fast tests: the families told from templates, the Thinking setting's
variables, each splitter state, harmony's channels, and the flags the chat reads)."""

from __future__ import annotations

import pytest

from assistant.engines import thinking as th
from assistant.engines.thinking import GEMMA4, HARMONY, MISTRAL, THINK, ThinkingSplitter, ThinkingStream


def split(fmt: th.ThinkFormat | None, pieces: list[str], **kw: bool) -> tuple[str, str]:
    s = ThinkingSplitter(fmt, **kw)
    out = [s.feed(p) for p in pieces] + [s.flush()]
    return "".join(t for t, _ in out), "".join(a for _, a in out)


@pytest.mark.parametrize(("template", "fmt"), [
    ("{{ '<|channel|>' }}x{{ '<|message|>' }}", HARMONY),
    ("<|channel|> only", None),
    ("<|message|> only", None),
    ("[THINK]{{ x }}[/THINK]", MISTRAL),
    ("<|channel>thought<channel|>", GEMMA4),
    ("<|channel> only", None),
    ("<channel|> only", None),
    ("<think>", THINK),
    ("</think>", THINK),
    ("no thinking here", None),
    ("", None),
    (None, None),
])
def test_the_family_from_the_template(template: str | None, fmt: th.ThinkFormat | None) -> None:
    assert th.detect_format(template) is fmt


def test_the_formats_and_their_names() -> None:
    assert [f.name for f in (THINK, MISTRAL, GEMMA4, HARMONY)] == ["think", "mistral", "gemma4", "harmony"]
    assert th.HARMONY_MARKERS == ("<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|return|>", "<|call|>", "<|constrain|>")
    assert (HARMONY.open, HARMONY.close) == ("<|channel|>", "<|end|>")


@pytest.mark.parametrize(("template", "control"), [
    ("<think>{% if enable_thinking %}{% endif %}", "toggle"),
    ("<|channel|><|message|>{{ reasoning_effort }}", "effort"),
    ("<think>{{ reasoning_effort }}{{ enable_thinking }}", "effort"),
    ("<think> always", None),
    ("{{ enable_thinking }} but no tags", None),
    ("", None),
    (None, None),
])
def test_what_the_user_may_set(template: str | None, control: str | None) -> None:
    assert th.thinking_control(template) == control


@pytest.mark.parametrize(("control", "setting", "variables"), [
    ("toggle", "on", {"enable_thinking": True}),
    ("toggle", "off", {"enable_thinking": False}),
    ("toggle", "high", {}),
    ("toggle", None, {}),
    ("effort", "low", {"reasoning_effort": "low"}),
    ("effort", "medium", {"reasoning_effort": "medium"}),
    ("effort", "high", {"reasoning_effort": "high"}),
    ("effort", "on", {}),
    (None, "on", {}),
    (None, "high", {}),
])
def test_the_setting_as_template_variables(control: str | None, setting: str | None, variables: dict) -> None:
    assert th.template_variables(control, setting) == variables


def test_the_markers_engines_render() -> None:
    assert th.marker_texts(None) == ("<think>", "</think>")
    assert th.marker_texts(MISTRAL) == ("[THINK]", "[/THINK]")
    assert th.marker_texts(HARMONY) == th.HARMONY_MARKERS


@pytest.mark.parametrize(("prompt", "fmt", "opened"), [
    ("<|im_start|>assistant\n<think>\n", THINK, True),
    ("<|im_start|>assistant\n", THINK, False),
    ("x[THINK]", MISTRAL, True),
    ("<start_of_turn>model\n<|channel>", GEMMA4, True),
    ("<start_of_turn>model\n<|channel>thought\n", GEMMA4, True),
    ("<start_of_turn>model\nthought", GEMMA4, False),
    ("<|start|>assistant<|channel|>", HARMONY, False),
    ("<think>", None, False),
])
def test_a_prompt_that_leaves_the_block_open(prompt: str, fmt: th.ThinkFormat | None, opened: bool) -> None:
    assert th.opens_thinking(prompt, fmt) is opened


@pytest.mark.parametrize(("fmt", "prompt", "thinking", "answer", "out"), [
    (THINK, "p", "plan", "", "<think>\nplan"),
    (THINK, "p", "plan", "Hi", "<think>\nplan\n</think>\n\nHi"),
    (THINK, "p<think>\n", "plan", "Hi", "plan\n</think>\n\nHi"),
    (THINK, "p<think>", "plan", "", "\nplan"),
    (THINK, "p<think>\n", "", "Hi", "</think>\n\nHi"),
    (THINK, "p", "", "Hi", "Hi"),
    (None, "p", "plan", "", "<think>\nplan"),
    (MISTRAL, "p", "plan", "Hi", "[THINK]plan[/THINK]\n\nHi"),
    (GEMMA4, "p", "plan", "", "<|channel>thought\nplan"),
    (GEMMA4, "p<|channel>thought\n", "plan", "Hi", "plan\n<channel|>\n\nHi"),
    (HARMONY, "p", "plan", "", "<|channel|>analysis<|message|>plan"),
    (HARMONY, "p", "plan", "Hi", "<|channel|>analysis<|message|>plan<|end|><|start|>assistant<|channel|>final<|message|>Hi"),
    (HARMONY, "p", "", "Hi", "<|channel|>final<|message|>Hi"),
    (HARMONY, "p", "", "", ""),
])
def test_prefill_for_each_family(fmt: th.ThinkFormat | None, prompt: str, thinking: str, answer: str, out: str) -> None:
    assert th.prefill(fmt, prompt, thinking, answer) == out


# -- the splitter, state by state ------------------------------------------------------------------
def test_whitespace_before_a_block_is_not_the_answer() -> None:
    """issue 33: whitespace before <think> would show the block as the answer."""
    assert split(THINK, ["\n \n", "<think>", "plan", "</think>", "\n\nHello"]) == ("plan", "Hello")
    assert split(THINK, ["  <think>plan</think>Hi"]) == ("plan", "Hi")


def test_text_first_means_no_thinking() -> None:
    assert split(THINK, ["Hello ", "<think>x</think>"]) == ("", "Hello <think>x</think>")
    assert split(MISTRAL, ["plain"]) == ("", "plain")


def test_a_tag_that_is_not_a_marker_is_text() -> None:
    s = ThinkingSplitter(THINK)
    assert s.feed("<thin") == ("", "")  # held: it may become a tag
    assert s.feed("king>") == ("", "<thinking>")
    assert s.feed("<think>") == ("", "<think>")  # past the start, tags are text


def test_start_inside_the_block_and_start_in_the_answer() -> None:
    assert split(THINK, ["plan</think>", " Hi"], start_thinking=True) == ("plan", "Hi")
    assert split(THINK, [" Hi <think>x</think>"], start_answer=True) == ("", " Hi <think>x</think>")
    assert split(HARMONY, ["plan<|end|>"], start_thinking=True) == ("plan", "")
    assert split(HARMONY, ["Hi"], start_answer=True) == ("", "Hi")


def test_resuming_an_answer_keeps_its_leading_space() -> None:
    """issue 33: resuming a cut-off answer would lose its leading space."""
    assert split(THINK, [" and then", " more"], start_answer=True) == ("", " and then more")
    s = ThinkingSplitter(THINK, start_answer=True)
    assert s.feed(" x") == ("", " x")


def test_gemma4_channel_name_in_pieces() -> None:
    assert split(GEMMA4, ["<|channel>", "th", "ought", "\nplan", "<channel|>", "Hi"]) == ("plan", "Hi")
    assert split(GEMMA4, ["<|channel>", "thoughtful plan", "<channel|>Hi"]) == ("ful plan", "Hi")
    assert split(GEMMA4, ["<|channel>", "th"]) == ("th", "")  # a name that never completed is kept
    assert split(GEMMA4, ["<|channel>", "other words<channel|>Hi"]) == ("other words", "Hi")


def test_the_flags_the_chat_reads() -> None:
    s = ThinkingSplitter(THINK)
    assert (s.thinking_now, s.saw_thinking, s.saw_answer) == (False, False, False)
    s.feed("<think>pl")
    assert s.thinking_now and s.saw_thinking and not s.saw_answer
    s.feed("an</think>Hi")
    assert not s.thinking_now and s.saw_answer
    s.feed(" more")  # the fast path past the thinking
    assert s.saw_answer
    s2 = ThinkingSplitter(THINK, start_answer=True)
    s2.feed("x")
    assert s2.saw_answer and not s2.saw_thinking


def test_harmony_channels() -> None:
    text = ["<|channel|>analysis<|message|>think", "<|end|>", "<|start|>assistant<|channel|>commentary<|message|>tool",
            "<|call|>", "<|start|>assistant<|channel|>final <|constrain|>json<|message|>", "Hi", "<|return|>"]
    assert split(HARMONY, text) == ("thinktool", "Hi")
    assert split(HARMONY, ["<|channel|><|message|>no name"]) == ("", "no name")  # a message without a channel is the answer
    assert split(HARMONY, ["<|channel|>analysis<|message|>a<|end|>stray text"]) == ("a", "stray text")
    assert split(HARMONY, ["<|start|>assistant", "<|channel|>final<|message|>Hi"]) == ("", "Hi")


def test_harmony_thinking_now() -> None:
    s = ThinkingSplitter(HARMONY)
    s.feed("<|channel|>analysis<|message|>")
    assert not s.thinking_now  # nothing thought yet
    s.feed("hmm")
    assert s.thinking_now
    s.feed("<|end|>")
    assert not s.thinking_now
    s.feed("<|start|>assistant<|channel|>")
    assert s.thinking_now  # a new header after thinking
    s.feed("final<|message|>Hi")
    assert not s.thinking_now


def test_the_stream_makes_chunks_only_for_text() -> None:
    st = ThinkingStream(THINK)
    assert st.feed("<think>") is None
    c = st.feed("plan")
    assert c is not None and (c.thinking, c.text) == ("plan", "")
    assert st.thinking_now
    c = st.feed("</think>Hi <")
    assert c is not None and (c.thinking, c.text) == ("", "Hi ")  # "<" may begin a tag: held
    c = st.flush()
    assert c is not None and (c.thinking, c.text) == ("", "<")
    assert ThinkingStream(THINK).flush() is None
    st2 = ThinkingStream(THINK, start_thinking=True)
    st2.feed("a <")
    c = st2.flush()
    assert c is not None and c.thinking == "<" and c.text == ""  # "a " went out with the feed


def test_a_model_without_a_family_is_split_as_think_tags() -> None:
    # marker_texts(None) are <think> tags, so the splitter must read them as such
    assert split(None, ["<think>", "plan", "</think>", "Hi"]) == ("plan", "Hi")
    assert split(None, ["Hi <think>"]) == ("", "Hi <think>")


def test_a_closing_tag_first_is_answer_text() -> None:
    assert split(THINK, ["</think>Hi"]) == ("", "</think>Hi")
    assert split(MISTRAL, ["[/THINK]", "Hi"]) == ("", "[/THINK]Hi")


def test_a_tag_held_at_the_end_of_an_answer_comes_out_in_order() -> None:
    assert split(THINK, ["<think>a</think>Hi <", "b"]) == ("a", "Hi <b")
    assert split(THINK, ["<think>a</think>Hi <", "/thi", "s"]) == ("a", "Hi </this")


def test_harmony_text_left_at_the_end_is_the_answer() -> None:
    assert split(HARMONY, ["<|sta"]) == ("", "<|sta")
    assert split(HARMONY, ["<|channel|>analysis<|message|>a<|end|>", "  stray"]) == ("a", "stray")


def test_harmony_thinking_now_in_a_new_header() -> None:
    s = ThinkingSplitter(HARMONY)
    s.feed("<|channel|>analysis<|message|>hmm<|end|>")
    assert not s.thinking_now
    s.feed("<|start|>assistant")
    assert s.thinking_now  # between messages of a model that has been thinking


def test_an_open_tag_inside_thinking_is_thinking_text() -> None:
    assert split(THINK, ["<think>a<think>b</think>c"]) == ("a<think>b", "c")


def test_only_gemma4_has_a_channel_name_to_take_off() -> None:
    assert split(THINK, ["<think>thought about it</think>Hi"]) == ("thought about it", "Hi")
    assert split(GEMMA4, ["<|channel>", "thought"]) == ("", "")  # the name alone: no thinking yet


def test_harmony_message_bodies_and_text_after_a_call_or_return() -> None:
    assert split(HARMONY, ["<|channel|>final<|message|>  Hi"]) == ("", "Hi")
    assert split(HARMONY, ["<|channel|>commentary<|message|>tool<|call|>", "stray"]) == ("tool", "stray")
    assert split(HARMONY, ["<|channel|>analysis<|message|>a<|return|>", "stray"]) == ("a", "stray")


def test_gemma4_started_inside_the_block_takes_the_channel_name_off() -> None:
    # the prompt ended with <|channel>: the model writes the name, then its thinking
    assert split(GEMMA4, ["thought\nplan<channel|>Hi"], start_thinking=True) == ("plan", "Hi")
