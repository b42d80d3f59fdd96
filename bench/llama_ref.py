"""llama.cpp's own tools as the baseline of the benchmarks: llama-bench figures and a
llama-server to stream from (built by bench/build_llama_tools.py, same sources and build
options as our llama-cpp-python)."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from build_llama_tools import tool  # type: ignore[import-not-found]


def llama_bench(model: Path, threads: int, depths: tuple[int, ...] = (0,), reps: int = 3, extra: tuple[str, ...] = ()) -> dict[tuple[str, int], float]:
    """{("pp512" | "tg128", depth): tokens/s (mean of reps)}."""
    rows = []
    for depth in depths:  # pp512 at depth 0 only; tg128 at each depth
        cmd = [str(tool("llama-bench")), "-m", str(model), "-t", str(threads), "-p", "512" if depth == 0 else "0",
               "-n", "128", "-d", str(depth), "-r", str(reps), "-o", "json", *extra]
        rows += json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    res = {}
    for row in rows:
        kind = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
        res[(kind, int(row["n_depth"]))] = float(row["avg_ts"])
    return res


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """llama-server on 127.0.0.1; `stream` returns the arrival time of each streamed token."""

    def __init__(self, model: Path, threads: int, n_ctx: int, extra: tuple[str, ...] = ()) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [str(tool("llama-server")), "-m", str(model), "-t", str(threads), "-tb", str(threads), "-c", str(n_ctx),
             "-np", "1", "--host", "127.0.0.1", "--port", str(self.port), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.close()
        raise RuntimeError("llama-server did not start")

    def stream(self, tokens: list[int], n: int, sampling: dict[str, Any]) -> tuple[list[float], dict[str, Any]]:
        body = {"prompt": tokens, "n_predict": n, "stream": True, "cache_prompt": False,
                "samplers": ["top_k", "top_p", "min_p", "temperature"], **sampling}
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request("POST", "/completion", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        stamps: list[float] = []
        final: dict[str, Any] = {}
        for raw in r:
            line = raw.strip()
            if not line.startswith(b"data: "):
                continue
            msg = json.loads(line[6:])
            if msg.get("content"):
                stamps.append(time.perf_counter())
            if msg.get("stop"):
                final = msg
        return stamps, final

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
