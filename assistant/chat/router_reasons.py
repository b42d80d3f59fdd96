"""The reasons the router gives, each only when its evidence is in the prompt.

A weight says how much a feature moves the score on average; it does not say that
the prompt has the thing the reason names. So a reason is shown only when
1. its evidence fired for this prompt ("multi-step math" needs arithmetic beyond the
   times table, a word problem, algebra or maths terms: "whats 12 x 12" has none),
2. its features' contribution to this decision (weight x how far the feature sits
   above a typical prompt) is at least `MIN_REASON` logits,
and the reasons are ranked by that contribution. When none qualifies, a hard
decision says "it looks demanding for a small model" instead of inventing one.

Each reason has a stable key (bench/router_eval.py checks them against prompts
labelled with their true reasons) and a phrase that completes
"This looks hard for <model>: it ...". Pure Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assistant.chat import router_lexicon as lx
from assistant.chat.router_features import dominant_script

__all__ = ["FALLBACK", "KEY_OF", "MIN_REASON", "PHRASES", "Reason", "explain"]

MIN_REASON = 0.25  # logits: a reason that adds less to this decision is not worth naming
FALLBACK = "looks demanding for a small model"

# feature -> reason key; features not listed here never become a reason
KEY_OF: dict[str, str] = {
    "long_input": "long_input", "material": "long_input",
    "length": "long_request",
    "numbers": "math", "multi_digit": "math", "decimals": "math", "arithmetic": "math",
    "hard_arithmetic": "math", "units": "math", "quantity_question": "math", "word_problem": "math",
    "algebra": "math", "math_terms": "math", "probability": "math",
    "proof": "proof", "puzzle": "puzzle", "char_level": "letters", "precise_fact": "fact",
    "steps": "reasoning", "sequence": "reasoning", "questions": "reasoning",
    "numbered_items": "constraints", "constraints": "constraints",
    "analysis": "analysis", "design": "design",
    "long_output": "long_answer", "long_format": "long_answer",
    "code_fence": "code", "code_density": "code", "code_keywords": "code", "material_code": "code",
    "task_on_code": "code", "material_tech": "code",
    "code_task": "code_task",
    "tech_deep": "tech", "tech_basic": "tech",
    "medical": "advice", "legal": "advice", "finance": "advice", "personal_stakes": "advice",
    "low_resource_script": "script", "low_resource_language": "language",
    "history_hardness": "history", "follow_up_on_hard": "history", "history_code": "history_code",
}

PHRASES: dict[str, str] = {
    "long_input": "asks to work through a long text",
    "long_request": "is a long, detailed request",
    "math": "asks for multi-step math",
    "proof": "asks for a math proof",
    "puzzle": "is a logic puzzle",
    "letters": "works on single letters or exact counts, which small models often miss",
    "fact": "asks for a precise fact that small models often make up",
    "reasoning": "needs several steps of reasoning",
    "constraints": "has several constraints to satisfy",
    "analysis": "asks for careful analysis",
    "design": "asks for a plan or design with many parts",
    "long_answer": "asks for a long answer",
    "code": "includes code to reason about",
    "debug": "includes an error trace to debug",
    "code_task": "asks for non-trivial code",
    "tech": "needs technical depth",
    "medical": "needs careful medical judgement",
    "legal": "needs careful legal judgement",
    "financial": "needs careful financial judgement",
    "script": "is written in {script} script, which small models know little of",
    "language": "involves {language}, a language with little training data",
    "history": "builds on a hard earlier question",
    "history_code": "builds on code from earlier in the conversation",
}

F = dict[str, float]


def _math(f: F) -> bool:
    # math to do: arithmetic beyond the times table, a quantity asked from several
    # numbers, algebra, maths terms or probability; not just "a number is present"
    return (f.get("hard_arithmetic", 0) > 0 or f.get("word_problem", 0) >= 1.5 or f.get("algebra", 0) > 0
            or f.get("math_terms", 0) > 0 or f.get("probability", 0) > 0
            or (f.get("arithmetic", 0) >= 2 and f.get("numbers", 0) > 1.1)
            or (f.get("math_ask", 0) > 0 and f.get("numbers", 0) > 0.6)
            or (f.get("quantity_question", 0) > 0 and f.get("arithmetic", 0) == 0
                and (f.get("decimals", 0) > 0 or f.get("units", 0) > 0 or f.get("multi_digit", 0) >= 1)))


# the evidence each reason needs in this prompt (features of the instruction, not the paste)
EVIDENCE: dict[str, Callable[[F], bool]] = {
    "long_input": lambda f: f.get("material_words", 0) >= 300 and not (f.get("transform", 0) or f.get("edit", 0)),
    "long_request": lambda f: f.get("instruction_words", 0) >= 80,
    "math": _math,
    "proof": lambda f: f.get("proof", 0) > 0,
    "puzzle": lambda f: f.get("puzzle", 0) > 0,
    "letters": lambda f: f.get("letter_task", 0) > 0,
    "fact": lambda f: f.get("fact_ask", 0) > 0 or f.get("precise_fact", 0) > 1,
    # several steps asked for, two ordered parts ("first ... then"), or several questions;
    # one "and write tests" is not a chain of reasoning
    "reasoning": lambda f: f.get("steps", 0) > 0 or f.get("sequence", 0) >= 2 or f.get("questions", 0) >= 2,
    "constraints": lambda f: f.get("constraint_count", 0) >= 2 or f.get("numbered_items", 0) >= 1.5,
    "analysis": lambda f: f.get("analysis", 0) > 0,
    "design": lambda f: f.get("design", 0) > 0,
    # a long answer asked for, not an edit of "a paragraph from my essay"
    "long_answer": lambda f: (f.get("long_output", 0) > 0 or f.get("long_format", 0) > 0)
    and not (f.get("edit", 0) or f.get("transform", 0) or f.get("replace_ask", 0)),
    "code": lambda f: (f.get("material_code", 0) > 0 or f.get("code_fence", 0) > 0)
    and not f.get("edit", 0) and (f.get("task_on_code", 0) > 0 or f.get("stack_trace", 0) > 0),
    "code_task": lambda f: f.get("code_task", 0) > 0,
    "tech": lambda f: f.get("tech_deep", 0) > 0 or f.get("tech_basic", 0) >= 2,
    # advice: domain terms in the request, not a reformatting of pasted text, not a
    # one-line definition ("explain what a mortgage is in one sentence")
    "advice": lambda f: (f.get("medical", 0) + f.get("legal", 0) + f.get("finance", 0)) > 0
    and not (f.get("transform", 0) or f.get("edit", 0))
    and (f.get("personal_stakes", 0) > 0 or not f.get("brief", 0)),
    "script": lambda f: f.get("low_resource_script", 0) >= 0.3,
    "language": lambda f: f.get("low_resource_language", 0) > 0,
    "history": lambda f: f.get("history_hardness", 0) > 0.5 or f.get("follow_up_on_hard", 0) > 0,
    "history_code": lambda f: f.get("history_code", 0) > 0,
}


@dataclass(frozen=True)
class Reason:
    weight: float  # logits this reason adds to the decision
    key: str
    phrase: str


def _specific(key: str, prompt: str, f: F) -> tuple[str, str]:
    """The key and phrase with their blanks filled in for this prompt."""
    if key == "advice":
        domain = max(("medical", "legal", "financial"),
                     key=lambda d: f.get("finance" if d == "financial" else d, 0.0))
        return domain, PHRASES[domain]
    if key == "code" and f.get("stack_trace", 0) > 0:
        return "debug", PHRASES["debug"]
    if key == "code_task" and f.get("stack_trace", 0) > 0:
        return "debug", PHRASES["debug"]
    phrase = PHRASES[key]
    if key == "script":
        script = dominant_script(prompt)
        phrase = phrase.replace("{script}", script[0] if script else "a less common")
    if key == "language":
        m = lx.LOW_RESOURCE_LANGS.search(prompt)
        phrase = (phrase.replace("{language}", m.group(0).title()) if m
                  else "is written in a language with little training data")
    return key, phrase


def explain(contributions: dict[str, float], prompt: str, features: F) -> list[Reason]:
    """The reasons behind this decision, strongest first; only those with evidence."""
    by_key: dict[str, float] = {}
    for name, value in contributions.items():
        key = KEY_OF.get(name)
        if key is not None and features.get(name, 0.0) != 0.0:
            by_key[key] = by_key.get(key, 0.0) + value
    out: list[Reason] = []
    for key, value in sorted(by_key.items(), key=lambda kv: -kv[1]):
        if value < MIN_REASON or not EVIDENCE[key](features):
            continue
        k, phrase = _specific(key, prompt, features)
        if all(r.key != k for r in out):
            out.append(Reason(round(value, 3), k, phrase))
    return out
