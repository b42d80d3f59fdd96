"""Find the passages for a question: keywords (FTS5, bm25) and vectors (cosine), merged by
reciprocal rank fusion, neighbours joined, and a plain verdict when nothing is good enough.

RRF (Cormack et al. 2009): score = sum over the two lists of 1 / (K + rank). It needs no
score calibration between bm25 and cosine, which is why hybrid search engines use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.documents.index import DocumentIndex
from assistant.documents.types import Passage
from assistant.documents.vectors import VectorSearch

RRF_K = 60
CANDIDATES = 50  # from each search, before fusion
# "not in your documents": the best cosine under this and no keyword hit on a rare word.
# Chosen on the tuning split of bench/retrieval_quality.py, never on the held-out one.
MIN_SIMILARITY = 0.30

Mode = str  # "hybrid" / "keyword" / "vector"

_STOP = set("""a an and are as at be but by can could did do does for from had has have how i if in into is it its
me my no not of on or our so than that the their them then there these they this to was we were what when where which
who whom why will with would you your about after all also any been before being between both each few more most
other over same should some such through under until up very""".split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def keyword_query(question: str) -> str:
    """An FTS5 query: the question's words (stop words out) joined by OR, each quoted so
    that FTS5 syntax in the text is taken as text."""
    words = [w.lower() for w in _WORD.findall(question)]
    terms = [w for w in words if w not in _STOP and len(w) > 1] or [w for w in words if len(w) > 1]
    seen: list[str] = []
    for w in terms:
        w = w.replace('"', "")
        if w and w not in seen:
            seen.append(w)
    return " OR ".join(f'"{w}"' for w in seen[:32])


@dataclass
class Retrieval:
    passages: list[Passage]
    weak: bool  # nothing good enough: say the documents do not seem to contain it
    candidates: list[Passage] = field(default_factory=list)  # everything ranked ("Why these passages?")
    best_similarity: float | None = None


def fuse(keyword: list[tuple[int, float]], vector: list[tuple[int, float]], *, k: int = RRF_K) -> list[tuple[int, float]]:
    scores: dict[int, float] = {}
    for ranked in (keyword, vector):
        for rank, (cid, _s) in enumerate(ranked, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class Retriever:
    def __init__(self, index: DocumentIndex, vectors: VectorSearch | None = None) -> None:
        self.index = index
        self.vectors = vectors or VectorSearch(index)

    def search(self, question: str, collection_ids: list[int], *, model: str | None,
               embed: Callable[[list[str]], np.ndarray] | None, top_k: int = 5, mode: Mode = "hybrid",
               merge_neighbours: bool = True) -> Retrieval:
        kw: list[tuple[int, float]] = []
        vec: list[tuple[int, float]] = []
        if mode in ("hybrid", "keyword"):
            match = keyword_query(question)
            kw = self.index.keyword_search(match, collection_ids, CANDIDATES) if match else []
        if mode in ("hybrid", "vector") and embed is not None and model:
            q = embed([question])[0]
            vec = self.vectors.search(q, collection_ids, model, CANDIDATES)
        ranked = fuse(kw, vec) if mode == "hybrid" else [(c, 0.0) for c, _ in (kw if mode == "keyword" else vec)]
        found = self.index.passages([cid for cid, _ in ranked])
        kw_rank = {cid: (i, s) for i, (cid, s) in enumerate(kw, start=1)}
        vec_rank = {cid: (i, s) for i, (cid, s) in enumerate(vec, start=1)}
        candidates: list[Passage] = []
        for cid, fused in ranked:
            p = found.get(cid)
            if p is None:
                continue
            if cid in kw_rank:
                p.keyword_rank, p.keyword_score = kw_rank[cid]
            if cid in vec_rank:
                p.vector_rank, p.vector_score = vec_rank[cid]
            p.fused = fused
            candidates.append(p)
        best = vec[0][1] if vec else None
        weak = not candidates or (mode != "keyword" and best is not None and best < MIN_SIMILARITY and not _strong_keyword(kw))
        chosen = candidates[:top_k]
        if merge_neighbours:
            chosen = merge_adjacent(chosen)
        return Retrieval(chosen, weak, candidates, best)


def _strong_keyword(kw: list[tuple[int, float]]) -> bool:
    # bm25 is negative in SQLite (more negative: better); a hit on several or rare words
    # scores below about -3 on small collections
    return bool(kw) and kw[0][1] < -3.0


def merge_adjacent(passages: list[Passage]) -> list[Passage]:
    """Chunks next to each other in the same file become one passage (kept at the place of
    the better one), so the model reads one continuous excerpt and the citation spans both."""
    out: list[Passage] = []
    for p in passages:
        for q in out:
            if q.file_id == p.file_id and abs(q.ord - p.ord) == 1 and (q.page is None or q.page == p.page):
                first, second = (q, p) if q.ord < p.ord else (p, q)
                q.text = first.text + "\n" + second.text
                q.line_start = first.line_start if first.line_start is not None else second.line_start
                q.line_end = second.line_end if second.line_end is not None else first.line_end
                q.ord = min(q.ord, p.ord)
                break
        else:
            out.append(p)
    return out
