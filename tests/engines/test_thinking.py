"""Thinking apart from the answer, on recorded token streams of each reasoning family
(the tokens as the models write them, tags split across tokens included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.types import GenParams, Message
from assistant.engines import thinking as th
from assistant.engines.prompting import ChatFormat

TEMPLATES = Path(__file__).parent / "templates"


def split_with(template: str, pieces: list[str], **params: object) -> tuple[str, str]:
    fmt = ChatFormat((TEMPLATES / template).read_text(encoding="utf-8"), bos_token="<s>", eos_token="</s>")
    stream = fmt.build([Message("user", "What is the capital of France?")], GenParams(**params), lambda _t: []).stream  # type: ignore[arg-type]
    thinking, answer = [], []
    for piece in [*pieces, None]:
        chunk = stream.feed(piece) if piece is not None else stream.flush()
        if chunk is not None:
            thinking.append(chunk.thinking)
            answer.append(chunk.text)
    return "".join(thinking), "".join(answer)


QWEN3 = ["<think>", "\n", "Okay", ",", " the", " user", " asks", " about", " France", ".\n", "</think>", "\n\n",
         "The", " capital", " is", " Paris", "."]
# QwQ and the R1 distills: the template opens the block, the model writes the thinking and closes it
R1 = ["Okay", ",", " France", "'s", " capital", ".\n", "</", "think", ">\n\n", "Paris", "."]
R1_BY_CHAR = ["Okay, France's capital.\n", *"</think>", "\n\n", "Paris", "."]
HARMONY = ["<|channel|>", "analysis", "<|message|>", "User", " asks", " capital", ".", "<|end|>", "<|start|>",
           "assistant", "<|channel|>", "final", "<|message|>", "Paris", "."]
MISTRAL = ["[THINK]", "Okay", ", capital", " of France", ".", "[/THINK]", "Paris", "."]
GEMMA4 = ["<|channel>", "thought", "\n", "Capital", " of France", ".", "<channel|>", "Paris", "."]
GEMMA4_SPLIT = ["<|channel>", "th", "ought", "\nCapital of France.", "<channel|>", "Paris."]


@pytest.mark.parametrize(("template", "pieces", "params", "thinking"), [
    ("Qwen-Qwen3-0.6B.jinja", QWEN3, {}, "Okay, the user asks about France.\n"),
    ("Qwen-QwQ-32B.jinja", R1, {}, "Okay, France's capital.\n"),
    ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", R1_BY_CHAR, {}, "Okay, France's capital.\n"),
    ("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", R1, {}, "Okay, France's capital.\n"),
    ("Qwen3.5-4B.jinja", R1, {}, "Okay, France's capital.\n"),
    ("openai-gpt-oss-120b.jinja", HARMONY, {}, "User asks capital."),
    ("mistralai-Ministral-3-14B-Reasoning-2512.jinja", MISTRAL, {}, "Okay, capital of France."),
    ("google-gemma-4-31B-it.jinja", GEMMA4, {"thinking": "on"}, "Capital of France."),
    ("google-gemma-4-31B-it.jinja", GEMMA4_SPLIT, {"thinking": "on"}, "Capital of France."),
])
def test_each_family_splits_thinking_from_the_answer(template: str, pieces: list[str], params: dict, thinking: str) -> None:
    got_thinking, answer = split_with(template, pieces, **params)
    assert got_thinking == thinking
    assert answer in ("The capital is Paris.", "Paris.")


def test_every_tag_split_at_every_point() -> None:
    text = "<think>\nhmm</think>\n\nParis."
    for cut in range(1, len(text)):
        for cut2 in range(cut, len(text)):
            s = th.ThinkingSplitter(th.THINK)
            t1, a1 = s.feed(text[:cut])
            t2, a2 = s.feed(text[cut:cut2])
            t3, a3 = s.feed(text[cut2:])
            t4, a4 = s.flush()
            assert (t1 + t2 + t3 + t4, a1 + a2 + a3 + a4) == ("hmm", "Paris."), (cut, cut2)


def test_thinking_off_means_the_answer_is_all_answer() -> None:
    # Qwen3 with thinking off: the template closes an empty block; the model just answers
    assert split_with("Qwen-Qwen3-0.6B.jinja", ["Paris", "."], thinking="off") == ("", "Paris.")


def test_cut_off_while_thinking_keeps_all_as_thinking() -> None:
    thinking, answer = split_with("Qwen-QwQ-32B.jinja", ["Let", " me", " think", " about", " </thi"])
    assert (thinking, answer) == ("Let me think about </thi", "")


def test_a_model_that_does_not_think_is_untouched() -> None:
    text = "Use <b>bold</b> and <think> tags </think> freely."
    assert split_with("meta-llama-Llama-3.1-8B-Instruct.jinja", [text[:9], text[9:]]) == ("", text)


def test_harmony_without_channels_is_the_answer() -> None:
    assert split_with("openai-gpt-oss-120b.jinja", ["Just", " text"]) == ("", "Just text")


def test_prefill_continues_where_the_answer_stopped() -> None:
    assert th.prefill(th.THINK, "<|im_start|>assistant\n<think>\n", "so far") == "so far"
    assert th.prefill(th.THINK, "<|im_start|>assistant\n", "so far") == "<think>\nso far"
    assert th.prefill(th.THINK, "<|im_start|>assistant\n", "t", "ans") == "<think>\nt\n</think>\n\nans"
    assert th.prefill(th.HARMONY, "<|start|>assistant", "t") == "<|channel|>analysis<|message|>t"
    assert th.prefill(th.MISTRAL, "[/INST]", "t") == "[THINK]t"
    assert th.prefill(th.GEMMA4, "<|turn>model\n", "t") == "<|channel>thought\nt"


def test_gemma4_whitespace_after_the_channel_name_is_dropped_however_it_is_cut() -> None:
    """Found by tools/fuzz.py: "\\n" arriving alone after "thought" was held as the start of
    the channel name, then flushed as thinking; in one piece it was dropped."""
    from assistant.engines.thinking import GEMMA4, ThinkingSplitter

    for pieces in (["<|channel>thought\n"], ["<|", "ch", "annel>th", "ought", "\n"], ["<|channel>", "thought", " ", "\n"]):
        s = ThinkingSplitter(GEMMA4)
        got = [s.feed(p) for p in pieces] + [s.flush()]
        assert ("".join(t for t, _ in got), "".join(a for _, a in got)) == ("", ""), pieces
    s = ThinkingSplitter(GEMMA4)
    got = [s.feed(p) for p in ["<|channel>", "thought", "\n", "Plan", "<channel|>", "Hi"]] + [s.flush()]
    assert ("".join(t for t, _ in got), "".join(a for _, a in got)) == ("Plan", "Hi")


def test_gemma4_takes_the_channel_name_off_once_however_it_is_cut() -> None:
    """Found by tools/fuzz.py: thinking that itself began with "thought" lost it when the
    channel name and that text came in separate pieces."""
    from assistant.engines.thinking import GEMMA4, ThinkingSplitter

    for pieces in (["<|channel>thought\nthought it over<channel|>Hi"],
                   ["<|", "ch", "annel>th", "ought", "\nt", "hought it over", "<channel|>", "Hi"],
                   ["<|channel>", "thought", "\n", "thought it over<channel|>Hi"]):
        s = ThinkingSplitter(GEMMA4)
        got = [s.feed(p) for p in pieces] + [s.flush()]
        assert ("".join(t for t, _ in got), "".join(a for _, a in got)) == ("thought it over", "Hi"), pieces


def test_gemma4_a_partial_name_at_the_end_drops_the_space_before_it() -> None:
    """Found by tools/fuzz.py: the held name came out with its leading space in one piece,
    without it when cut."""
    from assistant.engines.thinking import GEMMA4, ThinkingSplitter

    for pieces in (["<|channel>\x1c tho"], ["<|", "cha", "nnel", ">", "\x1c ", "tho"], ["<|channel>", " th", "o"]):
        s = ThinkingSplitter(GEMMA4)
        got = [s.feed(p) for p in pieces] + [s.flush()]
        assert ("".join(t for t, _ in got), "".join(a for _, a in got)) == ("tho", ""), pieces


def test_gemma4_a_block_closed_on_a_partial_name_keeps_it_as_thinking() -> None:
    """Found by tools/fuzz.py: "thou" held as the start of the channel name came out at the
    very end of the answer when the block closed before the name was complete."""
    from assistant.engines.thinking import GEMMA4, ThinkingSplitter

    for pieces in (["<|channel>thou<channel|>ght it over <ch"], ["<|channel>", "th", "ou", "<channel|>", "ght it over", " <ch"]):
        s = ThinkingSplitter(GEMMA4)
        got = [s.feed(p) for p in pieces] + [s.flush()]
        assert ("".join(t for t, _ in got), "".join(a for _, a in got)) == ("thou", "ght it over <ch"), pieces
