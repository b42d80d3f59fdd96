from __future__ import annotations

import pytest

from assistant.chat.context import answer_reserve, build_context
from assistant.core.types import Message
from assistant.errors import PromptTooLongError


def words(messages: list[Message]) -> int:
    return sum(len(m.content.split()) + 2 for m in messages)


def convo(n: int) -> list[Message]:
    out = []
    for i in range(n):
        out += [Message("user", f"question {i} " + "x " * 10), Message("assistant", f"answer {i} " + "y " * 10)]
    return out + [Message("user", "last question")]


def test_everything_fits() -> None:
    h = convo(3)
    got = build_context(h, system_prompt="sys", n_ctx=1000, count_tokens=words, reserve=100)
    assert got[0] == Message("system", "sys") and got[1:] == h


def test_newest_kept_oldest_dropped_starting_at_a_user_turn() -> None:
    h = convo(20)
    got = build_context(h, system_prompt="sys", n_ctx=200, count_tokens=words, reserve=50)
    assert got[-1].content == "last question"
    assert got[1].role == "user"
    assert words(got) <= 150
    # the next older user turn would not have fitted
    first = h.index(got[1])
    assert words([got[0]] + h[first - 2 :]) > 150


def test_single_prompt_too_long_names_the_limit() -> None:
    h = [Message("user", "w " * 500)]
    with pytest.raises(PromptTooLongError) as err:
        build_context(h, system_prompt=None, n_ctx=256, count_tokens=words, reserve=64)
    assert "256" in str(err.value) and err.value.limit == 256


def test_answer_reserve_is_bounded() -> None:
    assert answer_reserve(4096, 512) == 512
    assert answer_reserve(2048, 100000) == 512
