"""Fit the router's weights (development time only; the app never imports this).

Reads the train and validation splits (tests/chat/router_data/: train.jsonl,
train2.jsonl, train3.jsonl, train4.jsonl and the original tests/chat/router_prompts.jsonl;
and validation.jsonl). The old test splits (test.jsonl to test5.jsonl) are validation
figures now: --select reports them, nothing is fitted on them. The held-out test split
(test6.jsonl) is never read here.

    python3 -m venv /tmp/router-venv && /tmp/router-venv/bin/pip install scikit-learn numpy
    PYTHONPATH=. .venv/bin/python tools/router_embed.py          # the prompts' vectors, once
    PYTHONPATH=. /tmp/router-venv/bin/python tools/fit_router.py --select   # fit on train, report validation
    PYTHONPATH=. /tmp/router-venv/bin/python tools/fit_router.py --write    # fit on train+validation, write JSON

What is fitted, so that the shipped model needs nothing but dot products:
0. `semantic head` (router_semantic.json): a logistic regression over the embedding of
   the instruction. Its out-of-fold logit is the `semantic` feature of stages 2 below,
   so the structural model learns how far to trust it on prompts the head never saw.
1. `text_model`: text features -> hard, on single-turn prompts. At run time it scores
   the previous user turn, which is how the router sees the conversation.
2. `model` (with `semantic`) and `structural` (without: the fallback when no fitting
   embedding model is on the machine): text + history features. Rows whose labels
   say the largest size that still fails them (`fails`) count once per size, with the
   size as a feature (dropped afterwards), so the score also ranks "hard even for 8B"
   above "hard for 1B only".
Thresholds, per model and per size (1B, 8B, 32B), are chosen on out-of-fold scores for
precision >= MIN_PRECISION, never on a test split.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.chat.router_features import HISTORY_FEATURES, TEXT_FEATURES, history_features  # noqa: E402
from assistant.chat.router_features import text_features as _text_features  # noqa: E402
from assistant.chat.router_model import WEIGHTS_PATH, Linear  # noqa: E402
from assistant.chat.router_semantic import SEMANTIC_PATH, instruction_text, semantic_feature  # noqa: E402

DATA = ROOT / "tests" / "chat" / "router_data"
OLD = ROOT / "tests" / "chat" / "router_prompts.jsonl"
EMBEDDINGS = Path.home() / ".cache" / "assistant-bench" / "router_embeddings.npz"
STRUCTURAL = TEXT_FEATURES + HISTORY_FEATURES
SEMANTIC = [*STRUCTURAL, "semantic"]
SIZES = {"1B": 1, "8B": 8, "32B": 32}

# Out-of-fold precision a threshold keeps (the goal is 0.90: in Automatic mode a false "hard"
# sends the text out). Chosen on the validation splits (fourth round, 0.90 to 0.93 tried):
# with 0.91 every one of them keeps >= 0.92 at 1B; 0.93 lost recall, 0.90 precision (a
# fresh split did worse than them all, test5: 0.82, so the margin stays).
MIN_PRECISION = 0.91
MIN_RECALL = 0.5
# a model per anchor size, and the sizes whose thresholds it serves
ANCHORS = {"1B": ("1B",), "8B": ("8B", "32B")}
FOLDS = 5


@cache
def _cached(text: str) -> tuple[tuple[str, float], ...]:
    return tuple(_text_features(text).items())


def text_features(text: str) -> dict[str, float]:
    return dict(_cached(text))  # each prompt is featurised once, not once per fold


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Vectors:
    def __init__(self, path: Path = EMBEDDINGS) -> None:
        data = np.load(path)
        self.index = {str(t): i for i, t in enumerate(data["texts"])}
        self.matrix, self.probe, self.model = data["vectors"], data["probe"], str(data["model"])

    def of(self, rows: list[dict]) -> np.ndarray:
        return self.matrix[[self.index[instruction_text(r["prompt"])] for r in rows]]


def fails_up_to(row: dict) -> int:
    return SIZES.get(row.get("fails", ""), 1000) if row["label"] == "hard" else 0


def hard_at(row: dict, size: int) -> int | None:
    """1/0 at that size; None when unknown (a hard row without `fails`, above 1B)."""
    if row["label"] != "hard":
        return 0
    if size == 1:
        return 1
    return None if "fails" not in row else int(fails_up_to(row) >= size)


def last_exchange(row: dict) -> tuple[str | None, str | None]:
    user = assistant = None
    for m in reversed(row.get("history", [])):
        if m["role"] == "assistant" and user is None and assistant is None:
            assistant = m["content"]
        elif m["role"] == "user":
            user = m["content"]
            break
    return user, assistant


def labels(rows: list[dict]) -> np.ndarray:
    return np.array([r["label"] == "hard" for r in rows], dtype=int)


def fit(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)


def as_linear(clf: LogisticRegression, names: list[str], x: np.ndarray) -> Linear:
    return Linear(
        round(float(clf.intercept_[0]), 4),
        {n: round(float(w), 4) for n, w in zip(names, clf.coef_[0])},
        {n: round(float(m), 4) for n, m in zip(names, x.mean(axis=0))},
    )


# ---------------------------------------------------------------- stage 0: the semantic heads

def known(rows: list[dict], size: int) -> tuple[list[dict], np.ndarray]:
    """The rows whose label at `size` is known, and those labels."""
    kept = [r for r in rows if hard_at(r, size) is not None]
    return kept, np.array([hard_at(r, size) for r in kept], dtype=int)


def semantic_oof(vecs: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """Out-of-fold head logits: each row scored by a head that did not see it."""
    out = np.zeros(len(y))
    for tr, held in StratifiedKFold(FOLDS, shuffle=True, random_state=1).split(vecs, y):
        out[held] = fit(vecs[tr], y[tr], c).decision_function(vecs[held])
    return out


# ---------------------------------------------------------------- stages 1 and 2

def matrix(rows: list[dict], stage1: Linear, names: list[str], semantic: np.ndarray | None) -> np.ndarray:
    out = []
    for i, r in enumerate(rows):
        f = text_features(r["prompt"])
        user, assistant = last_exchange(r)
        logit = stage1.logit(text_features(user)) if user else None
        f.update(history_features(r["prompt"], logit, assistant))
        if semantic is not None:
            f["semantic"] = semantic_feature(float(semantic[i]))
        out.append([f[n] for n in names])
    return np.array(out)


def fit_stage1(rows: list[dict], c: float) -> Linear:
    single = [r for r in rows if not r.get("history")]
    x1 = np.array([[text_features(r["prompt"])[n] for n in TEXT_FEATURES] for r in single])
    return as_linear(fit(x1, labels(single), c), TEXT_FEATURES, x1)


def fit_model(rows: list[dict], y: np.ndarray, stage1: Linear, semantic: np.ndarray | None, c: float) -> Linear:
    names = SEMANTIC if semantic is not None else STRUCTURAL
    x = matrix(rows, stage1, names, semantic)
    return as_linear(fit(x, y, c), names, x)


def scores(rows: list[dict], stage1: Linear, model: Linear, semantic: np.ndarray | None) -> np.ndarray:
    names = list(model.weights)
    x = matrix(rows, stage1, names, semantic)
    return np.array([model.logit(dict(zip(names, xi))) for xi in x])


def oof_scores(rows: list[dict], y: np.ndarray, stage1: Linear, semantic: np.ndarray | None, c: float) -> np.ndarray:
    out = np.zeros(len(rows))
    for tr, held in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(rows, y):
        sem_tr = semantic[tr] if semantic is not None else None
        model = fit_model([rows[i] for i in tr], y[tr], stage1, sem_tr, c)
        sem_h = semantic[held] if semantic is not None else None
        out[held] = scores([rows[i] for i in held], stage1, model, sem_h)
    return out


def pr(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def choose_threshold(logits: np.ndarray, y: np.ndarray, min_precision: float) -> float:
    """The lowest threshold whose precision stays >= min_precision with some recall (most
    recall); where no threshold gets there, the one with the best F0.5 (precision first)."""
    best, best_f = None, -1.0
    for t in np.arange(6.0, -4.0, -0.05):
        p, r = pr((logits >= t).astype(int), y)
        if p >= min_precision and r >= MIN_RECALL:
            best = float(t)
        f = 1.25 * p * r / max(1e-9, 0.25 * p + r)
        if f > best_f:
            best_f, fallback = f, float(t)
    return round(best if best is not None else fallback, 2)


def pr_text(logits: np.ndarray, y: np.ndarray, t: float) -> str:
    p, r = pr((logits >= t).astype(int), y)
    return f"{p:.2f}/{r:.2f}"


class Fitted:
    """Per size anchor: the semantic head, the model with and without `semantic`, thresholds."""

    def __init__(self, rows: list[dict], vectors: Vectors, c: float, c_head: float,
                 min_precision: float = MIN_PRECISION) -> None:
        self.stage1 = fit_stage1(rows, c)
        self.heads: dict[str, LogisticRegression] = {}
        self.models: dict[str, dict[str, Linear]] = {"semantic": {}, "structural": {}}
        self.thresholds: dict[str, dict[str, float]] = {"semantic": {}, "structural": {}}
        self.oof: dict[str, dict[str, str]] = {"semantic": {}, "structural": {}}
        for anchor, sizes in ANCHORS.items():
            kept, y = known(rows, SIZES[anchor])
            vecs = vectors.of(kept)
            self.heads[anchor] = fit(vecs, y, c_head)
            sem = semantic_oof(vecs, y, c_head)
            for kind, semantic in (("semantic", sem), ("structural", None)):
                self.models[kind][anchor] = fit_model(kept, y, self.stage1, semantic, c)
                oof = oof_scores(kept, y, self.stage1, semantic, c)
                for size in sizes:
                    k2, y2 = known(rows, SIZES[size])
                    pos = {id(r): i for i, r in enumerate(kept)}
                    s2 = np.array([oof[pos[id(r)]] for r in k2])
                    t = choose_threshold(s2, y2, min_precision)
                    self.thresholds[kind][size] = t
                    self.oof[kind][size] = pr_text(s2, y2, t)

    def evaluate(self, rows: list[dict], vectors: Vectors, kind: str) -> str:
        parts = []
        for anchor, sizes in ANCHORS.items():
            sem = self.heads[anchor].decision_function(vectors.of(rows)) if kind == "semantic" else None
            s = scores(rows, self.stage1, self.models[kind][anchor], sem)
            for size in sizes:
                idx = [i for i, r in enumerate(rows) if hard_at(r, SIZES[size]) is not None]
                y = np.array([hard_at(rows[i], SIZES[size]) for i in idx])
                if y.sum():
                    parts.append(f"{size} {pr_text(s[idx], y, self.thresholds[kind][size])}")
        return "  ".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", action="store_true", help="fit on train, report the validation splits")
    ap.add_argument("--write", action="store_true", help="fit on train+validation and write the JSON files")
    ap.add_argument("-C", type=float, default=1.0, help="inverse L2 strength of the structural model")
    ap.add_argument("--head-C", type=float, default=1.0, help="inverse L2 strength of the semantic head")
    ap.add_argument("--min-precision", type=float, default=MIN_PRECISION, help="out-of-fold precision a threshold keeps")
    args = ap.parse_args()

    train = [row for n in ("train", "train2", "train3", "train4") for row in load(DATA / f"{n}.jsonl")] + load(OLD)
    val = load(DATA / "validation.jsonl")
    vectors = Vectors()

    if args.select:
        checks = {"validation": val, **{f"old-{n}": load(DATA / f"{n}.jsonl") for n in ("test", "test2", "test3", "test4", "test5")}}
        fitted = Fitted(train, vectors, args.C, args.head_C, args.min_precision)
        for kind in ("semantic", "structural"):
            print(f"{kind}: C={args.C} head C={args.head_C} thresholds {fitted.thresholds[kind]}")
            print(f"  {'train-oof':<10} " + "  ".join(f"{k} {v}" for k, v in fitted.oof[kind].items()))
            for name, rows in checks.items():
                print(f"  {name:<10} " + fitted.evaluate(rows, vectors, kind))

    if args.write:
        rows = train + val
        fitted = Fitted(rows, vectors, args.C, args.head_C, args.min_precision)
        out: dict = {"about": "Router weights: logistic regressions over readable features "
                              "(assistant/chat/router_features.py) and, in `semantic`, the semantic head's "
                              "logit (router_semantic.json); one model per anchor size, thresholds per size; "
                              "fitted by tools/fit_router.py.",
                     "fitted_on": {"train": len(train), "validation": len(val), "C": args.C, "head_C": args.head_C,
                                   "min_precision_for_threshold": args.min_precision},
                     "text_model": linear_json(fitted.stage1)}
        for kind in ("semantic", "structural"):
            out[kind] = {"models": {a: linear_json(m) for a, m in fitted.models[kind].items()},
                         "thresholds": fitted.thresholds[kind]}
            print(f"{kind}: thresholds {fitted.thresholds[kind]}, out of fold {fitted.oof[kind]}")
            top = sorted(fitted.models[kind]["1B"].weights.items(), key=lambda kv: -abs(kv[1]))[:12]
            print("  largest 1B weights:", ", ".join(f"{n} {w:+.2f}" for n, w in top))
        WEIGHTS_PATH.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
        semantic_data = {
            "about": "The router's semantic heads: logistic regressions over the embedding of the instruction "
                     "(one per anchor size), fitted by tools/fit_router.py; they apply only to the embedding "
                     "model whose vector for router_semantic.PROBE matches `probe`.",
            "heads": [{"model": vectors.model, "probe": [round(float(v), 5) for v in vectors.probe],
                       "sizes": {a: {"weights": [round(float(w), 5) for w in h.coef_[0]],
                                     "bias": round(float(h.intercept_[0]), 5)} for a, h in fitted.heads.items()}}],
        }
        SEMANTIC_PATH.write_text(json.dumps(semantic_data) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH.relative_to(ROOT)} and {SEMANTIC_PATH.relative_to(ROOT)}")


def linear_json(m: Linear) -> dict:
    return {"bias": m.bias, "weights": m.weights, "reference": m.reference}


if __name__ == "__main__":
    main()
