"""The router's learned weights: loading them, scoring with them, explaining a score.

The weights are a logistic regression fitted at development time by
tools/fit_router.py (scikit-learn, never imported here) and shipped as JSON in
assistant/resources/router_weights.json. Scoring is a dot product in plain Python.

`text_model` scores a single piece of text (used on the previous user turn, to tell
how hard the conversation already is). Two variants then score the new turn from its
own text features plus the history features, and decide: `semantic`, which also weighs
the instruction's meaning (router_semantic.py), and `structural`, the fallback when
no fitting embedding model is on the machine. Each has one model per anchor size (a
model fitted on what a 1B model fails, one on what an 8B model fails) and a threshold
per size (1B, 8B, 32B), all chosen at fitting time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = ["ANCHORS", "WEIGHTS_PATH", "Linear", "Variant", "Weights", "load_weights", "sigmoid", "size_key"]

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


ANCHORS = {"1B": "1B", "8B": "8B", "32B": "8B"}  # size -> the model that serves it


def size_key(params_billion: float) -> str:
    """The size whose model and threshold serve a local model of that many parameters:
    the nearest of 1B, 8B and 32B on a log scale (under 1B: 1B)."""
    if params_billion < 8 ** 0.5:
        return "1B"
    return "8B" if params_billion < 16 else "32B"


@dataclass(frozen=True)
class Variant:
    models: dict[str, Linear]  # anchor ("1B", "8B") -> model
    thresholds: dict[str, float]  # size ("1B", "8B", "32B") -> logit threshold

    def model(self, size: str) -> Linear:
        return self.models[ANCHORS[size]]


@dataclass(frozen=True)
class Weights:
    text_model: Linear
    semantic: Variant  # with the `semantic` feature
    structural: Variant  # without it

    def variant(self, with_semantic: bool) -> Variant:
        return self.semantic if with_semantic else self.structural


def _linear(obj: dict) -> Linear:
    return Linear(
        float(obj["bias"]),
        {str(k): float(v) for k, v in obj["weights"].items()},
        {str(k): float(v) for k, v in obj.get("reference", {}).items()},
    )


def _variant(obj: dict) -> Variant:
    return Variant({str(k): _linear(v) for k, v in obj["models"].items()},
                   {str(k): float(v) for k, v in obj["thresholds"].items()})


@lru_cache(maxsize=4)
def load_weights(path: Path = WEIGHTS_PATH) -> Weights:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Weights(_linear(data["text_model"]), _variant(data["semantic"]), _variant(data["structural"]))


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
