"""Precision and recall of the router's "hard" decision on held-out labelled prompts,
and whether the reasons it gives are true.

Splits (tests/chat/router_data/): `train` (train.jsonl to train4.jsonl and the original
tests/chat/router_prompts.jsonl), `validation` (validation.jsonl), `old-test`
(test.jsonl), `old-test2` (test2.jsonl) to `old-test5` (test5.jsonl): all were test splits once and have
been looked at, so they are validation figures now (the threshold's precision target was
chosen on them); `test` (test6.jsonl: written before the last features and fitting, kept
aside and read once). Runs
`assistant.chat.router.assess`, with the instruction's meaning (router_semantic.py:
the tests' all-MiniLM-L6-v2 GGUF, or --embedding-model) unless --no-embedding, and prints: per-split precision/recall for a 1B
model, a per-size table (1B / 8B / 32B) and the confusion matrix on the report
split, reason accuracy on reasons.jsonl, the median and p99 time per decision, and
with --show the misclassified prompts. The weights were fitted on train and
validation only (tools/fit_router.py).

Labels say what a 1B model fails. Every hard row also says `fails`: the largest size
that still fails it ("1B", "8B" or "32B"); at 8B and 32B such a row is hard only up
to that size (the older splits got theirs in the third round, before its fitting).

Reason accuracy: reasons.jsonl lists prompts with their true reasons (keys of
assistant/chat/router_reasons.py; [] for easy prompts that must get none). A prompt
is right when the reasons the router would show (its first three) are all true,
and at least one is named when there are true ones; the generic "looks demanding"
is counted apart, as neither.

    uv run python bench/router_eval.py [--show] [--split test|old-test5|old-test4|old-test3|old-test2|old-test|validation|train]
                                       [--no-embedding] [--embedding-model PATH]

Time per decision is measured in interleaved rounds, with the embedding (the engine's
child process called from the embedder's worker thread, no cache) and without (the
structural model alone: the baseline), and printed with their ratio.

Last line: `precision: P recall: R` for the 1B model on the report split (two
decimals; the test split unless --split says otherwise). Any --split other than
test leaves test6.jsonl out entirely, for use while developing.

Before this data set, the hand-tuned keyword router scored 1.00 / 0.97 on its own
131 tuning prompts, and on the first test split (test.jsonl) precision 0.92, recall 0.22.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.chat.router import LocalModelInfo, RouteDecision, assess  # noqa: E402
from assistant.chat.router_semantic import InstructionEmbedder, Meaning  # noqa: E402
from assistant.chat.router_tradeoff import LEVELS, TRADEOFF_PATH  # noqa: E402
from assistant.core.types import Message  # noqa: E402

DATA = ROOT / "tests" / "chat" / "router_data"
OLD = ROOT / "tests" / "chat" / "router_prompts.jsonl"
SPLITS = ("train", "validation", "old-test", "old-test2", "old-test3", "old-test4", "old-test5", "test")
FILES = {"train": ("train", "train2", "train3", "train4"), "validation": ("validation",), "old-test": ("test",),
         "old-test2": ("test2",), "old-test3": ("test3",), "old-test4": ("test4",),
         "old-test5": ("test5",), "test": ("test6",)}
SIZES = {"1B": 1, "8B": 8, "32B": 32}
MODELS = {
    "1B": LocalModelInfo("Gemma 3 1B", 1.0, 8192),
    "8B": LocalModelInfo("Llama 3.1 8B", 8.0, 8192),
    "32B": LocalModelInfo("Qwen 2.5 32B", 32.0, 32768),
}


@dataclass(frozen=True)
class Case:
    prompt: str
    hard: bool
    why: str
    history: list[Message]
    fails_up_to: int = 1000  # the largest size (billions) that still fails a hard prompt

    def hard_for(self, size: str) -> bool:
        return self.hard and SIZES[size] <= self.fails_up_to


def _read(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        history = [Message(m["role"], m["content"]) for m in row.get("history", [])]
        fails = SIZES.get(row.get("fails", ""), 1000)
        cases.append(Case(row["prompt"], row["label"] == "hard", row.get("why", ""), history, fails))
    return cases


def load_split(split: str) -> list[Case]:
    cases = [c for name in FILES[split] for c in _read(DATA / f"{name}.jsonl")]
    return cases + _read(OLD) if split == "train" else cases


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


EMBEDDER: InstructionEmbedder | None = None  # set by main() unless --no-embedding


def meaning(prompt: str) -> Meaning | None:
    if EMBEDDER is None:
        return None
    m = EMBEDDER.meaning(prompt, wait_s=120)
    if m is None:
        raise SystemExit("the embedding model gave no vector (or no semantic head fits it): try --no-embedding")
    return m


def evaluate(cases: list[Case], model: LocalModelInfo, size: str = "1B") -> tuple[Confusion, list[RouteDecision]]:
    decisions = [assess(c.prompt, c.history, model, meaning=meaning(c.prompt)) for c in cases]
    truth = [c.hard_for(size) for c in cases]
    tp = sum(1 for t, d in zip(truth, decisions) if t and d.hard)
    fp = sum(1 for t, d in zip(truth, decisions) if not t and d.hard)
    fn = sum(1 for t, d in zip(truth, decisions) if t and not d.hard)
    tn = sum(1 for t, d in zip(truth, decisions) if not t and not d.hard)
    return Confusion(tp, fp, fn, tn), decisions


def reason_accuracy(model: LocalModelInfo, show: bool = False) -> tuple[float, int, int]:
    """(share right, prompts, prompts given only the generic reason) on reasons.jsonl."""
    rows = [json.loads(line) for line in (DATA / "reasons.jsonl").read_text(encoding="utf-8").splitlines() if line]
    right = generic = 0
    for row in rows:
        d = assess(row["prompt"], [], model, meaning=meaning(row["prompt"]))
        shown, true = d.reason_keys[:3], set(row["reasons"])
        if true and not shown:
            generic += 1
            ok = False
        else:
            ok = set(shown) <= true
        right += ok
        if show and not ok:
            print(f"  true {sorted(true)} shown {shown}: {row['prompt'][:80]!r}")
    return right / len(rows), len(rows), generic


def _levels(cases: list[Case], semantic: bool) -> dict[str, dict[str, dict[str, float]]]:
    sizes: dict[str, dict[str, dict[str, float]]] = {}
    for label, m in MODELS.items():
        sizes[label] = {}
        for level, shift in LEVELS.items():
            decisions = [assess(c.prompt, c.history, m, shift=shift, meaning=meaning(c.prompt) if semantic else None)
                         for c in cases]
            truth = [c.hard_for(label) for c in cases]
            tp = sum(t and d.hard for t, d in zip(truth, decisions))
            sent = sum(d.hard for d in decisions)
            need = sum(truth)
            sizes[label][str(level)] = {"precision": round(tp / max(1, sent), 3), "recall": round(tp / max(1, need), 3),
                                        "sent": round(sent / len(cases), 3)}
    return sizes


def write_tradeoff(cases: list[Case]) -> None:
    """Precision, recall and share sent at each slider level, per size, on `cases`: with the
    embedding (`sizes`) and without (`sizes_structural`)."""
    if EMBEDDER is None:
        raise SystemExit("--write-tradeoff measures both routers: leave out --no-embedding")
    data = {"about": "Router precision/recall per 'send to the cloud' level on the held-out test split "
                     "(tests/chat/router_data/test6.jsonl), with the embedding model (sizes) and without "
                     "(sizes_structural), written by bench/router_eval.py --write-tradeoff.",
            "prompts": len(cases), "sizes": _levels(cases, True), "sizes_structural": _levels(cases, False)}
    TRADEOFF_PATH.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TRADEOFF_PATH.relative_to(ROOT)}")
    for key in ("sizes", "sizes_structural"):
        for label, rows in data[key].items():  # type: ignore[attr-defined]
            print(f"  {key} {label}: " + "  ".join(f"{lv}: {r['precision']:.2f}/{r['recall']:.2f}"
                                                  for lv, r in rows.items()))


def timings_ms(cases: list[Case], model: LocalModelInfo, rounds: int = 5) -> tuple[list[float], list[float]]:
    """(with the embedding, without) per decision, in interleaved rounds; the embedding's
    cache is emptied first, so every vector is made anew."""
    with_emb: list[float] = []
    without: list[float] = []
    for _ in range(rounds):
        for c in cases:
            start = time.perf_counter()
            assess(c.prompt, c.history, model)
            without.append((time.perf_counter() - start) * 1000)
            if EMBEDDER is not None:
                EMBEDDER.forget()
                start = time.perf_counter()
                assess(c.prompt, c.history, model, meaning=EMBEDDER.meaning(c.prompt, wait_s=120))
                with_emb.append((time.perf_counter() - start) * 1000)
    return with_emb, without


def _pct(times: list[float]) -> tuple[float, float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))], times[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", action="store_true", help="print the misclassified prompts")
    ap.add_argument("--split", choices=SPLITS, default="test", help="the split to report (default: test)")
    ap.add_argument("--no-embedding", action="store_true", help="the structural model alone (no embedding model)")
    ap.add_argument("--embedding-model", type=Path, help="GGUF embedding model (default: the tests' all-MiniLM-L6-v2)")
    ap.add_argument("--write-tradeoff", action="store_true",
                    help="measure each 'send to the cloud' level on the test split and write router_tradeoff.json")
    args = ap.parse_args()
    global EMBEDDER
    if not args.no_embedding:
        if args.embedding_model is None:
            sys.path.insert(0, str(ROOT / "tests"))
            from support.minilm_gguf import gguf_path

            args.embedding_model = gguf_path()
        path = args.embedding_model
        EMBEDDER = InstructionEmbedder(lambda: path)
        print(f"embedding: {path.name}" if meaning("warm up") else "")
    else:
        print("no embedding: the structural model alone")
    if args.write_tradeoff:
        write_tradeoff(load_split("test"))

    model = MODELS["1B"]
    shown = SPLITS if args.split == "test" else tuple(s for s in SPLITS if s != "test")
    print(f"{'split':<11} {'prompts':>7} {'hard':>5} {'precision':>9} {'recall':>7}   ({model.name})")
    for split in shown:
        cases = load_split(split)
        cm, _ = evaluate(cases, model)
        print(f"{split:<11} {len(cases):>7} {sum(c.hard for c in cases):>5} {cm.precision:>9.2f} {cm.recall:>7.2f}")

    cases = load_split(args.split)
    print(f"\n{args.split} split by model size: a bigger model raises the bar for 'hard'")
    print(f"{'model':<6} {'judged hard':>11} {'precision':>9} {'recall':>7}   {'(1B labels)':>18}"
          "   (labels: hard up to the size in `fails`; in brackets: against the 1B labels)")
    for label, m in MODELS.items():
        cm_m, decisions_m = evaluate(cases, m, label)
        cm_1, _ = evaluate(cases, m, "1B")
        print(f"{label:<6} {sum(d.hard for d in decisions_m):>11} {cm_m.precision:>9.2f} {cm_m.recall:>7.2f}   "
              f"({cm_1.precision:.2f} / {cm_1.recall:.2f})")

    # reasons.jsonl is a set of its own, not a split: reported whatever the split
    acc, n, generic = reason_accuracy(model, args.show)
    print(f"\nreason accuracy: {acc:.2f} on {n} prompts with their true reasons "
          f"({generic} given only 'looks demanding for a small model')")

    with_emb, without = timings_ms(cases, model)
    m0, p0, x0 = _pct(without)
    print(f"\ntime per decision, structural alone (baseline): median {m0:.2f} ms, p99 {p0:.2f} ms, max {x0:.2f} ms "
          f"({len(without)} decisions)")
    if with_emb:
        m1, p1, x1 = _pct(with_emb)
        print(f"time per decision with the embedding:        median {m1:.2f} ms, p99 {p1:.2f} ms, max {x1:.2f} ms "
              f"(x{m1 / m0:.1f} the baseline's median, x{p1 / p0:.1f} its p99; interleaved rounds)")

    cm, decisions = evaluate(cases, model)
    if args.show:
        print(f"\nmisclassified ({args.split}, 1B):")
        for c, d in zip(cases, decisions):
            if c.hard != d.hard:
                label = "hard" if c.hard else "easy"
                hist = " [+history]" if c.history else ""
                print(f"  [{label}, score {d.score:.2f}]{hist} {c.prompt[:90]!r} -- {d.reason}")

    print(f"\nconfusion matrix for {model.name} on the {args.split} split (rows: label, columns: decision)")
    print(f"{'':>10} {'hard':>6} {'easy':>6}")
    print(f"{'hard':>10} {cm.tp:>6} {cm.fn:>6}")
    print(f"{'easy':>10} {cm.fp:>6} {cm.tn:>6}")
    print(f"precision: {cm.precision:.2f} recall: {cm.recall:.2f}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if EMBEDDER is not None:
            EMBEDDER.close()
