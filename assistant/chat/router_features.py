"""Structural features of a request, for the router's logistic model.

Every feature is a small, bounded number with a meaning a person can read
("constraints counted", "multi-digit numbers", "asks for a proof"), so the weights
in resources/router_weights.json can be checked by eye and each "hard" decision can
be explained by the features that pushed it there. Pure Python, no I/O.

Only the first and last part of a very long text are scanned: the cues that matter
(the task, its constraints) sit at the start or the end, and the router must stay
fast on a pasted 50-page document.
"""

from __future__ import annotations

import math
import re

from assistant.chat import router_lexicon as lx
from assistant.chat.router_material import split, word_count

__all__ = ["HISTORY_FEATURES", "TEXT_FEATURES", "dominant_script", "estimate_tokens", "history_features", "text_features"]

_HEAD, _TAIL = 12_000, 4_000  # characters scanned at the start and the end of a long text

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_DENSE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")
_LETTER = re.compile(r"[^\W\d_]")
_NON_LATIN = re.compile(r"[^\x00-\u024f\u1e00-\u1eff\u2000-\u2bff\ufe00-\ufe0f\U0001f000-\U0001faff]")
_NUMBERED_ITEM = re.compile(r"(?:^|\n)\s*(?:\d+[.)]|[-*•])\s+\S")
_QUESTION = re.compile(r"[?？؟]")


def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer, per script: ~4 characters a token for
    ASCII, ~1 a token for Han, kana, Thai and the like (no spaces, split finely), ~2 a
    token for the other scripts (Cyrillic, Greek, Arabic, Devanagari, accented Latin):
    a short Russian or Hindi message is short, and a long one still errs on the safe side."""
    if text.isascii():
        return len(text) // 4 + 1
    non_ascii = len(_NON_ASCII.findall(text))
    dense = len(_DENSE.findall(text))
    return (len(text) - non_ascii) // 4 + dense + (non_ascii - dense + 1) // 2 + 1


def dominant_script(text: str) -> tuple[str, bool, float] | None:
    """(script name, is low-resource, share of letters) of the main non-Latin script."""
    if text.isascii():
        return None
    chars = _NON_LATIN.findall(text, 0, 20_000)[:2_000]  # a sample is enough
    if not chars:
        return None
    counts: dict[tuple[str, bool], int] = {}
    for ch in chars:
        cp = ord(ch)
        for table, low in ((lx.LOW_RESOURCE_SCRIPTS, True), (lx.MAJOR_SCRIPTS, False)):
            hit = next((name for lo, hi, name in table if lo <= cp <= hi), None)
            if hit:
                counts[(hit, low)] = counts.get((hit, low), 0) + 1
                break
    if not counts:
        return None
    (name, low), n = max(counts.items(), key=lambda kv: kv[1])
    letters = len(_LETTER.findall(text, 0, 20_000)) or 1
    return name, low, min(1.0, n / letters)


def _distinct(rx: re.Pattern[str], text: str) -> int:
    return len({m.group(0).lower() for m in rx.finditer(text)})


def _count(rx: re.Pattern[str], text: str) -> int:
    return sum(1 for _ in rx.finditer(text))


def _requested_words(text: str) -> int:
    """The answer length asked for, in words (0 when none is named)."""
    m = lx.LONG_COUNT.search(text)
    if not m:
        return 0
    if m.group(1):
        n = int(re.sub(r"[,. ]", "", m.group(1)))
        unit = m.group(2).lower()
        return n * 300 if unit.startswith("page") else n
    # Chinese / Japanese "五千字": characters, ~1.5 per word; numerals may be written out
    han = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    mult = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
    s = m.group(0)[:-1]
    if s.isdigit():
        return int(s) * 2 // 3
    total, cur = 0, 0
    for ch in s:
        if ch in han:
            cur = han[ch]
        elif ch in mult:
            total += (cur or 1) * mult[ch]
            cur = 0
    return (total + cur) * 2 // 3


_ARITH_PAIR = re.compile(r"(\d+(?:[.,]\d+)?)\s*([×x*/+\-^]|times|plus|minus)\s*(\d+(?:[.,]\d+)?)", re.IGNORECASE)


def _hard_arithmetic(text: str) -> float:
    """Arithmetic beyond the times table: "37 x 43" is work for a small model, "12 x 12" is not."""
    hard = 0
    for m in _ARITH_PAIR.finditer(text):
        try:
            a, b = (float(g.replace(",", ".")) for g in (m.group(1), m.group(3)))
        except ValueError:
            continue
        op = m.group(2).lower()
        if op in ("+", "-", "plus", "minus"):
            hard += max(a, b) >= 100 or any(len(g.replace(",", ".").partition(".")[2]) >= 2
                                            for g in (m.group(1), m.group(3)))
        elif op == "^":
            hard += b > 3 or a > 10
        else:
            hard += min(a, b) > 12 or max(a, b) > 100 or (op == "/" and a % b != 0 if b else False)
    return min(2.0, float(hard))


# Feature names, in a fixed order: the weights file lists its weights by these names.
# All but the material_* ones are computed on the instruction (router_material.py):
# what is asked, not what is pasted.
TEXT_FEATURES: list[str] = [
    "length", "long_input", "short_request", "questions", "numbered_items",
    "numbers", "multi_digit", "decimals", "arithmetic", "hard_arithmetic", "units", "quantity_question",
    "word_problem", "algebra", "proof", "math_terms", "probability", "puzzle", "char_level", "precise_fact",
    "steps", "sequence", "analysis", "design", "constraints",
    "long_output", "long_format", "transform", "edit", "brief", "social",
    "code_fence", "code_density", "code_keywords", "code_task", "tech_deep", "tech_basic",
    "medical", "legal", "finance", "personal_stakes",
    "low_resource_script", "major_script", "low_resource_language",
    "material", "material_code", "material_tech", "task_on_code",
]
HISTORY_FEATURES: list[str] = [
    "history_hardness", "follow_up", "follow_up_on_hard", "closing_turn", "history_code",
]


def text_features(text: str) -> dict[str, float]:
    """Features of one piece of user text: the prompt, or an earlier turn."""
    if len(text) > _HEAD + _TAIL:
        text = text[:_HEAD] + "\n" + text[-_TAIL:]
    parts = split(text)
    ask, pasted = parts.instruction, parts.material
    words = word_count(ask)
    material_words = word_count(pasted) if pasted else 0
    f: dict[str, float] = {}

    # --- size and shape: of the request; the material only by its size
    f["length"] = math.log1p(words * 1.3) / 4  # ~1.0 at 40 words, ~1.7 at 700
    f["long_input"] = max(0.0, math.log(material_words / 300)) if material_words > 300 else 0.0
    f["short_request"] = 1.0 if words <= 10 and not pasted else 0.0
    f["questions"] = min(3, len(_QUESTION.findall(ask)))
    f["numbered_items"] = min(6, len(_NUMBERED_ITEM.findall(ask))) / 2

    # --- quantities and arithmetic
    numbers = len(lx.NUMBER.findall(ask))
    f["numbers"] = math.log1p(numbers)
    f["multi_digit"] = min(4, len(lx.MULTI_DIGIT.findall(ask))) / 2
    f["decimals"] = min(3, len(lx.DECIMAL.findall(ask)))
    f["arithmetic"] = min(3, len(lx.ARITH_OP.findall(ask)))
    f["hard_arithmetic"] = _hard_arithmetic(ask)
    f["units"] = min(4, len(lx.UNITS.findall(ask))) / 2
    quantity = 1.0 if lx.QUANTITY_Q.search(ask) else 0.0
    f["quantity_question"] = quantity
    f["word_problem"] = quantity * min(5, numbers) / 2  # a "how much" over several given numbers

    # --- maths, logic, knowledge
    f["algebra"] = min(4, len(lx.ALGEBRA.findall(ask))) / 2
    f["proof"] = 1.0 if lx.PROOF.search(ask) else 0.0
    f["math_terms"] = min(3, _distinct(lx.MATH_TERMS, ask))
    f["probability"] = min(2, _distinct(lx.PROBABILITY, ask))
    f["puzzle"] = min(2, _distinct(lx.PUZZLE, ask))
    f["char_level"] = 1.0 if lx.CHAR_LEVEL.search(ask) else 0.0
    # unweighted, the reasons' evidence: what is asked, outside the quotes it works on
    unquoted = lx.QUOTED.sub(" ", ask)
    f["letter_task"] = 1.0 if lx.LETTER_TASK.search(unquoted) else 0.0
    f["fact_ask"] = 1.0 if lx.FACT_ASK.search(unquoted) else 0.0
    f["math_ask"] = 1.0 if lx.MATH_ASK.search(unquoted) else 0.0
    f["replace_ask"] = 1.0 if lx.REPLACE_ASK.search(unquoted) else 0.0
    year = 1.0 if lx.YEAR.search(ask) else 0.0
    f["precise_fact"] = (1.0 if lx.PRECISE_FACT.search(ask) else 0.0) + 0.5 * year * quantity

    # --- reasoning and planning
    f["steps"] = min(2, _count(lx.STEPS, ask))
    f["sequence"] = min(2, _count(lx.SEQUENCE, ask))
    f["analysis"] = min(3, _distinct(lx.ANALYSIS, ask))
    f["design"] = min(2, _distinct(lx.DESIGN, ask))
    f["constraints"] = math.log1p(_count(lx.CONSTRAINT, ask))
    # unweighted: the reason's evidence, without the words of a sentence to translate
    f["constraint_count"] = _count(lx.CONSTRAINT, unquoted)

    # --- output size, and tasks that stay small
    asked = _requested_words(ask)
    f["long_output"] = min(3.0, max(0.0, math.log(asked / 250))) if asked > 250 else 0.0
    f["long_format"] = min(2, _distinct(lx.LONG_FORMAT, ask))
    f["transform"] = 1.0 if lx.TRANSFORM.search(ask) else 0.0
    f["edit"] = 1.0 if lx.EDIT.search(ask) else 0.0
    f["brief"] = 1.0 if lx.BRIEF.search(ask) else 0.0
    f["social"] = 1.0 if words <= 15 and lx.SOCIAL.search(ask) else 0.0

    # --- code: the request, and whether code comes with it
    f["code_fence"] = 1.0 if lx.CODE_FENCE.search(text) else 0.0
    # An error trace is a request to debug, whatever the words around it say. Kept
    # apart too (unweighted: too rare to fit alone) so the reason can name it.
    f["stack_trace"] = 1.0 if lx.STACK_TRACE.search(text) else 0.0
    f["code_density"] = min(2.0, 10 * len(lx.CODE_CHARS.findall(ask)) / max(40, len(ask)))
    f["code_keywords"] = min(6, _distinct(lx.CODE_KEYWORDS, ask)) / 2
    f["code_task"] = min(2, _distinct(lx.CODE_TASK, ask) + f["stack_trace"])
    f["tech_deep"] = min(3, _distinct(lx.TECH_DEEP, ask))
    f["tech_basic"] = min(3, _distinct(lx.TECH_BASIC, ask))

    # --- advice where a wrong answer costs something
    personal = 1.0 if lx.PERSONAL.search(ask) else 0.0
    medical = min(3, _distinct(lx.MEDICAL, ask))
    legal = min(3, _distinct(lx.LEGAL, ask))
    finance = min(3, _distinct(lx.FINANCE, ask))
    f["medical"], f["legal"], f["finance"] = medical, legal, finance
    f["personal_stakes"] = personal * min(3, medical + legal + finance)

    # --- language: of the whole text (a Tamil paste is Tamil to work on)
    script = dominant_script(text)
    f["low_resource_script"] = script[2] if script and script[1] else 0.0
    f["major_script"] = script[2] if script and not script[1] else 0.0
    f["low_resource_language"] = min(
        2, _distinct(lx.LOW_RESOURCE_LANGS, ask) + _distinct(lx.LOW_RESOURCE_WORDS, ask)
    )

    # --- the material: mild features only (how much, whether it is code), and one
    # interaction: a real task (debug, review, optimise) on pasted code or a log
    f["material"] = min(2.0, math.log1p(material_words) / 4) if pasted else 0.0
    f["material_code"] = 1.0 if parts.code_like else 0.0
    f["material_tech"] = min(1.0, _distinct(lx.TECH_DEEP, pasted) / 3) if pasted else 0.0
    work = f["code_task"] + f["analysis"] + (1.0 if f["questions"] and not f["edit"] else 0.0)
    f["task_on_code"] = min(2.0, work) * f["material_code"] * (0.0 if f["edit"] else 1.0)
    f["instruction_words"] = float(words)  # unweighted: the reasons' evidence
    f["material_words"] = float(material_words)
    return f


def history_features(prompt: str, last_user_logit: float | None, last_assistant: str | None) -> dict[str, float]:
    """How the conversation so far bears on this turn.

    `last_user_logit` is the text model's score for the previous user turn: a short
    follow-up ("and for n = 7?") is as hard as the question it builds on, while
    "thanks, that's all" is not, however hard the question was.
    """
    f = dict.fromkeys(HISTORY_FEATURES, 0.0)
    if last_user_logit is None:
        return f
    hardness = max(-4.0, min(4.0, last_user_logit))
    f["history_hardness"] = hardness / 2
    words = word_count(prompt)
    follows = words <= 30 and bool(lx.FOLLOW_UP.search(prompt))
    closing = words <= 15 and bool(lx.SOCIAL.search(prompt)) and not _QUESTION.search(prompt)
    # a short turn that leans on the last one: how hard that one was decides
    f["follow_up"] = 1.0 if follows and not closing else 0.0
    f["follow_up_on_hard"] = f["follow_up"] * max(0.0, hardness) / 2
    f["closing_turn"] = 1.0 if closing else 0.0
    if last_assistant:
        head = last_assistant[:4000]
        f["history_code"] = 1.0 if lx.CODE_FENCE.search(head) or len(lx.CODE_KEYWORDS.findall(head)) >= 2 else 0.0
    return f
