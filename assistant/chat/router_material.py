"""Tell the task from the material: split a prompt into what is asked and what is pasted.

"Uppercase the SQL keywords in this query:" followed by forty lines of SQL is an easy
request; the size and the vocabulary of the SQL say nothing about it. The router
judges the difficulty of the instruction and gives the material only mild features
(how much there is, whether it is code or data), so that a long paste does not make
a small edit look hard.

Material is: fenced code blocks, quoted lines ("> ..."), long quoted passages
("...", «...», “...”), and paragraphs that look like code, JSON, CSV, logs or long
prose when a short instruction sits beside them (before, after, or after a colon).
Pure Python, no I/O; it also gives word counts that are fair to every script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Parts", "split", "word_count"]

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.DOTALL)
_QUOTED_LINES = re.compile(r"(?:^[ \t]*>.*(?:\n|\Z))+", re.MULTILINE)
_LONG_QUOTE = re.compile(r"\"[^\"\n]{120,}\"|“[^”]{120,}”|«[^»]{120,}»|「[^」]{80,}」|'[^'\n]{160,}'")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
# a line that is code, data or a log line rather than prose
_STRUCTURED_LINE = re.compile(
    r"^\s*(?:[{}\[\]]|\"[\w-]+\"\s*:|[\w.-]+\s*:\s*\S*$|[\w.-]+:$|"  # JSON / YAML
    r"(?:def|class|return|import|from|for|if|elif|else|while|try|except|with|async|await|const|let|var|"
    r"function|public|private|static|select|from|where|join|left|inner|group|order|having|limit|insert|"
    r"update|delete|create|#include|package|fn|pub|impl|module|SELECT|FROM|WHERE|JOIN)\b|"
    r"\d{4}-\d\d-\d\d[ T]\d|[A-Z][a-z]{2} \d\d? \d\d:\d\d|"  # log timestamps
    r"commit [0-9a-f]{7,40}\b|(?:Author|Date|Merge):\s|"  # git log
    r"[^\s,]*(?:,[^\s,]*){3,}$|"  # CSV (one way to match: no backtracking blow-up)
    r".*[;{}]\s*$|\s{4}\S)",  # a statement, a brace, indented code
)
# letters of scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar)
_NO_SPACE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")

_DEICTIC = re.compile(
    r"\b(?:this|these|that|the following|below|above|here|attached|ce|cette|ces|ceci|este|esta|estos|"
    r"estas|dieser|diese|diesen|dieses|questo|questa|это|этот|эту|этом)\b|这|此|以下|この|これ|هذا|هذه|इस",
    re.IGNORECASE,
)
_MIN_MATERIAL = 160  # characters: anything shorter is part of the request, whatever it looks like
_MAX_INSTRUCTION = 600  # characters: a paragraph longer than this is not "a short instruction"


@dataclass(frozen=True)
class Parts:
    instruction: str  # what is asked
    material: str  # what the request is about (pasted code, data, text); "" when none
    code_like: bool  # the material is mostly code, data or logs


def word_count(text: str) -> int:
    """Words, fairly across scripts: spaced scripts count their words; Han, kana, Thai
    and the like count ~2 characters a word (they have no spaces to count)."""
    dense = len(_NO_SPACE.findall(text))
    spaced = _NO_SPACE.sub(" ", text) if dense else text
    # a word is any run without spaces that has a letter or digit (not a lone "-" or "—");
    # str.split, not \w+, so that Devanagari vowel signs do not split words
    return sum(1 for t in spaced.split() if any(c.isalnum() for c in t)) + round(dense / 2)


def _structured(block: str) -> float:
    lines = [ln for ln in block.splitlines() if ln.strip()]
    if not lines:
        return 0.0
    return sum(1 for ln in lines if _STRUCTURED_LINE.match(ln)) / len(lines)


def _is_material(block: str, pointed_at: bool) -> bool:
    """A paragraph is material when it is long and code-like, or prose the request points at."""
    if len(block) < _MIN_MATERIAL // 2:
        return False
    return (len(block) >= _MIN_MATERIAL and _structured(block) >= 0.5) or pointed_at


def _points_at_material(ask: str) -> bool:
    """The request refers to something pasted: "...in this text:", "the email below", "Résume ce texte"."""
    return bool(re.search(r"[:：]\s*$", ask) or _DEICTIC.search(ask))


def split(text: str) -> Parts:
    pieces: list[str] = []

    def take(m: re.Match[str]) -> str:
        if len(m.group(0)) < _MIN_MATERIAL // 2:
            return m.group(0)
        pieces.append(m.group(0))
        return "\n\n"

    rest = _FENCE.sub(take, text)
    rest = _QUOTED_LINES.sub(take, rest)
    rest = _LONG_QUOTE.sub(take, rest)
    fenced = bool(pieces)

    paragraphs = [p for p in _PARAGRAPH.split(rest) if p.strip()]
    if len(paragraphs) == 1 and not fenced:
        # "Fix the typo in this:\n<pasted>" with no blank line: cut after the first colon line
        m = re.match(r"(.{0,300}?[:：])[ \t]*\n(.+)", paragraphs[0], re.DOTALL)
        if m and len(m.group(2)) >= _MIN_MATERIAL:
            paragraphs = [m.group(1), m.group(2)]
    kept: list[str] = []
    if len(paragraphs) >= 2:
        # the ask is the first paragraph, or the last one when that is the shorter; a short
        # first paragraph ending in a colon or a question ("When is this invoice due?") asks
        first, last = paragraphs[0], paragraphs[-1]
        opens = re.search(r"[:：]\s*$", first) or (len(first) <= _MIN_MATERIAL and re.search(r"[?？]\s*$", first))
        ask = 0 if opens or len(first) <= len(last) else len(paragraphs) - 1
        pointed = _points_at_material(paragraphs[ask]) and len(paragraphs[ask]) <= _MAX_INSTRUCTION
        found = [i for i, p in enumerate(paragraphs) if i != ask and _is_material(p, pointed)]
        for i, p in enumerate(paragraphs):
            # a short line inside what the ask points at (a subject line, "Hi Daniel,") is
            # part of it: any paragraph before the last piece of material
            inside = pointed and ask == 0 and found and 0 < i < found[-1]
            if i in found or inside:
                pieces.append(p)
            else:
                kept.append(p)
    else:
        for p in paragraphs:
            (pieces if _is_material(p, False) else kept).append(p)
    if not kept and pieces:
        # all of it looks like material: the shortest piece that reads as prose is the ask
        kept = [min(paragraphs or pieces, key=len)]
        if kept[0] in pieces:
            pieces.remove(kept[0])
    instruction = "\n\n".join(p.strip() for p in kept).strip()
    if len(instruction) > _MAX_INSTRUCTION * 4 and not pieces:
        return Parts(text, "", False)  # one long request: it is all instruction
    material = "\n\n".join(pieces)
    code_like = bool(material) and (fenced and "```" in material or _structured(material) >= 0.5)
    return Parts(instruction or text.strip(), material, code_like)
