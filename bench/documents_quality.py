"""Retrieval quality on real documents reachable offline: the Python 3.11 library reference
as Debian ships it (`apt-get install python3.11-doc`, /usr/share/doc/python3.11/html).

40 pages are indexed (the 20 that answer the questions and 20 others). The questions were
written before any tuning, each with the page that answers it; the first 10 are the
tuning split, the last 10 held out (nothing in the code was tuned on either: RRF's K=60
and the candidate count are the literature's defaults). A passage is relevant when it
comes from the answering page; the ranking is read at file level (each file at its first
place). Reports recall@5 and nDCG@10 for keywords (FTS5), vectors, hybrid (RRF), and
whether whole documents would fit a 4,096-token window instead.

With `--all-pages` every page of the library reference is indexed (~300 pages, ~5,600
chunks): the same questions among many more near misses.

    uv run --extra test python bench/documents_quality.py [--docs DIR] [--threads T] [--all-pages]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

QUESTIONS = [  # (question, answering page); written before the first run
    ("How do I create a temporary directory that is removed automatically?", "tempfile.html"),
    ("parse command-line options and arguments", "argparse.html"),
    ("compute the SHA-256 digest of some bytes", "hashlib.html"),
    ("read and write rows of comma separated values", "csv.html"),
    ("match text against a regular expression pattern", "re.html"),
    ("serialize Python objects to JSON text", "json.html"),
    ("copy a whole directory tree recursively", "shutil.html"),
    ("format a date as text with strftime", "datetime.html"),
    ("run callables in a pool of worker threads and get futures", "concurrent.futures.html"),
    ("send an HTTP GET request and read the response", "urllib.request.html"),
    # held out
    ("generate random numbers from a normal distribution", "random.html"),
    ("compress a file with gzip", "gzip.html"),
    ("count how many times each item occurs", "collections.html"),
    ("iterate over all combinations and permutations of a list", "itertools.html"),
    ("start a new process and read its output", "subprocess.html"),
    ("write log messages to a file with different severity levels", "logging.html"),
    ("exact decimal arithmetic with rounding for money", "decimal.html"),
    ("work with filesystem paths as objects", "pathlib.html"),
    ("open a connection to an SQLite database and run queries", "sqlite3.html"),
    ("measure the execution time of small code snippets", "timeit.html"),
]
DISTRACTORS = ["string.html", "math.html", "functools.html", "socket.html", "threading.html", "zipfile.html",
               "time.html", "pickle.html", "copy.html", "enum.html", "dataclasses.html", "glob.html", "io.html",
               "heapq.html", "statistics.html", "base64.html", "textwrap.html", "uuid.html", "secrets.html", "struct.html"]


def metrics(ranked_files: list[str], target: str) -> tuple[float, float]:
    files: list[str] = []
    for f in ranked_files:
        if f not in files:
            files.append(f)
    recall5 = 1.0 if target in files[:5] else 0.0
    ndcg = 1.0 / math.log2(files.index(target) + 2) if target in files[:10] else 0.0
    return recall5, ndcg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=Path, default=Path("/usr/share/doc/python3.11/html/library"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--all-pages", action="store_true",
                    help="index every page of the library reference (~300) as distractors, not 20: a harder set")
    args = ap.parse_args()
    if not args.docs.is_dir():
        sys.exit(f"{args.docs} is missing: apt-get install python3.11-doc")
    from support.minilm_gguf import gguf_path

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ASSISTANT_HOME"] = str(Path(tmp) / "home")
        from assistant.documents.service import Documents

        pages = [args.docs / p for _, p in QUESTIONS] + [args.docs / p for p in DISTRACTORS]
        if args.all_pages:
            pages = sorted(args.docs.glob("*.html"))
        with Documents(n_threads=args.threads) as docs:
            docs.set_embedding_model(gguf_path())
            docs.add("pydoc", [p for p in pages if p.exists()])
            report = docs.sync("pydoc")
            info = docs.infos()[0]
            chars = docs.index.text_chars([docs.collection("pydoc").id])
            print(f"indexed {info.indexed} pages, {info.chunks} chunks in {report.seconds:.0f} s ({report.summary()})")
            for split, qs in (("tuning", QUESTIONS[:10]), ("held-out", QUESTIONS[10:])):
                for mode in ("keyword", "vector", "hybrid"):
                    r5 = nd = 0.0
                    for q, target in qs:
                        got = docs.search(q, ["pydoc"], top_k=10, mode=mode)
                        ranked = [Path(p.path).name for p in got.candidates[:50]]
                        a, b = metrics(ranked, target)
                        r5, nd = r5 + a, nd + b
                    print(f"  {split:8} {mode:7}: recall@5 {r5 / len(qs):.2f}  nDCG@10 {nd / len(qs):.3f}")
            print(f"  whole documents: {chars:,} characters (~{chars // 4:,} tokens) do not fit a 4,096-token window: "
                  "not applicable to this set")


if __name__ == "__main__":
    main()
