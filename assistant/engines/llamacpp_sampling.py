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

A grammar (structured output: `GenParams.grammar`, GBNF) is llama.cpp's grammar sampler,
applied before the chain: every token the grammar does not allow next is set to -inf
before anything else sees the logits, and end-of-generation is allowed only where the
grammar is complete. Run over the whole vocabulary that costs 40 ms and more a token
(262,144 token pieces matched against the grammar's stacks), so it runs as llama-server
runs it (common/sampling.cpp, rejection sampling): the chain picks a token as without a
grammar, the grammar checks that one token, and only when it is refused is the pick made
again with the grammar first. That second pick looks at the 1,024 likeliest tokens first:
when the grammar allows at least top-k of them (1 for greedy), the top-k allowed tokens
of the whole vocabulary are among them, so the chain sees what it would see after a
grammar over every token; else (a penalty, a bias, no top-k, too few allowed) the grammar
runs over the whole vocabulary.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable

import numpy as np

from assistant.core.types import GenParams
from assistant.errors import GrammarError

COLUMNS = 1024
MAX_TOP_K = 256  # well under COLUMNS: the bound stays tight
MAX_CANDIDATES = 8192  # a flatter spread than that (rare): the full path
GRAMMAR_TOP = 1024  # a refused pick: the grammar looks at these likeliest tokens first
_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])


PENALTY_LAST_N = 64  # llama-server's default window of the penalties


def grammar_sampler(lib: Any, vocab: Any, grammar: str, triggers: list[str] | None = None) -> Any:
    """llama.cpp's grammar sampler for a GBNF grammar (root rule "root"); GrammarError when
    it does not parse (llama.cpp returns NULL and logs why: never a crash). With `triggers`
    (regular expressions) it is lazy: it holds nothing until the answer's text matches one,
    then holds the answer from the match on (tool calls, as llama-server does)."""
    if triggers:
        patterns = (ctypes.c_char_p * len(triggers))(*[t.encode("utf-8") for t in triggers])
        sampler = lib.llama_sampler_init_grammar_lazy_patterns(vocab, grammar.encode("utf-8"), b"root", patterns,
                                                                len(triggers), None, 0)
    else:
        sampler = lib.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        raise GrammarError(
            "The answer's grammar (the structured-output format) could not be parsed by llama.cpp.",
            "Check the grammar (GBNF, with a rule called root), or the JSON schema it was made from.")
    return sampler


def build_chain(lib: Any, vocab: Any, params: GenParams) -> Any:
    """The sampler chain for `params` (logit bias, penalties, then greedy or
    top-k/top-p/min-p/temperature/dist), in llama-server's order. A grammar is not in it:
    `Sampler` applies it first, itself."""
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    add = lambda s: lib.llama_sampler_chain_add(chain, s)  # noqa: E731
    n_vocab = lib.llama_vocab_n_tokens(vocab)
    if params.logit_bias:
        biases = [(int(t), float(b)) for t, b in params.logit_bias.items() if 0 <= int(t) < n_vocab]
        arr = (lib.llama_logit_bias * len(biases))(*[lib.llama_logit_bias(t, b) for t, b in biases])
        add(lib.llama_sampler_init_logit_bias(n_vocab, len(biases), arr))  # copies the array
    if penalised(params):
        repeat = params.repeat_penalty if params.repeat_penalty else 1.0
        add(lib.llama_sampler_init_penalties(n_vocab, PENALTY_LAST_N, repeat, params.frequency_penalty, params.presence_penalty))
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


def _logits_address(lib: Any) -> Callable[[Any, int], int | None]:
    """llama_get_logits_ith returning the address as an int: no float pointer to cast on
    every token. A binding that does not expose its library gets the cast."""
    cdll = getattr(getattr(lib, "llama_cpp", None), "_lib", None)
    if cdll is None:
        return lambda ctx, idx: ctypes.cast(lib.llama_get_logits_ith(ctx, idx), ctypes.c_void_p).value
    fn = cdll["llama_get_logits_ith"]  # a new function object: the binding's own keeps its types
    fn.argtypes, fn.restype = [ctypes.c_void_p, ctypes.c_int32], ctypes.c_void_p
    return fn  # type: ignore[no-any-return]


def penalised(params: GenParams) -> bool:
    return (bool(params.repeat_penalty) and params.repeat_penalty != 1.0) or bool(params.frequency_penalty) or bool(
        params.presence_penalty)


class Sampler:
    """Picks tokens from the logits of one context; `sample(i)` as llama_sampler_sample(…, i)."""

    def __init__(self, lib: Any, ctx: Any, vocab: Any, params: GenParams, fast: bool = True) -> None:
        self._lib, self._ctx = lib, ctx
        self.grammar = grammar_sampler(lib, vocab, params.grammar, params.grammar_triggers) if params.grammar is not None else None
        self.chain = build_chain(lib, vocab, params)
        self._n_vocab = int(lib.llama_vocab_n_tokens(vocab))
        big = self._n_vocab >= 8 * COLUMNS
        self.mode = "full"
        # a penalty or a bias may lift a token from below the bound: those chains see every logit
        if fast and big and not penalised(params) and not params.logit_bias:
            if params.temperature <= 0:
                self.mode = "greedy"
            elif 0 < params.top_k <= MAX_TOP_K:
                self.mode = "top_k"
        self._k = params.top_k
        self._rows = self._n_vocab // COLUMNS
        self._views: dict[int | None, tuple[np.ndarray, np.ndarray]] = {}
        self._address = _logits_address(lib)
        if self.mode == "top_k":
            self._data = (lib.llama_token_data * MAX_CANDIDATES)()
            view = np.frombuffer(self._data, dtype=_TOKEN_DATA)
            self._ids, self._values = view["id"], view["logit"]  # p: the chain's softmax sets it
            self._cur = lib.llama_token_data_array(self._data, 0, -1, False)
        if self.grammar is not None:
            # the chain's own pick (checked against the grammar after) takes the quick path above
            self._base, self.mode = self.mode, "grammar"
            # top-M before a full pass: exact when top-k (or greedy's 1) allowed tokens are among them
            self._need = 1 if params.temperature <= 0 else params.top_k
            self._reject = fast  # fast=False: the grammar over every token, then the chain (the reference)
            self._top_first = fast and big and not penalised(params) and not params.logit_bias and self._need > 0
            self._all = (lib.llama_token_data * self._n_vocab)()
            view = np.frombuffer(self._all, dtype=_TOKEN_DATA)
            self._all_ids, self._all_values = view["id"], view["logit"]
            self._arange = np.arange(self._n_vocab, dtype=np.int32)
            self._cur_all = lib.llama_token_data_array(self._all, 0, -1, False)
            self._one = (lib.llama_token_data * 1)()
            self._cur_one = lib.llama_token_data_array(self._one, 1, -1, False)

    def _logits(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
        """The logits at idx, and the same seen as the grid; views kept per address: making
        one takes ~0.1 ms (np.ctypeslib.as_array makes a ctypes type), and each step after
        a decode runs with cold caches, where every call counts (bench/decode_profile.py)."""
        addr = self._address(self._ctx, idx)
        views = self._views.get(addr)
        if views is None:
            if len(self._views) > 64:
                self._views.clear()
            ptr = ctypes.cast(addr, ctypes.POINTER(ctypes.c_float))  # type: ignore[arg-type]  # NULL: numpy refuses it
            x = np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))
            views = self._views[addr] = (x, x[: self._rows * COLUMNS].reshape(self._rows, COLUMNS))
        return views

    def logits(self, idx: int) -> np.ndarray:
        """The raw logits at idx (log-probabilities, when asked for, are computed from them)."""
        return self._logits(idx)[0]

    def sample(self, idx: int = -1) -> int:
        lib = self._lib
        if self.mode == "grammar":
            return self._sample_grammar(idx)
        if self.mode == "full":
            return int(lib.llama_sampler_sample(self.chain, self._ctx, idx))
        x, grid = self._logits(idx)
        if self.mode == "greedy":
            tok = int(x.argmax())
        else:
            cand = self._candidates(x, grid)
            if cand is None:
                return int(lib.llama_sampler_sample(self.chain, self._ctx, idx))
            tok = self._chain_pick(cand, x)
        lib.llama_sampler_accept(self.chain, tok)
        return tok

    def _chain_pick(self, cand: np.ndarray, x: np.ndarray) -> int:
        """The chain's pick among the candidates (not accepted yet)."""
        n = len(cand)
        self._ids[:n] = cand
        self._values[:n] = x[cand]
        cur = self._cur
        cur.size, cur.selected, cur.sorted = n, -1, False
        self._lib.llama_sampler_apply(self.chain, ctypes.byref(cur))
        return int(cur.data[cur.selected].id)

    def _apply(self, sampler: Any, tokens: np.ndarray | None, x: np.ndarray) -> Any:
        """Apply `sampler` to the given tokens (None: every token) with their logits."""
        n = self._n_vocab if tokens is None else len(tokens)
        self._all_ids[:n] = self._arange if tokens is None else tokens
        self._all_values[:n] = x if tokens is None else x[tokens]
        cur = self._cur_all
        cur.size, cur.selected, cur.sorted = n, -1, False
        self._lib.llama_sampler_apply(sampler, ctypes.byref(cur))
        return cur

    def _allowed(self, tok: int) -> bool:
        one, cur = self._one, self._cur_one
        one[0].id, one[0].logit, one[0].p = tok, 0.0, 0.0
        cur.size, cur.selected, cur.sorted = 1, -1, False
        self._lib.llama_sampler_apply(self.grammar, ctypes.byref(cur))
        return bool(np.isfinite(one[0].logit))

    def _sample_grammar(self, idx: int) -> int:
        lib = self._lib
        x, grid = self._logits(idx)
        tok = -1
        if self._reject:  # the chain's own pick first, as without a grammar
            cand = self._candidates(x, grid) if self._base == "top_k" else None
            if self._base == "greedy":
                tok = int(x.argmax())
            elif cand is not None:
                tok = self._chain_pick(cand, x)
            else:
                cur = self._apply(self.chain, None, x)
                tok = int(cur.data[cur.selected].id)
        if tok < 0 or not self._allowed(tok):  # refused: pick again, grammar first
            cur = None
            if self._top_first:
                top = np.argpartition(x, -GRAMMAR_TOP)[-GRAMMAR_TOP:]
                cur = self._apply(self.grammar, top, x)
                if int(np.isfinite(self._all_values[:GRAMMAR_TOP]).sum()) < self._need:
                    cur = None
            if cur is None:
                cur = self._apply(self.grammar, None, x)
            lib.llama_sampler_apply(self.chain, ctypes.byref(cur))
            tok = int(cur.data[cur.selected].id)
        lib.llama_sampler_accept(self.grammar, tok)
        lib.llama_sampler_accept(self.chain, tok)
        return tok

    def _candidates(self, x: np.ndarray, grid: np.ndarray) -> np.ndarray | None:
        """Every token whose logit is at least the k-th largest column maximum, in vocabulary
        order. The grid leaves out a vocabulary's last partial row; its bound is still one
        for the whole (more tokens only raise the k-th largest)."""
        k = self._k
        col_max = grid.max(axis=0)
        bound = np.partition(col_max, COLUMNS - k)[COLUMNS - k]
        cand = np.flatnonzero(x >= bound)
        if not k <= len(cand) <= MAX_CANDIDATES:
            return None  # NaN logits, or a spread too flat to gain anything
        return cand

    def free(self) -> None:
        if self.grammar is not None:
            self._lib.llama_sampler_free(self.grammar)
            self.grammar = None
        if self.chain is not None:
            self._lib.llama_sampler_free(self.chain)
            self.chain = None
