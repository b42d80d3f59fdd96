"""Precision and recall of the router's "hard" decision on the labelled prompts.

Loads tests/chat/router_prompts.jsonl, runs `assistant.chat.router.assess` for a 1B
model (8,192-token window), prints the confusion matrix, a per-size table
(1B / 8B / 32B), the time per prompt, and with --show the misclassified prompts.

    uv run python bench/router_eval.py [--show]

Last line: `precision: P recall: R` for the 1B model (two decimals).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.chat.router import LocalModelInfo, RouteDecision, assess  # noqa: E402
from assistant.core.types import Message  # noqa: E402

DATA = ROOT / "tests" / "chat" / "router_prompts.jsonl"
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


def load_cases(path: Path = DATA) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        history = [Message(m["role"], m["content"]) for m in row.get("history", [])]
        cases.append(Case(row["prompt"], row["label"] == "hard", row.get("why", ""), history))
    return cases


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


def evaluate(cases: list[Case], model: LocalModelInfo) -> tuple[Confusion, list[RouteDecision]]:
    decisions = [assess(c.prompt, c.history, model) for c in cases]
    tp = sum(1 for c, d in zip(cases, decisions) if c.hard and d.hard)
    fp = sum(1 for c, d in zip(cases, decisions) if not c.hard and d.hard)
    fn = sum(1 for c, d in zip(cases, decisions) if c.hard and not d.hard)
    tn = sum(1 for c, d in zip(cases, decisions) if not c.hard and not d.hard)
    return Confusion(tp, fp, fn, tn), decisions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show", action="store_true", help="print the misclassified prompts")
    args = ap.parse_args()

    cases = load_cases()
    n_hard = sum(c.hard for c in cases)
    print(f"{len(cases)} prompts: {n_hard} hard, {len(cases) - n_hard} easy")

    print(f"\n{'model':<6} {'judged hard':>11} {'precision':>9} {'recall':>7}")
    for label, model in MODELS.items():
        cm, decisions = evaluate(cases, model)
        print(f"{label:<6} {sum(d.hard for d in decisions):>11} {cm.precision:>9.2f} {cm.recall:>7.2f}")

    model = MODELS["1B"]
    cm, decisions = evaluate(cases, model)

    start = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        for c in cases:
            assess(c.prompt, c.history, model)
    per_prompt_ms = (time.perf_counter() - start) * 1000 / (rounds * len(cases))
    print(f"\nmean time per prompt: {per_prompt_ms:.3f} ms")

    if args.show:
        print("\nmisclassified (1B):")
        for c, d in zip(cases, decisions):
            if c.hard != d.hard:
                label = "hard" if c.hard else "easy"
                print(f"  [{label}, score {d.score:.2f}] {c.prompt[:90]!r} -- {d.reason}")

    print(f"\nconfusion matrix for {model.name} (rows: label, columns: decision)")
    print(f"{'':>10} {'hard':>6} {'easy':>6}")
    print(f"{'hard':>10} {cm.tp:>6} {cm.fn:>6}")
    print(f"{'easy':>10} {cm.fp:>6} {cm.tn:>6}")
    print(f"precision: {cm.precision:.2f} recall: {cm.recall:.2f}")


if __name__ == "__main__":
    main()
