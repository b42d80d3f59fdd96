"""Earlier answers kept as versions: Regenerate, "Retry locally" and "Retry with <cloud>"
keep the answer they replace (as LM Studio does), and the chat shows ‹1/2›.

The conversation itself stays a plain list of messages (context building, export and
search see only the answer shown); the others wait in answer_versions, keyed by the
user message they answer (migration 5). Showing another version swaps the two rows'
contents, so the one shown is always the messages row.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.chat.records import StoredMessage
from assistant.chat.store import ChatStore

# the answer's own columns, the same in messages and answer_versions
FIELDS = ("content", "status", "engine", "model", "prompt_tokens", "completion_tokens", "ttft_s",
          "decode_tokens_per_s", "duration_s", "error", "created_at", "origin", "provider", "cost_usd",
          "thinking", "thinking_s", "finish_reason")
_COLS = ", ".join(FIELDS)


@dataclass(frozen=True)
class Versions:
    index: int  # 1-based: which of them is shown
    count: int
    question_id: int


def _question_of(store: ChatStore, answer: StoredMessage) -> int:
    with store._read("read answer versions") as c:
        row = c.execute(
            "SELECT id FROM messages WHERE conversation_id = ? AND id < ? AND role = 'user' ORDER BY id DESC LIMIT 1",
            (answer.conversation_id, answer.id),
        ).fetchone()
    return int(row[0]) if row else 0


def keep(store: ChatStore, answer: StoredMessage) -> bool:
    """Keep `answer` (about to be replaced) as an earlier version of its question's answer."""
    if answer.role != "assistant" or answer.id <= 0 or answer.status == "streaming":
        return False
    question = _question_of(store, answer)
    if not question:
        return False
    values = tuple(getattr(answer, f) for f in FIELDS)
    with store._tx("keep an answer version") as c:
        c.execute(f"INSERT INTO answer_versions(question_id, {_COLS}) VALUES (?{', ?' * len(FIELDS)})",
                  (question, *values))
    return True


def _ordered(store: ChatStore, question: int, answer: StoredMessage) -> list[tuple[int, float]]:
    """(version row id, or 0 for the answer shown; when written), oldest first."""
    with store._read("read answer versions") as c:
        rows = c.execute("SELECT id, created_at FROM answer_versions WHERE question_id = ?", (question,)).fetchall()
    return sorted([(int(i), float(t)) for i, t in rows] + [(0, answer.created_at)], key=lambda p: (p[1], p[0]))


def versions_of(store: ChatStore, answer: StoredMessage) -> Versions | None:
    """Which version of how many `answer` is; None when it has no earlier versions."""
    if answer.role != "assistant" or answer.id <= 0:
        return None
    question = _question_of(store, answer)
    if not question:
        return None
    order = _ordered(store, question, answer)
    if len(order) < 2:
        return None
    return Versions(next(i for i, (vid, _t) in enumerate(order) if vid == 0) + 1, len(order), question)


def show(store: ChatStore, answer: StoredMessage, step: int) -> bool:
    """Show the previous (step -1) or next (+1) version in place of `answer`."""
    v = versions_of(store, answer)
    if v is None or not 1 <= v.index + step <= v.count:
        return False
    other = _ordered(store, v.question_id, answer)[v.index - 1 + step][0]
    with store._tx("show another answer version") as c:
        row = c.execute(f"SELECT {_COLS} FROM answer_versions WHERE id = ?", (other,)).fetchone()
        shown = c.execute(f"SELECT {_COLS} FROM messages WHERE id = ?", (answer.id,)).fetchone()
        if row is None or shown is None:
            return False
        sets = ", ".join(f"{f} = ?" for f in FIELDS)
        c.execute(f"UPDATE messages SET {sets} WHERE id = ?", (*tuple(row), answer.id))
        c.execute(f"UPDATE answer_versions SET {sets} WHERE id = ?", (*tuple(shown), other))
    return True
