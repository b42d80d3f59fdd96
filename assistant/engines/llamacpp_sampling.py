"""Choosing each answer token: llama.cpp's own sampler chain, fed only the tokens that
can be chosen.

`llama_sampler_sample` copies every logit (262,144 for Gemma 3) into a candidate array
and partial-sorts it for top-k, on every token: ~0.6 ms, 3% of a decode step of a small
model on the CPU (bench/decode_profile.py). When the chain starts with top-k and
nothing before it needs the whole vocabulary (no repeat penalty), the chain is given
only the tokens at or above a bound on the k-th largest logit, found with numpy in
~0.2 ms: the logits are seen as a grid of 1,024 columns, and the k-th largest column
maximum is such a bound (k columns each hold a logit at least that large). The chain
then does what it always does (its own top-k, top-p, min-p, temperature, one random
draw from its own generator), so the token is the one `llama_sampler_sample` picks;
tests/engines/test_llamacpp_sampling.py checks that token for token.

Greedy (temperature 0) is numpy's argmax, the first of equal logits as in llama.cpp's
greedy sampler. Any other chain goes through `llama_sampler_sample`.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from assistant.core.types import GenParams

COLUMNS = 1024
MAX_TOP_K = 256  # well under COLUMNS: the bound stays tight
MAX_CANDIDATES = 8192  # a flatter spread than that (rare): the full path
_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


def build_chain(lib: Any, vocab: Any, params: GenParams) -> Any:
    """The sampler chain for `params` (penalties, then greedy or top-k/top-p/min-p/temperature/dist)."""
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    add = lambda s: lib.llama_sampler_chain_add(chain, s)  # noqa: E731
    if penalised(params):
        add(lib.llama_sampler_init_penalties(lib.llama_vocab_n_tokens(vocab), 64, params.repeat_penalty, 0.0, 0.0))
    if params.temperature <= 0:
        add(lib.llama_sampler_init_greedy())
        return chain
    if params.top_k > 0:
        add(lib.llama_sampler_init_top_k(params.top_k))
    if 0 < params.top_p < 1:
        add(lib.llama_sampler_init_top_p(params.top_p, 1))
    if params.min_p > 0:
        add(lib.llama_sampler_init_min_p(params.min_p, 1))
    add(lib.llama_sampler_init_temp(params.temperature))
    seed = params.seed if params.seed is not None and params.seed >= 0 else 0xFFFFFFFF
    add(lib.llama_sampler_init_dist(seed))
    return chain


def penalised(params: GenParams) -> bool:
    return bool(params.repeat_penalty) and params.repeat_penalty != 1.0


class Sampler:
    """Picks tokens from the logits of one context; `sample(i)` as llama_sampler_sample(…, i)."""

    def __init__(self, lib: Any, ctx: Any, vocab: Any, params: GenParams, fast: bool = True) -> None:
        self._lib, self._ctx = lib, ctx
        self.chain = build_chain(lib, vocab, params)
        self._n_vocab = int(lib.llama_vocab_n_tokens(vocab))
        big = self._n_vocab >= 8 * COLUMNS
        self.mode = "full"
        if fast and big and not penalised(params):
            if params.temperature <= 0:
                self.mode = "greedy"
            elif 0 < params.top_k <= MAX_TOP_K:
                self.mode = "top_k"
        self._k = params.top_k
        self._views: dict[int | None, np.ndarray] = {}
        if self.mode == "top_k":
            self._data = (lib.llama_token_data * MAX_CANDIDATES)()
            self._view = np.frombuffer(self._data, dtype=_TOKEN_DATA)
            self._cur = lib.llama_token_data_array(self._data, 0, -1, False)
            self._rows = self._n_vocab // COLUMNS

    def _logits(self, idx: int) -> np.ndarray:
        # a view per address: np.ctypeslib.as_array alone takes ~0.1 ms (it makes a ctypes type)
        ptr = self._lib.llama_get_logits_ith(self._ctx, idx)
        addr = ctypes.cast(ptr, ctypes.c_void_p).value
        view = self._views.get(addr)
        if view is None:
            if len(self._views) > 64:
                self._views.clear()
            view = self._views[addr] = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))
        return view

    def sample(self, idx: int = -1) -> int:
        lib = self._lib
        if self.mode == "full":
            return int(lib.llama_sampler_sample(self.chain, self._ctx, idx))
        x = self._logits(idx)
        if self.mode == "greedy":
            tok = int(x.argmax())
        else:
            cand = self._candidates(x)
            if cand is None:
                return int(lib.llama_sampler_sample(self.chain, self._ctx, idx))
            n = len(cand)
            view = self._view
            view["id"][:n] = cand
            view["logit"][:n] = x[cand]
            view["p"][:n] = 0.0
            cur = self._cur
            cur.data, cur.size, cur.selected, cur.sorted = self._data, n, -1, False
            lib.llama_sampler_apply(self.chain, ctypes.byref(cur))
            tok = int(cur.data[cur.selected].id)
        lib.llama_sampler_accept(self.chain, tok)
        return tok

    def _candidates(self, x: np.ndarray) -> np.ndarray | None:
        """Every token whose logit is at least the k-th largest column maximum, in vocabulary order."""
        k, rows = self._k, self._rows
        grid = x[: rows * COLUMNS].reshape(rows, COLUMNS)
        col_max = grid.max(axis=0)
        bound = col_max[np.argpartition(col_max, COLUMNS - k)[COLUMNS - k]]
        cols = np.flatnonzero(col_max >= bound)
        r, c = np.nonzero(grid[:, cols] >= bound)
        cand = r * COLUMNS + cols[c]
        if rows * COLUMNS < self._n_vocab:
            cand = np.concatenate((cand, np.flatnonzero(x[rows * COLUMNS:] >= bound) + rows * COLUMNS))
        if not k <= len(cand) <= MAX_CANDIDATES:
            return None  # NaN logits, or a spread too flat to gain anything
        cand.sort()
        return cand

    def free(self) -> None:
        if self.chain is not None:
            self._lib.llama_sampler_free(self.chain)
            self.chain = None
