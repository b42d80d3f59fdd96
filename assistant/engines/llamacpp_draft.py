"""Prompt-lookup decoding: guess the next tokens from the chat's own text.

When an answer quotes earlier text or code (an edit of a given function, a summary that
repeats names), the tokens after the last few generated ones often already appear in
the prompt. Those are proposed as a draft; the model checks the whole draft in one
llama_decode (one batch costs little more than one token on the CPU, which is limited
by reading the weights) and keeps the tokens its own sampler would have picked anyway.
The answer is the same as without drafts; only the number of decode steps changes.

The lookup is an index of the n-grams seen so far (position after their latest
occurrence), updated per token: no scan of the context per step.

`auto` stops drafting when too few drafted tokens are accepted (a plain chat rarely
repeats itself) and tries again later, so a chat that does not quote pays next to nothing.
"""

from __future__ import annotations

NGRAM_MAX = 4
NGRAM_MIN = 2
DRAFT_MAX = 10
# auto: back off when fewer than this share of drafted tokens were kept (recent drafts)
MIN_ACCEPT = 0.3
BACKOFF_TOKENS = 48


class PromptLookup:
    def __init__(self, tokens: list[int], draft_max: int = DRAFT_MAX) -> None:
        self.tokens: list[int] = []
        self._index: dict[tuple[int, ...], int] = {}
        self._next: int = -1  # where the continuation of the current ending starts, -1: none
        self.draft_max = draft_max
        self.drafted = 0
        self.accepted = 0
        self._rate = 0.6  # recent share of drafted tokens kept (moving average)
        self._pause = 0  # tokens to go without drafts
        for t in tokens:
            self.add(t)

    def add(self, token: int) -> None:
        toks = self.tokens
        toks.append(token)
        n_all = len(toks)
        found = -1
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1):
            if n_all < n:
                continue
            key = tuple(toks[n_all - n:])
            prev = self._index.get(key)
            if found < 0 and prev is not None:
                found = prev  # the longest ending seen before wins
            self._index[key] = n_all
        self._next = found
        if self._pause:
            self._pause -= 1

    def draft(self, room: int) -> list[int]:
        """Up to `room` tokens that followed the current ending last time; [] when none."""
        if self._next < 0 or self._pause or room <= 0:
            return []
        out = self.tokens[self._next: self._next + min(room, self.draft_max)]
        # an image's pseudo-tokens (negative, llamacpp_vision.py) are never drafted
        return out if all(t >= 0 for t in out) else out[: next(i for i, t in enumerate(out) if t < 0)]

    def result(self, n_drafted: int, n_accepted: int) -> None:
        """How a draft went: the moving acceptance rate decides whether to keep drafting."""
        self.drafted += n_drafted
        self.accepted += n_accepted
        self._rate = 0.7 * self._rate + 0.3 * (n_accepted / n_drafted)
        if self._rate < MIN_ACCEPT:
            self._pause = BACKOFF_TOKENS
            self._rate = 0.6  # a fresh chance after the pause
