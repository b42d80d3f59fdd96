"""The router's learned weights: loading them, scoring with them, explaining a score.

The weights are a logistic regression fitted at development time by
tools/fit_router.py (scikit-learn, never imported here) and shipped as JSON in
assistant/resources/router_weights.json. Scoring is a dot product in plain Python.

Two weight sets: `text_model` scores a single piece of text (used on the previous
user turn, to tell how hard the conversation already is); `model` scores the new
turn from its own text features plus the history features, and decides.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["WEIGHTS_PATH", "Linear", "Weights", "load_weights", "sigmoid"]

WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "resources" / "router_weights.json"


@dataclass(frozen=True)
class Linear:
    bias: float
    weights: dict[str, float]
    # Mean of each feature over the training prompts. A reason is what sets this
    # prompt apart from a typical one, so contributions are measured from here:
    # every prompt has some length, only a longer-than-usual one is "long".
    reference: dict[str, float] = field(default_factory=dict)

    def logit(self, features: dict[str, float]) -> float:
        w = self.weights
        return self.bias + sum(w.get(name, 0.0) * value for name, value in features.items())

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        ref = self.reference
        return {name: w * (features.get(name, 0.0) - ref.get(name, 0.0)) for name, w in self.weights.items()}


@dataclass(frozen=True)
class Weights:
    text_model: Linear
    model: Linear
    threshold_1b: float  # decision threshold on the logit for a model of 1B parameters or fewer
    size_slope: float  # added to the threshold per doubling of the parameter count above 1B


def _linear(obj: dict) -> Linear:
    return Linear(
        float(obj["bias"]),
        {str(k): float(v) for k, v in obj["weights"].items()},
        {str(k): float(v) for k, v in obj.get("reference", {}).items()},
    )


@lru_cache(maxsize=4)
def load_weights(path: Path = WEIGHTS_PATH) -> Weights:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Weights(
        text_model=_linear(data["text_model"]),
        model=_linear(data["model"]),
        threshold_1b=float(data["threshold_1b"]),
        size_slope=float(data["size_slope"]),
    )


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
