"""The sampler's quick paths pick, token for token, what llama_sampler_sample picks with
the same chain and seed, on the real model's logits (Gemma 3: 262,144 tokens)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.llamacpp_sampling import COLUMNS, Sampler


@pytest.fixture(scope="module")
def engine(gemma_path: Path):  # type: ignore[no-untyped-def]
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=1024, n_threads=2, prompt_lookup="off"))
    yield e
    e.unload()


def run(e: LlamaCppEngine, params: GenParams, fast: bool, n: int = 40) -> tuple[list[int], str]:
    """n tokens of an answer, each picked by a Sampler and fed back."""
    lib, ctx = e._lib, e._ctx
    e._clear_cache()
    assert e._kv is not None
    e._kv.evaluate(e.prompt_tokens([Message("user", "Write a short poem about the sea and a lighthouse.")]))
    sampler = Sampler(lib, ctx, e._vocab, params, fast=fast)
    one = (lib.llama_token * 1)()
    out = []
    try:
        for _ in range(n):
            tok = sampler.sample(-1)
            out.append(tok)
            one[0] = tok
            assert lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1)) == 0
        return out, sampler.mode
    finally:
        sampler.free()


@pytest.mark.parametrize(
    ("params", "mode"),
    [
        (GenParams(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, seed=11), "top_k"),
        (GenParams(temperature=1.5, top_k=200, top_p=1.0, min_p=0.0, seed=12), "top_k"),
        (GenParams(temperature=1.0, top_k=1, top_p=1.0, min_p=0.0, seed=13), "top_k"),
        (GenParams(temperature=0.0, seed=14), "greedy"),
        (GenParams(temperature=0.8, top_k=40, repeat_penalty=1.1, seed=15), "full"),  # penalties see every token
        (GenParams(temperature=0.8, top_k=0, top_p=0.9, seed=16), "full"),  # no top-k: the whole vocabulary
    ],
)
def test_the_quick_path_picks_what_llama_cpp_picks(engine: LlamaCppEngine, params: GenParams, mode: str) -> None:
    quick, used = run(engine, params, fast=True)
    assert used == mode
    slow, used_slow = run(engine, params, fast=False)
    assert used_slow == "full"
    assert quick == slow
    assert len(set(quick)) > 5  # a real answer, not one token over and over


def test_each_position_of_a_draft_batch(engine: LlamaCppEngine) -> None:
    """Prompt lookup samples logits at positions 0..k of one batch: the same picks there too."""
    lib, ctx = engine._lib, engine._ctx
    from assistant.engines.llamacpp_gen import DraftBatch

    params = GenParams(temperature=0.9, top_k=40, top_p=0.95, min_p=0.05, seed=21)
    picks = {}
    for fast in (True, False):
        engine._clear_cache()
        assert engine._kv is not None
        tokens = engine.prompt_tokens([Message("user", "Count from one to twenty.")])
        engine._kv.evaluate(tokens[:-4])
        batch = DraftBatch(lib, 4)
        sampler = Sampler(lib, ctx, engine._vocab, params, fast=fast)
        try:
            assert lib.llama_decode(ctx, batch.fill(tokens[-4:], len(tokens) - 4)) == 0
            picks[fast] = [sampler.sample(i) for i in range(4)]
        finally:
            sampler.free()
            batch.free()
    assert picks[True] == picks[False]


def test_the_bound_keeps_every_top_k_token() -> None:
    """On logits with ties, a flat spread and a vocabulary that is not a whole grid."""
    rng = np.random.default_rng(5)
    s = Sampler.__new__(Sampler)
    for n_vocab, k in ((262_144 + 37, 40), (151_936, 20), (32_000, 256), (COLUMNS * 8, 1)):
        rows, s._k = n_vocab // COLUMNS, k
        for spread in (0.01, 3.0, 30.0):
            x = (rng.standard_normal(n_vocab) * spread).astype(np.float32)
            x[rng.integers(0, n_vocab, 50)] = x.max()  # ties at the top
            x[-1] = x.max() + 1  # the largest in the last partial row, outside the grid
            cand = s._candidates(x, x[: rows * COLUMNS].reshape(rows, COLUMNS))
            if cand is None:  # too flat to gain: the full path
                continue
            kth = np.sort(x)[-k]
            assert set(np.flatnonzero(x >= kth).tolist()) <= set(cand.tolist())  # the chain's top-k then picks them
            assert list(cand) == sorted(cand)
    x = np.full(COLUMNS * 8, np.nan, dtype=np.float32)
    s._k = 40
    assert s._candidates(x, x.reshape(8, COLUMNS)) is None


def test_a_binding_without_its_library_gets_the_logits_address_by_a_cast(engine: LlamaCppEngine) -> None:
    from types import SimpleNamespace

    from assistant.engines.llamacpp_sampling import _logits_address

    lib = engine._lib
    plain = _logits_address(SimpleNamespace(llama_get_logits_ith=lib.llama_get_logits_ith))
    quick = _logits_address(lib)
    engine._clear_cache()
    assert engine._kv is not None
    engine._kv.evaluate(engine.prompt_tokens([Message("user", "Hello")]))
    assert plain(engine._ctx, -1) == quick(engine._ctx, -1) != 0
