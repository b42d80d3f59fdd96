"""Fit the router's logistic weights (development time only; the app never imports this).

Reads the train and validation splits (tests/chat/router_data/: train.jsonl and
train2.jsonl, plus the original tests/chat/router_prompts.jsonl as extra training
data). The test splits (test.jsonl, now used as a second validation figure, and the
held-out test2.jsonl) are never read here: they are for bench/router_eval.py and
the tests, after fitting.

    python3 -m venv /tmp/router-venv && /tmp/router-venv/bin/pip install scikit-learn numpy
    /tmp/router-venv/bin/python tools/fit_router.py --select   # fit on train, report validation
    /tmp/router-venv/bin/python tools/fit_router.py --write    # fit on train+validation, write JSON

Two stages, so the shipped model needs nothing but dot products:
1. `text_model`: text features -> hard, on single-turn prompts. At run time it
   scores the previous user turn, which is how the router sees the conversation.
2. `model`: text features + history features (using stage 1 on the previous turn).
The 1B threshold is chosen on out-of-fold predictions, never on the test split.
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

from assistant.chat.router_features import (  # noqa: E402
    HISTORY_FEATURES,
    TEXT_FEATURES,
    history_features,
)
from assistant.chat.router_features import text_features as _text_features  # noqa: E402
from assistant.chat.router_model import WEIGHTS_PATH, Linear  # noqa: E402

DATA = ROOT / "tests" / "chat" / "router_data"
OLD = ROOT / "tests" / "chat" / "router_prompts.jsonl"
ALL_FEATURES = TEXT_FEATURES + HISTORY_FEATURES

# Target precision/recall when choosing the threshold; a margin above the goal
# (0.90 / 0.80: in Automatic mode a false "hard" sends the text out) because a fresh
# set always does a little worse than the fit.
MIN_PRECISION = 0.92
# Per doubling of parameters above 1B: 8B adds 3 doublings, 32B adds 5. A prior, not
# fitted (the labels describe a 1B model): an 8B model should escalate only what a
# 1B model finds clearly hard, a 32B model only the hardest.
SIZE_SLOPE = 0.6


@cache
def _cached(text: str) -> tuple[tuple[str, float], ...]:
    return tuple(_text_features(text).items())


def text_features(text: str) -> dict[str, float]:
    # each prompt is featurised once, not once per fold and per C
    return dict(_cached(text))


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def last_exchange(row: dict) -> tuple[str | None, str | None]:
    user = assistant = None
    for m in reversed(row.get("history", [])):
        if m["role"] == "assistant" and user is None and assistant is None:
            assistant = m["content"]
        elif m["role"] == "user":
            user = m["content"]
            break
    return user, assistant


def text_matrix(rows: list[dict]) -> np.ndarray:
    return np.array([[text_features(r["prompt"])[n] for n in TEXT_FEATURES] for r in rows])


def full_matrix(rows: list[dict], stage1: Linear) -> np.ndarray:
    out = []
    for r in rows:
        f = text_features(r["prompt"])
        user, assistant = last_exchange(r)
        logit = stage1.logit(text_features(user)) if user else None
        f.update(history_features(r["prompt"], logit, assistant))
        out.append([f[n] for n in ALL_FEATURES])
    return np.array(out)


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


def fit_both(rows: list[dict], c: float) -> tuple[Linear, Linear, LogisticRegression]:
    single = [r for r in rows if not r.get("history")]
    x1 = text_matrix(single)
    stage1 = as_linear(fit(x1, labels(single), c), TEXT_FEATURES, x1)
    x2 = full_matrix(rows, stage1)
    clf = fit(x2, labels(rows), c)
    return stage1, as_linear(clf, ALL_FEATURES, x2), clf


def pr(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def choose_threshold(logits: np.ndarray, y: np.ndarray) -> float:
    """The lowest logit threshold whose precision stays >= MIN_PRECISION: most recall."""
    best = 0.0
    for t in np.arange(3.0, -3.0, -0.05):
        p, _ = pr((logits >= t).astype(int), y)
        if p >= MIN_PRECISION:
            best = float(t)
    return round(best, 2)


def oof_logits(rows: list[dict], c: float) -> np.ndarray:
    """Out-of-fold logits: each row scored by a model that did not see it."""
    y = labels(rows)
    out = np.zeros(len(rows))
    for train_idx, held_idx in StratifiedKFold(5, shuffle=True, random_state=0).split(rows, y):
        tr = [rows[i] for i in train_idx]
        stage1, _, clf = fit_both(tr, c)
        x = full_matrix([rows[i] for i in held_idx], stage1)
        out[held_idx] = clf.decision_function(x)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--select", action="store_true", help="fit on train, report validation per C")
    ap.add_argument("--write", action="store_true", help="fit on train+validation and write the JSON")
    ap.add_argument("-C", type=float, default=0.3, help="inverse L2 strength for --write and --show")
    ap.add_argument("--show", action="store_true", help="fit on train, list validation mistakes at -C")
    args = ap.parse_args()

    train = load(DATA / "train.jsonl") + load(DATA / "train2.jsonl") + load(OLD)
    val = load(DATA / "validation.jsonl")

    if args.select:
        yv = labels(val)
        for c in (0.1, 0.3, 1.0, 3.0, 10.0):
            stage1, _, clf = fit_both(train, c)
            t = choose_threshold(oof_logits(train, c), labels(train))
            lv = clf.decision_function(full_matrix(val, stage1))
            p, r = pr((lv >= t).astype(int), yv)
            p0, r0 = pr((lv >= 0).astype(int), yv)
            print(f"C={c:<5} threshold {t:+.2f}: val precision {p:.2f} recall {r:.2f}   (at 0: {p0:.2f} / {r0:.2f})")

    if args.show:
        stage1, model, clf = fit_both(train, args.C)
        t = choose_threshold(oof_logits(train, args.C), labels(train))
        lv = clf.decision_function(full_matrix(val, stage1))
        for row, logit in zip(val, lv):
            if (logit >= t) != (row["label"] == "hard"):
                hist = " [+history]" if row.get("history") else ""
                print(f"  {row['label']:<4} logit {logit:+.2f} (t {t:+.2f}){hist} {row['prompt'][:100]!r}")

    if args.write:
        rows = train + val
        stage1, model, _ = fit_both(rows, args.C)
        threshold = choose_threshold(oof_logits(rows, args.C), labels(rows))
        data = {
            "about": "Router weights: logistic regression over readable features "
                     "(assistant/chat/router_features.py), fitted by tools/fit_router.py.",
            "fitted_on": {"train": len(train), "validation": len(val), "C": args.C,
                          "min_precision_for_threshold": MIN_PRECISION},
            "threshold_1b": threshold,
            "size_slope": SIZE_SLOPE,
            "text_model": {"bias": stage1.bias, "weights": stage1.weights, "reference": stage1.reference},
            "model": {"bias": model.bias, "weights": model.weights, "reference": model.reference},
        }
        WEIGHTS_PATH.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_PATH.relative_to(ROOT)}: threshold {threshold:+.2f}")
        top = sorted(model.weights.items(), key=lambda kv: -abs(kv[1]))[:15]
        print("largest weights:", ", ".join(f"{n} {w:+.2f}" for n, w in top))


if __name__ == "__main__":
    main()
