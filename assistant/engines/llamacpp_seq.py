"""One answer of the llama.cpp engine: what the answer loop (llamacpp_gen.py) keeps per
sequence.

Each sequence has its own sampler chain (and so its own random draws: a seeded answer
is the same whether it runs alone or beside others), stop strings, thinking splitter,
prompt-lookup index and text decoder. The loop decodes; the sequence turns each picked
token into text and decides whether the answer goes on. Its chunks wait in `out` until
whoever drives the loop takes them (the engine's process sends them to the app; an
in-process caller yields them).

Later kinds of answer plug in here rather than beside it: a grammar (tool calls, JSON)
is one more sampler in this sequence's chain (`Sampler`), images are prefilled into
this sequence's slot before its text.
"""

from __future__ import annotations

import codecs
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.core.types import Chunk, GenParams, Timings, TokenLogprob, Usage
from assistant.engines.llamacpp_cache import KvCache
from assistant.engines.llamacpp_draft import PromptLookup
from assistant.engines.llamacpp_sampling import Sampler
from assistant.engines.prompting import AnswerStream
from assistant.engines.stops import StopMatcher
from assistant.engines.thinking import ThinkingStream

MAX_TOP_LOGPROBS = 20  # OpenAI's limit


@dataclass
class Sequence:
    """One answer in the loop. `tokens`: its whole prompt."""

    rid: int
    tokens: list[int]
    params: GenParams
    cancel: threading.Event
    split: ThinkingStream
    t0: float
    lookup_mode: str = "auto"
    images: list[Any] = field(default_factory=list)  # ImageSpan (llamacpp_vision.py): where images are in `tokens`
    # set when the loop gives it a slot
    kv: KvCache | None = None
    sampler: Sampler | None = None
    lookup: PromptLookup | None = None
    fed: int = 0  # prompt tokens in the cache (reused or evaluated)
    next_token: int = -1  # picked and shown, not yet in the cache (-1: still in its prompt)
    # picks of a draft's check not yet shown: (token, its place in the cache or -1, room after
    # it, its log-probability when asked for: computed now, the logits are gone next step)
    queue: list[tuple[int, int, int, TokenLogprob | None]] = field(default_factory=list)
    n_out: int = 0
    steps: int = 0
    finish: str | None = None  # set once the answer is over
    stop_sequence: str | None = None
    error: BaseException | None = None
    usage: Usage = field(default_factory=Usage)
    timings: Timings = field(default_factory=Timings)
    out: list[Chunk] = field(default_factory=list)
    _t_first: float = 0.0
    _pending_logprobs: list[TokenLogprob] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.stops = StopMatcher(self.params.stop)
        self.usage.prompt_tokens = len(self.tokens)

    @property
    def over(self) -> bool:
        return self.finish is not None

    def image_at(self, i: int) -> Any:
        """The image whose tokens start at i, or None."""
        return next((s for s in self.images if s.start == i), None)

    def text_end(self, i: int) -> int:
        """Where the run of text tokens from i ends (the next image, or the prompt's end)."""
        return min((s.start for s in self.images if s.start >= i), default=len(self.tokens))

    def image_around(self, i: int) -> Any:
        """The image that position i falls inside (past its first token), or None."""
        return next((s for s in self.images if s.start < i < s.end), None)

    @property
    def prefilling(self) -> bool:
        return self.next_token < 0 and not self.over

    def take(self) -> list[Chunk]:
        """The chunks made since the last take."""
        out, self.out = self.out, []
        return out

    # -- per token -----------------------------------------------------------------
    def accept(self, tok: int, engine: Any, room: int) -> bool:
        """A picked token: show it; False when the answer ends here (and the token is not
        decoded). `room`: positions left in the context after this token's."""
        lib = engine._lib
        if lib.llama_vocab_is_eog(engine._vocab, tok):
            self.end("stop")
            return False
        self.n_out += 1
        if self.n_out == 1:
            self._t_first = time.perf_counter()
            self.timings.ttft_s = self._t_first - self.t0
        buf = engine._piece_buf
        # thinking tags that are special tokens ([THINK], harmony's) are rendered for the splitter
        n = lib.llama_token_to_piece(engine._vocab, tok, buf, 256, 0, tok in engine._marker_ids)
        text = self.decoder.decode(buf.raw[:n]) if n > 0 else ""
        text = self.stops.feed(text)
        piece = self.split.feed(text) if text else None
        if piece is not None:
            self._emit(piece)
        if self.stops.stopped:
            self.stop_sequence = self.stops.matched
            self.end("stop")
            return False
        if self.n_out >= self.params.max_tokens or room <= 0:
            self.end("length")
            return False
        if self.lookup is not None:
            self.lookup.add(tok)
        self.next_token = tok
        return True

    def note_logprobs(self, x: np.ndarray, tok: int, engine: Any) -> None:
        self.add_logprob(self.logprob_of(x, tok, engine))

    def add_logprob(self, lp: TokenLogprob) -> None:
        """Goes out with the next chunk of text (the token's own, or the end)."""
        self._pending_logprobs.append(lp)

    def logprob_of(self, x: np.ndarray, tok: int, engine: Any) -> TokenLogprob:
        """The token's log-probability and the top alternatives, from the raw logits (as
        llama-server reports them: before the sampler chain)."""
        n_top = min(int(self.params.logprobs or 0), MAX_TOP_LOGPROBS)
        m = float(x.max())
        lse = m + float(np.log(np.exp(x - m, dtype=np.float64).sum()))
        top: list[tuple[str, float]] = []
        if n_top > 0:
            ids = np.argpartition(x, -n_top)[-n_top:]
            ids = ids[np.argsort(-x[ids], kind="stable")]
            top = [(engine._token_text(int(i)), float(x[i]) - lse) for i in ids]
        return TokenLogprob(engine._token_text(tok), float(x[tok]) - lse, top)

    def _emit(self, chunk: Chunk) -> None:
        if self._pending_logprobs:
            chunk.logprobs, self._pending_logprobs = self._pending_logprobs, []
        self.out.append(chunk)

    def end(self, finish: str, error: BaseException | None = None) -> None:
        """The answer is over: flush what the stop matcher and splitter held, the final chunk."""
        if self.over:
            return
        self.finish, self.error = finish, error
        if error is not None:
            return
        tail = self.decoder.decode(b"", final=True)
        tail = self.stops.feed(tail) + self.stops.flush()
        for piece in (self.split.feed(tail) if tail else None, self.split.flush()):
            if piece is not None:
                self._emit(piece)
        if self._pending_logprobs:  # a token shown as nothing (held, or a stop): its figures still go
            self._emit(Chunk())
        end = time.perf_counter()
        self.usage.completion_tokens = self.n_out
        self.timings.total_s = end - self.t0
        if not self.timings.prompt_s:
            self.timings.prompt_s = self.timings.total_s
        self.timings.decode_s = end - self._t_first if self.n_out else 0.0
        if self.lookup is not None:
            self.timings.decode_steps = self.steps
        last = Chunk(done=True, finish_reason=finish, usage=self.usage, timings=self.timings,  # type: ignore[arg-type]
                     stop_sequence=self.stop_sequence)
        if isinstance(self.split, AnswerStream):
            self.split.finish(last)
            self.finish = last.finish_reason
        self.out.append(last)

    def free(self) -> None:
        self.images = []  # the image chunks go with their last reference
        if self.sampler is not None:
            self.sampler.free()
            self.sampler = None
