"""Decide whether a prompt is too hard for the local model, and say why.

Before generation, `assess` scores the prompt and the conversation with a few
transparent, weighted features (context fill, code, math, multi-step reasoning,
requested output length, script / language, domain nuance) and compares the sum
with a threshold that grows with the local model's size. After a local answer,
`assess_answer` looks at that answer's own confidence (mean token log-probability
or entropy, as llama.cpp reports them) and may suggest escalation.

No ML libraries and no I/O: the GUI calls this on every send, so it must stay well
under a millisecond for a typical prompt. Weights were tuned by hand on
tests/chat/router_prompts.jsonl; `bench/router_eval.py` prints how well they do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.core.types import Message

__all__ = [
    "LocalModelInfo",
    "RouteDecision",
    "assess",
    "assess_answer",
    "threshold_for",
    "estimate_tokens",
    "LOGPROB_UNSURE",
    "ENTROPY_UNSURE",
]


@dataclass(frozen=True)
class LocalModelInfo:
    name: str
    params_billion: float | None  # None: unknown; guessed from the name ("... 1B ...")
    context_length: int


@dataclass(frozen=True)
class RouteDecision:
    hard: bool
    score: float  # weighted feature sum / the model's threshold: 1.0 or more is hard
    reasons: list[str] = field(default_factory=list)  # short phrases, strongest first
    reason: str = ""  # one plain sentence for the user


# ---------------------------------------------------------------- thresholds

# A 1B model stumbles on one strong signal plus a weak one; a 30B model needs
# several strong ones before the cloud is worth it.
_THRESHOLDS: list[tuple[float, float]] = [  # (params below, threshold)
    (3.0, 1.8),
    (7.0, 2.4),
    (30.0, 3.2),
    (float("inf"), 4.2),
]
_UNKNOWN_SIZE_THRESHOLD = 2.4  # unknown size: treat like a small-but-not-tiny model

_SIZE_IN_NAME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([bm])\b", re.I)


def model_params_billion(model: LocalModelInfo) -> float | None:
    if model.params_billion is not None:
        return model.params_billion
    # "Gemma 3 1B", "qwen2.5-7b-instruct", "gemma-3-270m": the size is usually in the name
    m = _SIZE_IN_NAME.search(model.name.replace("-", " ").replace("_", " "))
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000 if m.group(2).lower() == "m" else value


def threshold_for(model: LocalModelInfo) -> float:
    params = model_params_billion(model)
    if params is None:
        return _UNKNOWN_SIZE_THRESHOLD
    for below, threshold in _THRESHOLDS:
        if params < below:
            return threshold
    return _THRESHOLDS[-1][1]


# ---------------------------------------------------------------- token estimate

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer: ~4 characters per token for ASCII,
    ~1 token per character elsewhere (CJK and most scripts split finely)."""
    if text.isascii():
        return len(text) // 4 + 1
    non_ascii = len(_NON_ASCII.findall(text))
    return (len(text) - non_ascii) // 4 + non_ascii + 1


def _conversation_tokens(prompt: str, history: list[Message]) -> int:
    # ~4 tokens of template overhead per message
    return sum(estimate_tokens(m.content) + 4 for m in history) + estimate_tokens(prompt) + 4


# ---------------------------------------------------------------- scripts

# Scripts where small open models have little training data. Unicode blocks, not
# language identification: cheap and good enough to name the script to the user.
_LOW_RESOURCE_SCRIPTS: list[tuple[int, int, str]] = [
    (0x0530, 0x058F, "Armenian"),
    (0x0700, 0x074F, "Syriac"),
    (0x0780, 0x07BF, "Thaana"),
    (0x07C0, 0x07FF, "N'Ko"),
    (0x0980, 0x09FF, "Bengali"),
    (0x0A00, 0x0A7F, "Gurmukhi"),
    (0x0A80, 0x0AFF, "Gujarati"),
    (0x0B00, 0x0B7F, "Odia"),
    (0x0B80, 0x0BFF, "Tamil"),
    (0x0C00, 0x0C7F, "Telugu"),
    (0x0C80, 0x0CFF, "Kannada"),
    (0x0D00, 0x0D7F, "Malayalam"),
    (0x0D80, 0x0DFF, "Sinhala"),
    (0x0E80, 0x0EFF, "Lao"),
    (0x0F00, 0x0FFF, "Tibetan"),
    (0x1000, 0x109F, "Myanmar"),
    (0x10A0, 0x10FF, "Georgian"),
    (0x1200, 0x139F, "Ethiopic"),
    (0x13A0, 0x13FF, "Cherokee"),
    (0x1400, 0x167F, "Canadian Aboriginal"),
    (0x1780, 0x17FF, "Khmer"),
    (0x1800, 0x18AF, "Mongolian"),
    (0x2D30, 0x2D7F, "Tifinagh"),
    (0xA500, 0xA63F, "Vai"),
]
# Widely used scripts: fine for big models, shakier for tiny ones.
_MAJOR_SCRIPTS: list[tuple[int, int, str]] = [
    (0x0370, 0x03FF, "Greek"),
    (0x0400, 0x04FF, "Cyrillic"),
    (0x0590, 0x05FF, "Hebrew"),
    (0x0600, 0x06FF, "Arabic"),
    (0x0900, 0x097F, "Devanagari"),
    (0x0E00, 0x0E7F, "Thai"),
    (0x3040, 0x30FF, "Japanese kana"),
    (0x4E00, 0x9FFF, "Chinese characters"),
    (0xAC00, 0xD7AF, "Korean Hangul"),
]
_LETTER = re.compile(r"[^\W\d_]")
_NON_LATIN = re.compile(r"[^\x00-\u024f\u2000-\u2bff\ufe00-\ufe0f\U0001f000-\U0001faff]")


def _dominant_script(text: str) -> tuple[str, bool, float] | None:
    """(script name, is low-resource, share of letters) of the main non-Latin script."""
    if text.isascii():
        return None
    chars = _NON_LATIN.findall(text, 0, 20_000)[:2_000]  # a sample is enough
    if not chars:
        return None
    counts: dict[tuple[str, bool], int] = {}
    for ch in chars:
        cp = ord(ch)
        for table, low in ((_LOW_RESOURCE_SCRIPTS, True), (_MAJOR_SCRIPTS, False)):
            hit = next((name for lo, hi, name in table if lo <= cp <= hi), None)
            if hit:
                counts[(hit, low)] = counts.get((hit, low), 0) + 1
                break
    if not counts:
        return None
    (name, low), n = max(counts.items(), key=lambda kv: kv[1])
    letters = len(_LETTER.findall(text, 0, 20_000)) or 1
    return name, low, min(1.0, n / letters)


# ---------------------------------------------------------------- lexical cues

def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# Languages with little web text; asking for them (in any script) is a warning sign.
_LOW_RESOURCE_LANGS = _rx(
    r"\b(amharic|tigrinya|yoruba|igbo|hausa|zulu|xhosa|kiswahili|swahili|somali|wolof|"
    r"khmer|lao|burmese|sinhala|nepali|pashto|tajik|kyrgyz|mongolian|tibetan|uyghur|"
    r"quechua|guarani|aymara|maori|samoan|tongan|fijian|malagasy|basque|welsh|irish gaelic|"
    r"scottish gaelic|icelandic|faroese|latvian|lithuanian|maltese|kannada|telugu|malayalam|"
    r"odia|assamese|sindhi|kurdish|haitian creole|classical chinese|sanskrit|ancient greek|latin)\b"
)

_CODE_FENCE = re.compile(r"```|^(?: {4}|\t)\S.*[;{}()]\s*$", re.M)
_STACK_TRACE = re.compile(
    r"\b[\w.]*[a-z](Error|Exception)\b(?=:|\s+at\b)|traceback \(most recent call last\)|^\s+at [\w.$<>]+\(.*:\d+\)|"
    r"\bpanic:|\bsigsegv\b|segmentation fault|exception in thread|\bcore dumped\b|"
    r"^\w*(error|exception): .+$|goroutine \d+|exit code: ?\d{2,3}|\bcrashloopbackoff\b|\boomkilled\b",
    re.I | re.M,
)
_CODE_TASK = _rx(
    r"\b(debug|refactor|implement|optimi[sz]e (this|my|the) (code|query|function)|"
    r"(fix|optimi[sz]e|speed up|debug)\b[^.?!]{0,40}\b(code|bug|function|query|script|race condition|"
    r"memory leak|deadlock)|"
    r"write (a|an|me a)? ?(?:(?:complete|full|working|small|simple|single),? )*"
    r"([\w+#-]+ ){0,2}(function|script|program|class|module|library|parser|server|api|cli|"
    r"regular expression|regex|clone|app|application|cache|ring buffer|compiler|interpreter|"
    r"lexer|emulator|virtual machine|database|game)|"
    r"(throws|throwing|getting (this|an|the) error|what's the bug|find the bug|"
    r"re-?renders?|crash(es|ing)?|hangs?|leaks?|keeps restarting|returns? duplicate|doesn't compile|won't compile)\b|"
    r"what's wrong with (this|my) (code|query|function)|why does this (code|query|sql|function))"
)
_TECH_TERMS = _rx(
    r"\b(async|await|thread-safe|lock-free|mutex|atomics?|memory ordering|race condition|"
    r"deadlock|backoff|retries|generic over|unit tests?|big-?o|complexity|recursion|"
    r"kubernetes|kubectl|docker|sql|join|index(es)?|schema|api|endpoint|microservices?|"
    r"distributed|sharding|consistency|latency|throughput|undefined behaviou?r|-o2|gdb|"
    r"algorithm|heap|graph|dynamic programming|bit level|floating point|ieee 754|"
    r"regular expression|regex|sliding window|pars(e|er|es|ing)|csv|stream(ing)?|"
    r"idempoten\w*|event[- ]sourc\w*|replication|transactions?|queues?|sqlite|postgres\w*|"
    r"tests|readme|command-line|cli|"
    r"javascript|typescript|python|rust|golang|c\+\+|java|html|css|react|django)\b"
)

_PROOF = _rx(r"\b(prove|proof|derive|derivation|show that|rigorous(ly)?|theorem|lemma|inequality)\b")
_CALCULUS = _rx(
    r"\b(derivative|differentiate|integral|integrate|limit of|series|eigen\w*|matrix|"
    r"fourier|laplace|gradient|least squares|invertible|differential equation|"
    r"primes?|divisible|gcd|modulo|factorial|system of equations|solve the system|"
    r"maximi[sz]es?|minimi[sz]es?|optimal|how many ways|inscribed|radius|volume|area of)\b"
)
_PROBABILITY = _rx(
    r"\b(probability|expected (number|value)|odds|random(ly)?|without replacement|"
    r"combinations?|permutations?|conditional|bayes|coin flips?|dice|in a row|"
    r"at least (one|two)|share a)\b"
)
_ALGEBRA = re.compile(
    r"(\b\d*[a-z]\s*[\^*/+-]\s*\d|\d\s*\^\s*\d|\d\s*[a-z]\s*[+-]|[a-z]\s*\^\s*\w|\b(solve|factor(i[sz]e)?|simplify)\b"
    r"|\b[a-z]\s*=\s*-?\d|\bf\(x\)|\bln\(|\bsin\b|\bcos\b|\bsqrt|√|∫|∑)", re.I
)
_WORD_PROBLEM = _rx(
    r"\b(how (much|many|far|long)|at what time|what time|how fast|compounded|per (hour|day|month|year)|"
    r"mph|km/h|interest|rate|each (day|night|hour|week|month)|on which day|"
    r"percent(age)?|discount|price|coupon|what does (s?he|it|they) (pay|cost)|"
    r"days? (ago|from now|later)|what day|how old|in total)\b"
)
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?")

_PUZZLE = _rx(
    r"\b(puzzle|riddle|knights?|knaves?|weighings?|counterfeit|missing dollar|can we conclude|"
    r"counterexample|paradox|syllogism|all \w+ are|some \w+ are|estimate how many|fermi|"
    r"who owns|each \w+ (has|owns|drinks) a different|lives in the)\b"
)
_MULTI_STEP = _rx(
    r"(step[- ]by[- ]step|\bshow (your|all|every|the) (work|reasoning|steps|assumptions?|arithmetic)|"
    r"\bwalk (me )?through\b|\bfirst\b[^.?!]{0,200}\bthen\b|\bthen\b[^.?!]{0,200}\bfinally\b|"
    r"\bgenerali[sz]e\b|\bgeneral formula\b|\bjustify\b|\btrade-?offs?\b|\bfailure modes\b|"
    r"\bweigh (them|the|these)\b|\bevaluate\b|\bcompare\b|\bcounterarguments?\b|\broot cause\b|"
    r"\bwhat (could|might) be going on\b|\bwhy\b[^?!]{0,120}\b(but|and how|then)\b|"
    r"\bexplain each\b|\bunder the hood\b)"
)
_ANALYSIS = _rx(
    r"\b(analy[sz]e|analysis|critique|assess|root cause|confounders?|clauses?|"
    r"does (the|this) conclusion|whether the|find the (bug|cause|problem)|identify (the )?risks?|expose us)\b"
)
_DESIGN = _rx(r"\b(design (a|an|the)|architecture|system design|schema and api|capacity estimate)\b")
_NUMBERED_ITEM = re.compile(r"(?:^|\n)\s*(?:\d+[.)]|[-*•])\s+\S")
_PLANNING = _rx(
    r"\b(plan (a|an|my|the|our)|itinerary|schedule|timeline|budget|backup|logistics|"
    r"seating|guests|deadline)\b"
)
_CONSTRAINT = _rx(r"\b(must|within|budget|at least|at most|no more than|under \$?\d|can't|cannot|only|each|every|without)\b")

_LONG_WORDS = _rx(r"\b(\d{1,2}(?:,\d{3})+|\d{3,6})[- ](words?|pages?|lines? of code|slides?)\b")
_LONG_OUTPUT = _rx(
    r"\b(detailed (report|guide|plan|analysis|essay)|comprehensive|in-depth|in depth|thorough|"
    r"complete (business plan|guide|program|implementation|working|app)|full (program|implementation|"
    r"report|outline|\d+-chapter)|business plan|\d+-chapter|chapters?|essay|thesis|white ?paper|"
    r"day-by-day|itinerary|every breaking change|with sections|financial projections|"
    r"(weekly|monthly) schedule|curriculum|with unit tests|complete, working)\b"
)

_LEGAL = _rx(
    r"\b(legal(ly)?|lawyer|attorney|lawsuit|sue|court|contract|clauses?|liabilit(y|ies)|"
    r"enforceable|non-?compete|landlord|tenant|deposit|my rights|gdpr|copyright|custody|"
    r"visa|immigration|jurisdiction|indemnif\w+)\b"
)
_MEDICAL = _rx(
    r"\b(symptoms?|diagnos\w+|dos(e|age)|mg\b|medication|prescri\w+|side effects?|"
    r"chest (pain|tightness)|tingling|numbness|pregnan\w+|blood pressure|hypertension|"
    r"antibiotic|amoxicillin|ibuprofen|paracetamol|should i be worried|clinical|patients?|"
    r"otitis|infection|therapy|swallowed|poison\w*|overdose|bleeding|fever|allerg\w+|"
    r"emergency|vaccin\w+|surgery|drugs?|pills?|aspirin|acetaminophen|warfarin|insulin|"
    r"metformin|sertraline|statins?|opioids?|\d+-year-old)\b|\bcan i take\b[^?]{1,60}\bwith\b|"
    r"\b(is it safe|safe) to (combine|mix|take)\b"
)
_FINANCIAL = _rx(
    r"\b(tax(es|ation)?|401\(?k\)?|ira|pension|mortgage|apr|invest(ment|ing)?|portfolio|"
    r"capital gains|sole proprietor\w*|bankruptcy|debt|loan)\b"
)
_PERSONAL = _rx(r"\b(i'm|i am|my|should i|can i|me)\b")

# Tasks that stay easy even on long input: they transform text, they don't reason about it.
_SIMPLE_TRANSFORM = _rx(
    r"\b(summari[sz]e|tl;?dr|fix (any |the )?(typos|spelling|grammar)|proofread|"
    r"make (this|it) (shorter|longer|more \w+|a bit \w+)|rewrite (this|it)|shorter and|"
    r"put them in bullet|bullet (points|list)|group (it|them)|sort these|give (these|this) .{0,30}title|"
    r"in one sentence|one-line|one line|in simple terms|briefly)\b"
)


# ---------------------------------------------------------------- features

@dataclass
class _Scored:
    weight: float
    phrase: str  # completes "it ..." in the user-facing sentence


def _text_features(text: str, tokens: int, small_model: bool) -> list[_Scored]:
    """Features of one piece of user text (the prompt, or a recent turn)."""
    out: list[_Scored] = []
    lower = text.lower()

    # --- code
    code_w = 0.0
    has_fence = bool(_CODE_FENCE.search(text))
    has_trace = bool(_STACK_TRACE.search(text))
    code_task = bool(_CODE_TASK.search(text))
    tech = len(set(m.group(0).lower() for m in _TECH_TERMS.finditer(text)))
    if has_trace:
        code_w += 2.0
    if has_fence:
        code_w += 0.8
    if code_task:
        code_w += 1.3
    code_w += min(1.2, 0.4 * tech)
    if code_w:
        if has_trace:
            phrase = "includes an error trace to debug"
        elif has_fence and code_task:
            phrase = "asks to debug or change code"
        elif code_task:
            phrase = "asks for non-trivial code"
        elif has_fence:
            phrase = "includes code to reason about"
        else:
            phrase = "needs technical depth"
        out.append(_Scored(min(code_w, 3.0), phrase))

    # --- math
    math_w = 0.0
    if _PROOF.search(text):
        math_w += 2.0
    if _CALCULUS.search(text):
        math_w += 1.6
    prob = len(set(m.group(0).lower() for m in _PROBABILITY.finditer(text)))
    if prob:
        math_w += 1.5 + 0.5 * (prob - 1)
    algebra = len(_ALGEBRA.findall(text))
    math_w += min(1.6, 0.5 * algebra)
    numbers = len(_NUMBER.findall(text))
    word_problem = len(set(m.group(0).lower() for m in _WORD_PROBLEM.finditer(text)))
    if word_problem and numbers >= 1:
        math_w += 0.6 + 0.3 * (word_problem - 1) + min(1.2, 0.2 * (numbers - 1))
    elif numbers >= 5 and "?" in text:
        # a question over many quantities is usually arithmetic in disguise
        math_w += min(1.0, 0.3 + 0.1 * (numbers - 5))
    if math_w:
        out.append(_Scored(min(math_w, 3.5), "asks for multi-step math" if math_w >= 1.5 else "involves some math"))

    # --- logic puzzles
    puzzles = len(set(m.group(0).lower() for m in _PUZZLE.finditer(text)))
    if puzzles:
        out.append(_Scored(min(2.4, 1.5 + 0.5 * (puzzles - 1)), "is a logic puzzle"))

    # --- multi-step reasoning and analysis
    steps = len(_MULTI_STEP.findall(text))
    analysis = len(_ANALYSIS.findall(text))
    items = len(_NUMBERED_ITEM.findall(text))
    constraints = len(_CONSTRAINT.findall(text))
    ms_w = min(1.8, 0.8 * steps) + min(1.2, 0.6 * analysis)
    if items >= 3 and constraints >= 2:
        ms_w += 1.0
    if constraints >= 4:
        ms_w += 0.4 * min(4, constraints - 3)
    if _DESIGN.search(text):
        ms_w += 1.4
    planning = len(set(m.group(0).lower() for m in _PLANNING.finditer(text)))
    if planning:
        ms_w += min(1.6, 0.6 * planning)
    if ms_w:
        out.append(_Scored(min(ms_w, 3.0), "needs several steps of reasoning"))

    # --- a long document to analyse (not just to summarise or tidy up)
    if tokens >= 200 and (analysis or steps or code_task or has_trace):
        out.append(_Scored(min(1.5, tokens / 400), "asks to analyse a long text"))

    # --- requested output length
    long_w = 0.0
    m = _LONG_WORDS.search(text)
    if m:
        n = int(m.group(1).replace(",", ""))
        unit = m.group(2).lower()
        words = n * (300 if unit.startswith("page") else 10 if unit.startswith("line") else 60 if unit.startswith("slide") else 1)
        if words >= 500:
            long_w += 2.0 if words >= 1500 else 1.2
    long_w += min(2.0, 1.0 * len(_LONG_OUTPUT.findall(text)))
    if long_w:
        out.append(_Scored(min(long_w, 2.8), "asks for a long answer"))

    # --- language
    script = _dominant_script(text)
    if script:
        name, low, share = script
        if share >= 0.3:
            if low:
                out.append(_Scored(2.4, f"is written in {name} script, which small models know little of"))
            else:
                w = 1.0 if small_model else 0.4
                out.append(_Scored(w, f"is written in {name}"))
    lang = _LOW_RESOURCE_LANGS.search(text)
    if lang:
        out.append(_Scored(2.2, f"involves {lang.group(1).title()}, a language with little training data"))

    # --- domain nuance: advice where a wrong answer costs something
    domains = [
        (name, len(set(m.group(0).lower() for m in rx.finditer(text))))
        for name, rx in (("legal", _LEGAL), ("medical", _MEDICAL), ("financial", _FINANCIAL))
    ]
    domains = [(n, c) for n, c in domains if c]
    if domains:
        name, count = max(domains, key=lambda d: d[1])
        w = 1.4 + 0.4 * min(3, count - 1)
        if _PERSONAL.search(lower):
            w += 0.5  # personal advice, not trivia
        out.append(_Scored(min(w, 2.4), f"needs careful {name} judgement"))

    return out


def _merge(features: list[_Scored]) -> list[_Scored]:
    merged: dict[str, _Scored] = {}
    for f in features:
        key = f.phrase
        if key in merged:
            merged[key].weight += f.weight
        else:
            merged[key] = _Scored(f.weight, f.phrase)
    return sorted(merged.values(), key=lambda f: -f.weight)


def _join(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def assess(prompt: str, history: list[Message], model: LocalModelInfo) -> RouteDecision:
    """Hard or easy for `model`, before generation, with the reason in plain words."""
    params = model_params_billion(model)
    small = params is None or params < 3.0
    threshold = threshold_for(model)

    prompt_tokens = estimate_tokens(prompt)
    features = _text_features(prompt, prompt_tokens, small)

    # A follow-up ("now make it async") inherits the difficulty of the turn it builds on;
    # only the last exchange counts, so an old hard question fades. A short follow-up
    # says little by itself, so the exchange it refers to weighs more.
    carry = 0.7 if prompt_tokens < 40 else 0.5
    recent = [m for m in history if m.role in ("user", "assistant")][-2:]
    for m in recent:
        for f in _text_features(m.content, estimate_tokens(m.content), small):
            if f.phrase.startswith("is written in") or f.phrase.startswith("asks to analyse"):
                continue  # said once for the prompt itself is enough
            features.append(_Scored(f.weight * carry, f.phrase))

    # Transformations of given text (summaries, typo fixes, bullets) stay easy even when long.
    if _SIMPLE_TRANSFORM.search(prompt) and not _MULTI_STEP.search(prompt):
        features.append(_Scored(-0.8, ""))

    # The context window: near or over it, a local model loses the start of the conversation.
    total = _conversation_tokens(prompt, history)
    ctx = max(1, model.context_length)
    fill = total / ctx
    if fill >= 1.0:
        features.append(_Scored(5.0, f"does not fit in the model's {ctx:,}-token context window"))
    elif fill >= 0.75:
        features.append(_Scored(3.5, f"nearly fills the model's {ctx:,}-token context window"))
    elif fill >= 0.5:
        features.append(_Scored(1.2, f"uses over half of the model's {ctx:,}-token context window"))

    merged = _merge(features)
    raw = sum(f.weight for f in merged)
    score = round(max(0.0, raw) / threshold, 3)
    hard = raw >= threshold
    reasons = [f.phrase for f in merged if f.phrase and f.weight >= 0.5]
    if hard:
        shown = reasons[:3] or ["combines several demanding signals"]
        reason = f"This looks hard for {model.name}: it {_join(shown)}."
    else:
        reason = f"Looks fine for {model.name}."
    return RouteDecision(hard=hard, score=score, reasons=reasons, reason=reason)


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
