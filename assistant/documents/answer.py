"""Turn a question about documents into what the model reads, and its sources.

- Whole documents go in when they fit the window with room for the answer (the token
  budget is said).
- Otherwise the best passages (hybrid retrieval, neighbours merged) as numbered excerpts.
- A question about the whole document ("summarise", "how many", "compare") that does not
  fit is answered by map-reduce: notes from each window-sized group of chunks, then one
  answer from the notes; it estimates its time first, reports progress and stops on Stop.
- When no passage is good enough the answer says so instead of guessing.

The excerpts are all a cloud turn carries of the documents: `excerpt_transform` is the one
place they enter the messages, for local and cloud turns alike (so the consent preview,
built with it, shows exactly them, and redaction applies to them).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from assistant.core.types import GenParams, Message
from assistant.documents.retrieve import Retrieval
from assistant.documents.types import Passage

INSTRUCTIONS = ("Answer from the numbered excerpts of the user's documents below. Cite each fact with the number of "
                "its excerpt in square brackets, like [1] or [2]. If the excerpts do not contain the answer, say that "
                "the documents do not seem to contain it; do not guess.")
NOT_FOUND = "Your documents do not seem to contain this: no passage matched the question well enough."
MARGIN_TOKENS = 64  # template and instructions
_WHOLE = re.compile(r"\b(summari[sz]e|summary|overview|how many|count|list (all|every)|compare|comparison|"
                    r"throughout|whole (document|file|text)|all the|every (clause|section|chapter|mention))\b", re.I)
TokenCounter = Callable[[str], int]


def is_whole_document_question(question: str) -> bool:
    return bool(_WHOLE.search(question))


@dataclass
class DocumentContext:
    question: str
    sources: list[Passage]
    mode: str  # "whole" / "retrieval" / "map-reduce" / "none"
    tokens: int = 0  # what the excerpts take
    budget: int = 0  # what they may take
    weak: bool = False
    candidates: list[Passage] = field(default_factory=list)

    @property
    def budget_note(self) -> str:
        if self.mode == "whole":
            return f"Whole documents: {self.tokens:,} of {self.budget:,} tokens available."
        if self.mode == "retrieval":
            return f"{len(self.sources)} passage{'s' if len(self.sources) != 1 else ''} ({self.tokens:,} tokens)."
        if self.mode == "map-reduce":
            return "Read in parts (map-reduce): the documents do not fit the model's window."
        return NOT_FOUND


def choose(question: str, retrieval: Retrieval, whole: list[Passage] | None, *, budget: int,
           count: TokenCounter) -> DocumentContext:
    """Whole documents when `whole` (every chunk, in order) fits `budget`; else the retrieved passages that fit."""
    if retrieval.weak and not is_whole_document_question(question):
        return DocumentContext(question, [], "none", 0, budget, weak=True, candidates=retrieval.candidates)
    if whole:
        n = count("\n".join(p.text for p in whole))
        if n <= budget:
            return DocumentContext(question, _as_files(whole), "whole", n, budget)
        if is_whole_document_question(question):
            return DocumentContext(question, whole, "map-reduce", n, budget)
    if retrieval.weak or not retrieval.passages:
        return DocumentContext(question, [], "none", 0, budget, weak=True, candidates=retrieval.candidates)
    chosen, used = [], 0
    for p in retrieval.passages:
        n = count(p.text) + 12
        if used + n > budget:
            continue
        chosen.append(p)
        used += n
    mode = "retrieval" if chosen else "none"
    return DocumentContext(question, chosen, mode, used, budget, weak=not chosen, candidates=retrieval.candidates)


def _as_files(chunks: list[Passage]) -> list[Passage]:
    """Every chunk joined into one source per PDF page, or per file for other kinds."""
    out: dict[tuple[int, int | None], Passage] = {}
    for c in chunks:
        key = (c.file_id, c.page)
        if key in out:
            out[key].text += "\n" + c.text
            out[key].line_end = c.line_end or out[key].line_end
        else:
            out[key] = Passage(c.chunk_id, c.file_id, c.path, c.text, c.page, c.line_start, c.line_end, c.ord, c.kind)
    return list(out.values())


def excerpts_block(sources: list[Passage]) -> str:
    return "\n\n".join(f"[{i}] ({p.where})\n{p.text.strip()}" for i, p in enumerate(sources, start=1))


def prompt_text(question: str, sources: list[Passage]) -> str:
    return f"{INSTRUCTIONS}\n\nExcerpts:\n\n{excerpts_block(sources)}\n\nQuestion: {question}"


def excerpt_transform(ctx: DocumentContext) -> Callable[[list[Message]], list[Message]]:
    """Puts the excerpts into the last user message (the question stays the stored one)."""

    def transform(messages: list[Message]) -> list[Message]:
        if not ctx.sources or not messages or messages[-1].role != "user":
            return messages
        return [*messages[:-1], Message("user", prompt_text(messages[-1].content, ctx.sources))]

    return transform


def sources_payload(ctx: DocumentContext) -> list[dict[str, Any]]:
    """What is stored with the answer and shown under it: [n], file, page or lines, snippet, ranks."""
    return [{"n": i, "path": p.path, "where": p.where, "page": p.page, "line_start": p.line_start,
             "line_end": p.line_end, "kind": p.kind, "snippet": p.snippet(), "text": p.text, "chunk_id": p.chunk_id,
             "keyword_rank": p.keyword_rank, "vector_rank": p.vector_rank,
             "vector_score": p.vector_score, "keyword_score": p.keyword_score}
            for i, p in enumerate(ctx.sources, start=1)]


def format_sources(ctx: DocumentContext) -> str:
    if not ctx.sources:
        return ""
    return "Sources:\n" + "\n".join(f"  [{i}] {p.where}: {p.snippet(100)}" for i, p in enumerate(ctx.sources, start=1))


# ---------------------------------------------------------------------- map-reduce
@dataclass
class MapReducePlan:
    groups: list[list[Passage]]
    estimate_s: float

    def describe(self) -> str:
        minutes = self.estimate_s / 60
        when = f"about {minutes:.0f} minutes" if minutes >= 1.5 else f"about {max(1, round(self.estimate_s))} seconds"
        return (f"The documents do not fit the model's window: reading them in {len(self.groups)} parts, "
                f"then answering from the notes ({when} on this computer).")


def plan_map_reduce(chunks: list[Passage], *, budget: int, count: TokenCounter, note_tokens: int,
                    prompt_tps: float, decode_tps: float) -> MapReducePlan:
    groups: list[list[Passage]] = [[]]
    used = 0
    for c in chunks:
        n = count(c.text) + 12
        if groups[-1] and used + n > budget:
            groups.append([])
            used = 0
        groups[-1].append(c)
        used += n
    total = sum(count(c.text) + 12 for c in chunks)
    estimate = (total + len(groups) * note_tokens) / max(prompt_tps, 1.0) + (len(groups) + 1) * note_tokens / max(decode_tps, 0.5)
    return MapReducePlan(groups, estimate)


def map_notes(plan: MapReducePlan, question: str, ask: Callable[[list[Message], GenParams, threading.Event], str],
              params: GenParams, cancel: threading.Event, progress: Callable[[int, int], None] | None = None) -> list[Passage]:
    """Notes from each group (one model call each); stops between groups when `cancel` is set.
    The notes become the excerpts of the final answer, each citing its part's pages."""
    notes: list[Passage] = []
    for i, group in enumerate(plan.groups, start=1):
        if cancel.is_set():
            break
        if progress is not None:
            progress(i - 1, len(plan.groups))
        t0 = time.monotonic()
        ask_text = (f"Write short notes of everything in these excerpts that helps answer the question, citing the "
                    f"excerpt numbers. Write 'nothing relevant' if there is nothing.\n\nExcerpts:\n\n"
                    f"{excerpts_block(group)}\n\nQuestion: {question}")
        text = ask([Message("user", ask_text)], params, cancel).strip()
        first, last = group[0], group[-1]
        p = Passage(first.chunk_id, first.file_id, first.path, text, first.page, first.line_start, last.line_end,
                    first.ord, first.kind)
        if last.page and first.page and last.page != first.page:
            p.page = None
            p.line_start = None
            p.text = f"(pages {first.page}-{last.page}) {text}"
        if text and "nothing relevant" not in text.lower():
            notes.append(p)
        plan.estimate_s = max(0.0, plan.estimate_s - (time.monotonic() - t0))
    if progress is not None and not cancel.is_set():  # stopped: not "read part N of N"
        progress(len(plan.groups), len(plan.groups))
    return notes
