"""Documents: indexing throughput against llama.cpp's own embedding path, query latency at
10k and 100k chunks, and memory while indexing a 500-page PDF. Same model and threads.

- throughput: the same chunks embedded (a) by our indexing path: the embedding engine's
  child process in batches of 64, vectors written to the SQLite index, and (b) by raw
  llama-cpp-python `Llama.embed` in this process (llama-server's path), n_batch 512 both;
  rounds alternate, medians of per-round ratios.
- latency: an index of N chunks of real text (the Python 3.11 library reference as Debian
  ships it, python3.11-doc: its ~300 pages parsed and chunked by our own code, repeated
  to reach N, so each word matches the share of chunks it would in real documents) and
  random unit vectors stored as they would be (embedding 100,000 chunks takes hours on
  this CPU; the vector search's cost does not depend on the values). Hybrid search
  (embed the question with the real model, FTS5, vector search, fusion) for the 20
  questions of bench/documents_quality.py, after one warm-up; p50 and p95. Without the
  docs package, a 35-word synthetic text (every chunk then matches every keyword: a
  worst case for FTS5, said in the output).
- memory: peak RSS of this process, the parser and the embedding processes (psutil every
  0.2 s) while a 500-page PDF written with fpdf2 is indexed.

    uv run --extra test python bench/documents_speed.py [--threads T] [--rounds R] [--docs DIR]
        [--skip-throughput] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

WORDS = ("lighthouse keeper storm gale wind register lamp wick harbour ship signal horn fog tide rock coast chart "
         "compass beacon weather watch night dawn log entry rope boat crew sea wave island cliff harbourmaster").split()


def sentences(n: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    return [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(120, 160))).capitalize() + "." for _ in range(n)]


def throughput(model: Path, threads: int, rounds: int, n: int) -> None:
    import llama_cpp

    from assistant.documents.chunk import content_hash
    from assistant.documents.index import DocumentIndex
    from assistant.engines.embedding_host import EmbeddingProxy

    texts = sentences(n)
    proxy = EmbeddingProxy(niceness=0)
    proxy.load(model, n_threads=threads)
    llm = llama_cpp.Llama(str(model), embedding=True, n_ctx=512, n_batch=512, n_ubatch=512, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    ratios, ours_r, base_r = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        index = DocumentIndex(Path(tmp) / "i.sqlite3")
        for r in range(rounds):
            t0 = time.perf_counter()
            llm.embed(texts, normalize=True)
            base = n / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            vecs = proxy.embed(texts)
            with index.write() as c:
                c.executemany("INSERT OR REPLACE INTO vectors(model, hash, vec) VALUES (?, ?, ?)",
                              [(f"r{r}", content_hash(t), v.tobytes()) for t, v in zip(texts, vecs)])
            ours = n / (time.perf_counter() - t0)
            ours_r.append(ours)
            base_r.append(base)
            ratios.append(ours / base)
            print(f"  round {r + 1}: ours {ours:.1f} chunks/s, llama-cpp-python embed {base:.1f} chunks/s, ratio {ours / base:.3f}")
        index.close()
    proxy.unload()
    llm.close()
    print(f"throughput ({n} chunks of ~200 tokens, {threads} thread(s)): ours {statistics.median(ours_r):.1f} chunks/s, "
          f"baseline {statistics.median(base_r):.1f} chunks/s, median ratio {statistics.median(ratios):.3f}")


def real_texts(docs: Path) -> list[str]:
    """Chunks of the Python library reference, cut by our own parser and chunker."""
    from assistant.documents.chunk import chunk_file
    from assistant.documents.parse import parse_file

    out: list[str] = []
    for page in sorted(docs.glob("*.html")):
        out.extend(c.text for c in chunk_file(parse_file(page)))
    return out


def latency(model: Path, threads: int, sizes: list[int], docs: Path) -> None:
    from documents_quality import QUESTIONS

    from assistant.documents.index import DocumentIndex
    from assistant.documents.retrieve import Retriever
    from assistant.engines.embedding_host import EmbeddingProxy

    proxy = EmbeddingProxy(niceness=0)
    proxy.load(model, n_threads=threads)
    rnd = np.random.default_rng(0)
    if docs.is_dir():
        texts, questions, what = real_texts(docs), [q for q, _page in QUESTIONS], f"real text, {docs}"
    else:
        texts = sentences(2000)
        questions = [" ".join(random.Random(i).sample(WORDS, 6)) for i in range(21)]
        what = "SYNTHETIC 35-word text: every chunk matches every keyword (worst case for FTS5)"
    print(f"latency corpus: {len(texts):,} distinct chunks ({what})")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            index = DocumentIndex(Path(tmp) / "i.sqlite3")
            col = index.ensure_collection("bench")
            with index.write() as c:
                c.execute("INSERT INTO files(collection_id, path, kind, status) VALUES (?, 'bench.pdf', 'pdf', 'indexed')",
                          (col.id,))
                rows, vecs = [], []
                for i in range(n):
                    h = f"{i:032x}"
                    rows.append((1, i, texts[i % len(texts)], i // 3 + 1, h))
                    v = rnd.standard_normal(384).astype(np.float32)
                    vecs.append(("m", h, (v / np.linalg.norm(v)).tobytes()))
                c.executemany("INSERT INTO chunks(file_id, ord, text, page, hash) VALUES (?, ?, ?, ?, ?)", rows)
                c.executemany("INSERT INTO vectors(model, hash, vec) VALUES (?, ?, ?)", vecs)
            retriever = Retriever(index)
            retriever.search(questions[0], [col.id], model="m", embed=proxy.embed)  # loads the matrix once
            times = []
            for q in questions[1:]:
                t0 = time.perf_counter()
                retriever.search(q, [col.id], model="m", embed=proxy.embed)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            print(f"query latency at {n:,} chunks ({retriever.vectors.backend}): p50 {statistics.median(times):.1f} ms, "
                  f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms (hybrid: embed + FTS5 + vectors + fusion)")
            index.close()
    proxy.unload()


def memory(model: Path, threads: int, pages: int) -> None:
    from fpdf import FPDF

    from assistant.documents.service import Documents

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASSISTANT_HOME"] = str(Path(tmp) / "home")
        pdf = FPDF()
        pdf.set_font("Helvetica", size=10)
        texts = sentences(pages * 2, seed=7)
        for p in range(pages):
            pdf.add_page()
            pdf.multi_cell(0, 5, texts[2 * p] + "\n\n" + texts[2 * p + 1])
        path = Path(tmp) / "book.pdf"
        pdf.output(str(path))
        me = psutil.Process()
        peak = {"app": 0, "children": 0}
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                peak["app"] = max(peak["app"], me.memory_info().rss)
                kids = 0
                for c in me.children(recursive=True):
                    try:
                        kids += c.memory_info().rss
                    except psutil.Error:
                        pass
                peak["children"] = max(peak["children"], kids)
                time.sleep(0.2)

        t = threading.Thread(target=watch, daemon=True)
        base = me.memory_info().rss
        t.start()
        t0 = time.perf_counter()
        with Documents(n_threads=threads) as docs:
            docs.set_embedding_model(model)
            docs.add("book", [path])
            report = docs.sync("book")
            chunks = docs.infos()[0].chunks
        stop.set()
        t.join()
        mb = 1024**2
        print(f"memory indexing a {pages}-page PDF ({path.stat().st_size / mb:.1f} MB, {chunks} chunks, "
              f"{time.perf_counter() - t0:.0f} s, {report.summary()}): app process peak {peak['app'] / mb:.0f} MB "
              f"(+{(peak['app'] - base) / mb:.0f} MB over its start), parser + embedding processes peak "
              f"{peak['children'] / mb:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chunks", type=int, default=96)
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--docs", type=Path, default=Path("/usr/share/doc/python3.11/html/library"))
    args = ap.parse_args()
    from support.minilm_gguf import gguf_path

    model = gguf_path()
    if not args.skip_throughput:
        throughput(model, args.threads, args.rounds, args.chunks)
    latency(model, args.threads, [10_000, 100_000], args.docs)
    if not args.skip_memory:
        memory(model, args.threads, args.pages)


if __name__ == "__main__":
    main()
