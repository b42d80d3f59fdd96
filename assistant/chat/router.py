"""Decide whether a prompt is too hard for the local model, and say why.

Before generation, `assess` turns the prompt and the conversation into a few dozen
readable structural features (constraints counted, steps asked for, quantities,
code and maths density, domain terms, script, requested length, how hard the
previous turn was; see router_features.py), adds, when the caller has it, what the
instruction means (`meaning`: its embedding read by a fitted head, router_semantic.py),
and scores them with a logistic regression fitted offline on labelled prompts
(tools/fit_router.py, weights in assistant/resources/router_weights.json). Without
`meaning` a structural model with its own weights and thresholds decides. The local
model's size picks the model (what a 1B model fails, or what an 8B model fails) and
the threshold (1B, 8B or 32B); the features that pushed the score up the most, and
have their evidence in the prompt, become the plain-words reason. The context window is a rule, not a
weight: a conversation that does not fit is hard for any model.

After a local answer, `assess_answer` looks at that answer's own confidence (mean
token log-probability or entropy, as llama.cpp reports them) and may suggest
escalation.

No ML libraries and nothing leaves the machine: the GUI calls this on every send,
so it must stay at a few milliseconds for a typical prompt (the embedding is made
elsewhere, off the GUI thread: chat/dispatch.py). `bench/router_eval.py`
prints how well it does on the held-out test split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.chat.router_features import estimate_tokens, history_features, text_features
from assistant.chat.router_model import ANCHORS, load_weights, sigmoid, size_key
from assistant.chat.router_reasons import FALLBACK, explain
from assistant.core.types import Message

if TYPE_CHECKING:  # the structural path imports no numpy: router_semantic does
    from assistant.chat.router_semantic import Meaning

__all__ = [
    "ENTROPY_UNSURE",
    "LOGPROB_UNSURE",
    "LocalModelInfo",
    "RouteDecision",
    "assess",
    "assess_answer",
    "estimate_tokens",
    "model_params_billion",
    "size_of",
    "threshold_for",
]


@dataclass(frozen=True)
class LocalModelInfo:
    name: str
    params_billion: float | None  # None: unknown; guessed from the name ("... 1B ...")
    context_length: int


@dataclass(frozen=True)
class RouteDecision:
    hard: bool
    score: float  # P(hard) / P at the model's threshold: 1.0 or more is hard
    reasons: list[str] = field(default_factory=list)  # short phrases, strongest first
    reason: str = ""  # one plain sentence for the user
    reason_keys: list[str] = field(default_factory=list)  # router_reasons keys, as `reasons`


# ---------------------------------------------------------------- thresholds

# The labels say what a ~1B model gets wrong and, for the newer prompts, the largest
# size that still fails. A bigger model fails on less: from about 3B on, the model
# fitted on what an 8B model fails decides, with a higher threshold from 16B on
# (router_model.size_key). Models under 1B are treated as 1B: the labels already
# describe the weakest models people run.
_UNKNOWN_SIZE_BILLION = 4.0  # unknown size: treat like a small-but-not-tiny model

_SIZE_IN_NAME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([bm])\b", re.IGNORECASE)


def model_params_billion(model: LocalModelInfo) -> float | None:
    if model.params_billion is not None:
        return model.params_billion
    # "Gemma 3 1B", "qwen2.5-7b-instruct", "gemma-3-270m": the size is usually in the name
    m = _SIZE_IN_NAME.search(model.name.replace("-", " ").replace("_", " "))
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000 if m.group(2).lower() == "m" else value


def size_of(model: LocalModelInfo) -> str:
    """"1B", "8B" or "32B": the size whose model and threshold serve `model`."""
    params = model_params_billion(model)
    return size_key(_UNKNOWN_SIZE_BILLION if params is None else params)


def threshold_for(model: LocalModelInfo, shift: float = 0.0, *, semantic: bool = False) -> float:
    """The logit above which a prompt is hard for `model` (with or without the semantic
    feature); grows with its size. `shift` is the user's "send to the cloud: rarely ...
    often" setting, in logits (router_tradeoff.py): positive sends less."""
    return round(load_weights().variant(semantic).thresholds[size_of(model)] + shift, 4)


# ---------------------------------------------------------------- context window

def _conversation_tokens(prompt: str, history: list[Message]) -> int:
    # ~4 tokens of template overhead per message
    return sum(estimate_tokens(m.content) + 4 for m in history) + estimate_tokens(prompt) + 4


def _context_signal(prompt: str, history: list[Message], ctx: int) -> tuple[float, str, bool]:
    """(logit added, phrase, forced hard) for how full the context window gets.

    Near or over the window, a local model loses the start of the conversation,
    whatever the question; the labelled prompts say nothing about that, so it is a rule.
    """
    ctx = max(1, ctx)
    fill = _conversation_tokens(prompt, history) / ctx
    if fill >= 1.0:
        return 10.0, f"does not fit in the model's {ctx:,}-token context window", True
    if fill >= 0.75:
        return 4.0, f"nearly fills the model's {ctx:,}-token context window", False
    if fill >= 0.5:
        return 1.0, f"uses over half of the model's {ctx:,}-token context window", False
    return 0.0, "", False


def _join(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


# ---------------------------------------------------------------- decision

def _last_exchange(history: list[Message]) -> tuple[str | None, str | None]:
    """The last user turn and the assistant's reply to it, if any."""
    user = assistant = None
    for m in reversed(history):
        if m.role == "assistant" and user is None and assistant is None:
            assistant = m.content
        elif m.role == "user":
            user = m.content
            break
    return user, assistant


def assess(prompt: str, history: list[Message], model: LocalModelInfo, *, shift: float = 0.0,
           meaning: Meaning | None = None) -> RouteDecision:
    """Hard or easy for `model`, before generation, with the reason in plain words.
    `shift` moves the threshold (logits; positive: fewer prompts are hard); `meaning`
    is the prompt's instruction embedded (router_semantic.py), None: structural only."""
    w = load_weights()
    size = size_of(model)
    variant = w.variant(meaning is not None)
    linear = variant.model(size)
    threshold = round(variant.thresholds[size] + shift, 4)

    features = text_features(prompt)
    if meaning is not None:
        features["semantic"] = meaning.feature(ANCHORS[size])
    # A follow-up ("now make it async") inherits the difficulty of the turn it builds
    # on; only the last exchange counts, so an old hard question fades.
    last_user, last_assistant = _last_exchange(history)
    last_logit = w.text_model.logit(text_features(last_user)) if last_user else None
    features.update(history_features(prompt, last_logit, last_assistant))

    logit = linear.logit(features)
    ranked = [(r.weight, r.key, r.phrase) for r in explain(linear.contributions(features), prompt, features)]

    extra, ctx_phrase, forced = _context_signal(prompt, history, model.context_length)
    if extra:
        logit += extra
        ranked = sorted([(extra, "context", ctx_phrase), *ranked], key=lambda t: -t[0])

    blank = not prompt.strip()
    hard = forced or (not blank and logit >= threshold)
    score = sigmoid(logit) / sigmoid(threshold)
    # keep the documented invariant exact after rounding: hard <=> score >= 1.0
    score = max(1.0, round(score, 3)) if hard else min(0.999, round(score, 3))

    reasons = [p for _, _, p in ranked]
    if hard:
        # only reasons whose evidence is in the prompt; none: say so, invent nothing
        reason = f"This looks hard for {model.name}: it {_join(reasons[:3] or [FALLBACK])}."
    else:
        reason = f"Looks fine for {model.name}."
    return RouteDecision(hard=hard, score=score, reasons=reasons, reason=reason,
                         reason_keys=[k for _, k, _ in ranked])


# ---------------------------------------------------------------- after the answer

# Thresholds on llama.cpp's per-token statistics over the whole answer. A confident
# answer sits around -0.3 to -1.0 mean log-prob and below ~1.5 nats of entropy; below
# -2.5 / above 3.0 the model was picking among many words at most steps, i.e. guessing.
LOGPROB_UNSURE = -2.5  # mean token log-probability (natural log)
ENTROPY_UNSURE = 3.0  # mean entropy of the next-token distribution, nats


def assess_answer(
    mean_logprob: float | None, mean_entropy: float | None, model: LocalModelInfo
) -> RouteDecision | None:
    """Suggest escalation after a local answer when the model itself was unsure.

    Returns None when the answer looks confident or nothing was measured.
    """
    reasons: list[str] = []
    score = 0.0
    if mean_logprob is not None and mean_logprob < LOGPROB_UNSURE:
        reasons.append(f"mean token log-probability {mean_logprob:.2f} is below {LOGPROB_UNSURE}")
        score = max(score, mean_logprob / LOGPROB_UNSURE)
    if mean_entropy is not None and mean_entropy > ENTROPY_UNSURE:
        reasons.append(f"mean entropy {mean_entropy:.2f} nats is above {ENTROPY_UNSURE}")
        score = max(score, mean_entropy / ENTROPY_UNSURE)
    if not reasons:
        return None
    return RouteDecision(
        hard=True,
        score=round(score, 3),
        reasons=reasons,
        reason=f"The answer from {model.name} looks unsure (low confidence on many words); "
        "a stronger model may do better.",
    )
