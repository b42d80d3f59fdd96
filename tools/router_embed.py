"""Embed the router's training and validation prompts once, for tools/fit_router.py.

Development time only. Runs in the project's environment (llama.cpp), so that the
fitting environment (scikit-learn) needs no llama.cpp: the vectors of each prompt's
instruction (router_semantic.instruction_text) and of each earlier user turn, and the
probe sentence's vector, go to an .npz file that fit_router.py reads. The test split
(test6.jsonl) is never embedded here.

    PYTHONPATH=. .venv/bin/python tools/router_embed.py [--model PATH] [--out FILE]

Without --model, the test suite's all-MiniLM-L6-v2 GGUF (tests/support/minilm_gguf.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from assistant.chat.router_semantic import MAX_TOKENS, PROBE, instruction_text  # noqa: E402
from assistant.engines.embedding_host import EmbeddingProxy  # noqa: E402

DATA = ROOT / "tests" / "chat" / "router_data"
# every split but the held-out test split
FILES = [DATA / f"{n}.jsonl" for n in ("train", "train2", "train3", "train4", "validation", "test", "test2", "test3", "test4", "test5")]
FILES.append(ROOT / "tests" / "chat" / "router_prompts.jsonl")
DEFAULT_OUT = Path.home() / ".cache" / "assistant-bench" / "router_embeddings.npz"


def texts() -> list[str]:
    out: set[str] = set()
    for f in FILES:
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            out.add(instruction_text(row["prompt"]))
            out.update(instruction_text(m["content"]) for m in row.get("history", []) if m["role"] == "user")
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="GGUF embedding model (default: the tests' all-MiniLM-L6-v2)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    if args.model is None:
        from support.minilm_gguf import gguf_path

        args.model = gguf_path()
    items = texts()
    proxy = EmbeddingProxy(niceness=10)
    proxy.load(args.model)
    try:
        vectors = proxy.embed(items, max_tokens=MAX_TOKENS)  # as the router embeds them
        probe = proxy.embed([PROBE])[0]
    finally:
        proxy.unload()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, texts=np.array(items), vectors=vectors.astype(np.float32),
                        probe=probe.astype(np.float32), model=np.array(args.model.name))
    print(f"wrote {args.out}: {len(items)} texts, dim {vectors.shape[1]}, model {args.model.name}")


if __name__ == "__main__":
    main()
