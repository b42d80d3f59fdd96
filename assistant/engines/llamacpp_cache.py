"""The KV cache of one llama.cpp context: which tokens it holds, prompt evaluation in
batches, prefix reuse across turns, and context checkpoints for sliding-window models.

Reuse: the tokens in the cache are remembered. A new request keeps the longest common
prefix and evaluates only what follows it, so turn N of a chat costs the new message,
not the whole history.

Sliding-window models (Gemma 3): the SWA layers keep only their window (`swa_full`
off), as llama-server does. A full-size SWA cache makes those layers attend over the
whole context and decode slows down as a chat grows. With the small cache, cutting the
cache back to a prefix works only while the window before the cut is still held; the
usual next turn appends to the cache and needs no cut. For the other cases (a
regenerated answer, thinking dropped from the history, an edited message) a checkpoint
of the SWA layers is taken once the prompt is evaluated. Their cache holds the window
plus a batch, so the checkpoint also holds the window of any prefix a little shorter
than the prompt: a restore goes back to the checkpoint and cuts it to the prefix needed
(regenerate: the prompt less its last token, which is evaluated again for its logits).
llama-server instead ends a batch a few tokens before the end of the prompt and takes
the checkpoint there; that costs one more pass over the weights per prompt (~20 ms of
a 550-token prompt here, bench/engine_throughput.py). Restoring costs a copy of the
window, not the whole prompt. Without a usable checkpoint the prompt is evaluated again
from the start.

Positions (M-RoPE vision models, Qwen2-VL and later): the record holds one entry per
cell, but an image of N tokens there advances the position by its chunk's n_pos
(max(rows, columns) of its patches), not N, as libmtmd places it. `pos(n)` is the
position of the n-th cell; every decode and every cut (llama_memory_seq_rm takes
positions) goes through it, and a cut never falls inside an image (it moves to its
start). With no such image, positions are the indexes.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any, Callable

from assistant.engines.base import reusable_prefix
from assistant.errors import EngineError

MAX_CHECKPOINTS = 2
LARGE_CHECKPOINT = 256 * 1024 * 1024  # a big model's window (Gemma 3 27B: ~0.4 GB): keep only one


class KvFullError(Exception):
    """llama_decode found no room for a batch (code 1): the cache is shared by the slots."""


class TokenBatch:
    """A reusable llama_batch: tokens of any sequences, with logits where asked.

    `llama_batch_get_one` cannot name a sequence; with several slots in one context every
    token says whose it is. Filling it costs ~0.3 µs a field from Python: ~1 ms for a
    512-token prompt batch, nothing next to its evaluation."""

    def __init__(self, lib: Any, size: int, n_seq: int = 1) -> None:
        self._lib = lib
        self.size = size
        self.batch = lib.llama_batch_init(size, 0, max(1, n_seq))
        self.n = 0

    def clear(self) -> None:
        self.n = 0
        self.batch.n_tokens = 0

    def add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        """Appends a token; its index in the batch (the logits' index when asked for)."""
        b, i = self.batch, self.n
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        self.n = b.n_tokens = i + 1
        return i

    def prompt(self, tokens: list[int], pos0: int, seq: int) -> Any:
        """A batch of one sequence's prompt tokens; logits for the last one only."""
        self.clear()
        last = len(tokens) - 1
        for i, t in enumerate(tokens):
            self.add(t, pos0 + i, seq, i == last)
        return self.batch

    def free(self) -> None:
        if self.batch is not None:
            self._lib.llama_batch_free(self.batch)
            self.batch = None


def window_held(pos_min: int, n: int, n_swa: int) -> bool:
    """With the SWA cells from pos_min on, is the window that token n attends to there?"""
    return pos_min <= 0 or pos_min < n - n_swa


@dataclass
class Checkpoint:
    """The SWA layers' cells after the first n tokens of the record (from pos_min on)."""

    n: int
    pos_min: int
    buf: Any
    size: int

    def holds_window(self, m: int, n_swa: int) -> bool:
        """Cut back to m tokens, does it still hold the window that token m attends to?"""
        return 0 < m <= self.n and window_held(self.pos_min, m, n_swa)


class KvCache:
    """One sequence's part of the context's cache (a slot: llama.cpp's seq_id `seq`)."""

    def __init__(self, lib: Any, ctx: Any, n_ctx: int, n_batch: int, n_swa: int, seq: int = 0,
                 batch: "TokenBatch | None" = None) -> None:
        self._lib, self._ctx = lib, ctx
        self.n_ctx, self.n_batch = n_ctx, n_batch
        self.n_swa = n_swa  # > 0: the SWA layers hold only their window
        self.seq = seq
        self._batch = batch or TokenBatch(lib, n_batch)
        self.on_wipe: Callable[[], None] | None = None  # set by the answer loop: forget every slot
        self.tokens: list[int] = []  # tokens whose K/V are in the cache, in order
        self._images: list[tuple[int, int, int]] = []  # M-RoPE images in it: (start, end, n_pos)
        self._checkpoints: list[Checkpoint] = []
        self._spare: Any = None  # an evicted checkpoint's buffer, for the next one
        self.restored = 0  # checkpoints restored (tests and benchmarks read it)

    def _mem(self) -> Any:
        return self._lib.llama_get_memory(self._ctx)

    def __len__(self) -> int:
        return len(self.tokens)

    # -- positions ---------------------------------------------------------------------
    def pos(self, n: int) -> int:
        """The position of the n-th cell (the one after the first n tokens)."""
        if not self._images:  # every model but an M-RoPE one with an image: each decode step asks
            return n
        return n - sum(end - start - n_pos for start, end, n_pos in self._images if end <= n)

    @property
    def next_pos(self) -> int:
        """Where the next token goes."""
        return self.pos(len(self.tokens))

    def add_image(self, tokens: list[int], n_pos: int) -> None:
        """An image's cells, decoded at next_pos by libmtmd; it advanced n_pos positions."""
        start = len(self.tokens)
        self.tokens.extend(tokens)
        if n_pos != len(tokens):
            self._images.append((start, len(self.tokens), n_pos))

    def _cut_point(self, n: int) -> int:
        """n, or the start of an image it would cut through."""
        for start, end, _n_pos in self._images:
            if start < n < end:
                return start
        return n

    def _drop_after(self, n: int) -> None:
        del self.tokens[n:]
        self._images = [im for im in self._images if im[1] <= n]
        self._cut_checkpoints(n)

    def clear(self, wipe: bool = False) -> None:
        """Forget this sequence's cells. Their data stays, as in llama-server: no cell that
        is not in use is attended to, and zeroing the whole cache costs a memset of it before
        the next prompt (2 ms for 28 MiB here; ~0.5 s for an 8B model's 4 GiB at 32k).
        `wipe` zeroes the whole cache (every sequence's), after a decode failed (what it left
        may be NaN): the caller forgets the other sequences' records too (AnswerLoop.wipe)."""
        if wipe:
            self._lib.llama_memory_clear(self._mem(), True)
            if self.on_wipe is not None:
                self.on_wipe()  # every slot's record: their cells are gone too
        else:
            self._lib.llama_memory_seq_rm(self._mem(), self.seq, -1, -1)
        self.forget()

    def forget(self) -> None:
        """The record only: the cells are gone already (a wipe of the whole cache)."""
        self.tokens = []
        self._images = []
        self._let_go(self._checkpoints)
        self._checkpoints = []

    def trim(self, n: int) -> None:
        """Drop the cache after its first n tokens (rejected draft tokens: always within the window)."""
        n = self._cut_point(n)
        if n < len(self.tokens):
            if not self._lib.llama_memory_seq_rm(self._mem(), self.seq, self.pos(n), -1):
                self.clear()
                return
            self._drop_after(n)

    def _cut_checkpoints(self, n: int) -> None:
        """The record now ends at n: a checkpoint's cells after n are of other tokens."""
        kept: list[Checkpoint] = []
        dropped: list[Checkpoint] = []
        for c in self._checkpoints:
            c.n = min(c.n, n)
            (kept if c.holds_window(c.n, self.n_swa) else dropped).append(c)
        self._let_go(dropped)
        self._checkpoints = kept

    def _let_go(self, dropped: list[Checkpoint]) -> None:
        """Keep one dropped checkpoint's buffer for the next checkpoint."""
        if dropped:
            self._spare = dropped[-1].buf

    # -- reuse ---------------------------------------------------------------------
    def reuse_prefix(self, tokens: list[int]) -> int:
        """Trim the cache to the common prefix with `tokens`; return its length."""
        n = self._cut_point(reusable_prefix(self.tokens, tokens))
        if n >= len(self.tokens):
            return n
        if n > 0 and self.n_swa > 0 and not self._window_held(n):
            n = self._restore(n)
            if n <= 0:
                self.clear()
                return 0
            return n
        if n <= 0 or not self._lib.llama_memory_seq_rm(self._mem(), self.seq, self.pos(n), -1):
            self.clear()
            return 0
        self._drop_after(n)
        return n

    def _window_held(self, n: int) -> bool:
        """Does the SWA cache still hold the window that token n attends to?"""
        return window_held(int(self._lib.llama_memory_seq_pos_min(self._mem(), self.seq)), self.pos(n), self.n_swa)

    def save_checkpoint(self) -> None:
        lib, n = self._lib, len(self.tokens)
        if n <= 0 or any(c.n == n for c in self._checkpoints):
            return
        flag = lib.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
        size = int(lib.llama_state_seq_get_size_ext(self._ctx, self.seq, flag))
        keep = 1 if size > LARGE_CHECKPOINT else MAX_CHECKPOINTS
        # the checkpoint this one pushes out lends its buffer: a new one is zeroed first,
        # which costs more than the copy (3 of 4 ms for Gemma 3 270M; ~0.1 s for a 27B)
        out = len(self._checkpoints) - keep + 1  # how many this one pushes out
        if out > 0:
            self._let_go(self._checkpoints[:out])
            self._checkpoints = self._checkpoints[out:]
        buf, self._spare = self._spare, None
        if buf is None or len(buf) < size:
            buf = (ctypes.c_uint8 * (size + size // 8))()  # room for a window that grows a little
        got = int(lib.llama_state_seq_get_data_ext(self._ctx, buf, len(buf), self.seq, flag))
        if got:
            pos_min = int(lib.llama_memory_seq_pos_min(self._mem(), self.seq))
            self._checkpoints = [*self._checkpoints, Checkpoint(n, pos_min, buf, got)]
        else:
            self._spare = buf

    def _restore(self, n: int) -> int:
        """Go back to the latest checkpoint that holds the window of a prefix of n tokens
        at most; the prefix's length, or 0 when none does."""
        lib, mem = self._lib, self._mem()
        for c in reversed(self._checkpoints):
            m = min(n, c.n)
            if not c.holds_window(m, self.n_swa):
                continue
            if not lib.llama_memory_seq_rm(mem, self.seq, self.pos(m), -1):
                return 0
            if lib.llama_state_seq_set_data_ext(self._ctx, c.buf, c.size, self.seq, lib.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY) != c.size:
                return 0
            if not lib.llama_memory_seq_rm(mem, self.seq, self.pos(m), -1):  # the checkpoint's cells after the prefix
                return 0
            self._drop_after(m)
            self.restored += 1
            return m
        return 0

    # -- evaluation -------------------------------------------------------------------
    def evaluate(self, tokens: list[int], cancel: threading.Event | None = None) -> bool:
        """Evaluate tokens after what is cached, in batches; False if cancelled.

        Cancel is checked between batches and, through llama.cpp's abort callback,
        between the graph's operations inside a batch: a stop during a long prompt does
        not wait for a batch to finish. The callback is set only here, so the one-token
        decode steps of the answer do not pay for it."""
        lib = self._lib
        abort = None
        if cancel is not None and len(tokens) > 1 and hasattr(lib, "llama_set_abort_callback"):
            abort = lib.ggml_abort_callback(lambda _data: cancel.is_set())
            lib.llama_set_abort_callback(self._ctx, abort, None)
        try:
            i = 0
            while i < len(tokens):
                if cancel is not None and cancel.is_set():
                    return False
                end = min(len(tokens), i + self.n_batch)
                part = tokens[i:end]
                rc = lib.llama_decode(self._ctx, self._batch.prompt(part, self.next_pos, self.seq))
                if rc == 2 and cancel is not None and cancel.is_set():
                    self._resync(part)  # aborted: some of the batch may be in the cache
                    return False
                if rc == 1:  # no room: the other slots' cells fill the cache (AnswerLoop makes room)
                    raise KvFullError(len(self.tokens) + len(part))
                if rc != 0:
                    # the cache no longer matches our record; start clean next time
                    self.clear(wipe=True)
                    raise EngineError(f"llama.cpp failed to evaluate the prompt (code {rc}).", "Try a shorter conversation.")
                self.tokens.extend(part)
                i = end
            if self.n_swa > 0 and tokens:
                self.save_checkpoint()
            return True
        finally:
            if abort is not None:
                lib.llama_set_abort_callback(self._ctx, lib.ggml_abort_callback(), None)

    def _resync(self, part: list[int]) -> None:
        """After an aborted batch: keep the record equal to what the cache now holds."""
        lib = self._lib
        try:
            held = int(lib.llama_memory_seq_pos_max(self._mem(), self.seq)) + 1
        except (AttributeError, TypeError):
            held = -1
        full = self.tokens + part
        n = len(self.tokens) + held - self.next_pos  # the part is text: one position a cell
        if 0 < n <= len(full) and held >= self.next_pos and lib.llama_memory_seq_rm(self._mem(), self.seq, held, -1):
            self.tokens = full
            self._drop_after(n)
        else:
            self.clear()
