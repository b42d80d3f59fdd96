"""The one knob the user gets: "Send to the cloud: rarely ... often".

Five levels (-2 rarely .. +2 often; 0 is the threshold fitted by tools/fit_router.py)
move the router's threshold by a fixed number of logits. Beside the slider, the
settings page shows what each level did on the held-out test split: precision (of
the prompts sent, how many needed it) and recall (of the prompts that needed it,
how many were sent), for a 1B and an 8B local model: those of the router with the
embedding model when it is in use (router_semantic.active()), else those of the
structural router alone. The figures are measured by `bench/router_eval.py
--write-tradeoff` after fitting and shipped in assistant/resources/router_tradeoff.json;
nothing is measured, and no test file is read, at run time.
Qt-free: the settings page (ui/cloud/) only shows these numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["LEVELS", "TRADEOFF_PATH", "Tradeoff", "describe", "shift_for", "tradeoff"]

TRADEOFF_PATH = Path(__file__).resolve().parents[1] / "resources" / "router_tradeoff.json"

# level -> logits added to the threshold (positive: fewer prompts count as hard)
LEVELS: dict[int, float] = {-2: 1.5, -1: 0.75, 0: 0.0, 1: -0.75, 2: -1.5}
LEVEL_NAMES = {-2: "Rarely", -1: "Less often", 0: "Balanced", 1: "More often", 2: "Often"}


@dataclass(frozen=True)
class Tradeoff:
    level: int
    shift: float
    precision: float | None  # None: not measured
    recall: float | None
    sent: float | None  # share of the test prompts sent


def shift_for(level: int) -> float:
    """Logits added to the router's threshold for a slider level (clamped to -2 .. 2)."""
    return LEVELS[max(-2, min(2, int(level)))]


@lru_cache(maxsize=4)
def _table(semantic: bool, path: Path = TRADEOFF_PATH) -> dict[str, dict[str, dict[str, float]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("sizes" if semantic else "sizes_structural", {})


def tradeoff(level: int, size: str = "1B", *, semantic: bool = True) -> Tradeoff:
    """What `level` did on the test prompts for a local model of `size`, with the
    embedding model (`semantic`) or the structural router alone."""
    level = max(-2, min(2, int(level)))
    row = _table(semantic).get(size, {}).get(str(level), {})
    return Tradeoff(level, LEVELS[level], row.get("precision"), row.get("recall"), row.get("sent"))


def describe(level: int, *, semantic: bool = True) -> str:
    """The line shown beside the slider, e.g. "Balanced: on the test prompts, ..."."""
    parts = []
    for size in ("1B", "8B"):
        t = tradeoff(level, size, semantic=semantic)
        if t.precision is not None and t.recall is not None:
            parts.append(f"with a {size} model, {t.precision:.0%} of what is sent needs the cloud "
                         f"and {t.recall:.0%} of what needs it is sent")
    name = LEVEL_NAMES[max(-2, min(2, int(level)))]
    if not parts:
        return f"{name}."
    alone = "" if semantic else " (The router without the documents' embedding model: it is not in use.)"
    return f"{name}: on the test prompts, " + "; ".join(parts) + "." + alone
