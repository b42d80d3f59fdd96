"""What the model sees: the system prompt plus as much history as fits its window.

Newest messages are kept; older ones are dropped whole, and the kept part always
starts at a user message (templates such as Gemma's require user/assistant turns).
"""

from __future__ import annotations

from typing import Callable

from assistant.core.types import Message
from assistant.errors import PromptTooLongError

TokenCounter = Callable[[list[Message]], int]


def answer_reserve(n_ctx: int, max_tokens: int) -> int:
    """Room kept for the answer: what was asked for, but never more than a quarter of the window."""
    return max(16, min(max_tokens, n_ctx // 4))


def build_context(
    history: list[Message],
    *,
    system_prompt: str | None,
    n_ctx: int,
    count_tokens: TokenCounter,
    reserve: int,
) -> list[Message]:
    """`history` ends with the new user message (or, in a turn with tools, the results of
    the answer's calls). Returns the messages to send."""
    if not history or history[-1].role not in ("user", "tool"):
        raise ValueError("history must end with the user's message or a tool's result")
    head = [Message("system", system_prompt)] if system_prompt else []
    budget = n_ctx - reserve

    def fits(start: int) -> tuple[bool, int]:
        n = count_tokens(head + history[start:])
        return n <= budget, n

    starts = [i for i, m in enumerate(history) if m.role == "user"]
    ok, needed = fits(starts[-1])
    if not ok:
        raise PromptTooLongError(
            f"This message is too long for the model: with the system prompt it takes {needed} tokens, "
            f"and the model's context window is {n_ctx} tokens ({reserve} of them kept for the answer).",
            "Shorten the message or split it, or raise the context length in the model's settings.",
            limit=n_ctx,
            needed=needed,
        )
    # fewer messages never take more tokens, so the earliest start that fits is found by bisection
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(starts[mid])[0]:
            hi = mid
        else:
            lo = mid + 1
    return head + history[starts[lo] :]
