"""Edits keep what they replace: "Edit → Save and send" sets the old exchange aside (the
question and everything after it, with their answer versions) as a version of the
question, as ChatGPT and LM Studio do; ‹1/2› on the question brings it back.

The conversation stays a plain list of messages (context building, export and search see
only what is shown). An exchange set aside is one row of exchange_versions (migration 6):
its messages as JSON, keyed by the message before the question (its anchor; 0 when the
question opened the chat). Showing another version swaps the shown tail and the stored
one in one transaction, so a crash leaves one or the other, never neither. Restored
messages get new ids: answer versions and deeper exchanges stored with them are keyed
again by the new ids.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from assistant.chat.images import IMAGE_COLS
from assistant.chat.records import MSG_COLS, StoredMessage
from assistant.chat.store import ChatStore
from assistant.chat.versions import FIELDS as ANSWER_FIELDS

_MSG_FIELDS = MSG_COLS.replace(" ", "").split(",")[2:]  # all but id and conversation_id
_ANSWER_COLS = ", ".join(ANSWER_FIELDS)


@dataclass(frozen=True)
class ExchangeVersions:
    index: int  # 1-based: which of them is shown
    count: int
    anchor_id: int


def _anchor(c: sqlite3.Connection, conversation_id: int, message_id: int) -> int:
    row = c.execute("SELECT id FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
                    (conversation_id, message_id)).fetchone()
    return int(row[0]) if row else 0


def _pack(c: sqlite3.Connection, conversation_id: int, from_id: int) -> dict[str, Any]:
    """The messages from `from_id` on, with what hangs off them, as one JSON-able dict."""
    rows = c.execute(f"SELECT id, {', '.join(_MSG_FIELDS)} FROM messages WHERE conversation_id = ? AND id >= ? ORDER BY id",
                     (conversation_id, from_id)).fetchall()
    ids = [int(r[0]) for r in rows]
    marks = ",".join("?" * len(ids))
    answers = c.execute(f"SELECT question_id, {_ANSWER_COLS} FROM answer_versions WHERE question_id IN ({marks})",
                        ids).fetchall() if ids else []
    nested = c.execute(f"SELECT anchor_id, created_at, exchange FROM exchange_versions WHERE conversation_id = ?"
                       f" AND anchor_id IN ({marks})", (conversation_id, *ids)).fetchall() if ids else []
    images = c.execute(f"SELECT {IMAGE_COLS} FROM message_images WHERE message_id IN ({marks})",
                       ids).fetchall() if ids else []
    return {
        "messages": [dict(zip(["id", *_MSG_FIELDS], tuple(r))) for r in rows],
        "answer_versions": [dict(zip(["question_id", *ANSWER_FIELDS], tuple(r))) for r in answers],
        "exchanges": [{"anchor_id": a, "created_at": t, "exchange": e} for a, t, e in nested],
        # the rows only: the files stay while a version names them (images.py counts these as uses)
        "images": [dict(zip(IMAGE_COLS.split(", "), tuple(r))) for r in images],
    }


def _cut(c: sqlite3.Connection, conversation_id: int, from_id: int) -> dict[str, Any]:
    """Pack the tail from `from_id`, then take it out of the conversation."""
    packed = _pack(c, conversation_id, from_id)
    ids = [m["id"] for m in packed["messages"]]
    if ids:
        c.execute(f"DELETE FROM exchange_versions WHERE conversation_id = ? AND anchor_id IN ({','.join('?' * len(ids))})",
                  (conversation_id, *ids))
    c.execute("DELETE FROM messages WHERE conversation_id = ? AND id >= ?", (conversation_id, from_id))  # answer versions cascade
    return packed


def _unpack(c: sqlite3.Connection, conversation_id: int, packed: dict[str, Any]) -> None:
    new_id: dict[int, int] = {}
    cols = ", ".join(_MSG_FIELDS)
    for m in packed["messages"]:
        cur = c.execute(f"INSERT INTO messages(conversation_id, {cols}) VALUES (?{', ?' * len(_MSG_FIELDS)})",
                        (conversation_id, *(m.get(f) for f in _MSG_FIELDS)))
        new_id[int(m["id"])] = int(cur.lastrowid or 0)
    for a in packed["answer_versions"]:
        if int(a["question_id"]) in new_id:
            c.execute(f"INSERT INTO answer_versions(question_id, {_ANSWER_COLS}) VALUES (?{', ?' * len(ANSWER_FIELDS)})",
                      (new_id[int(a["question_id"])], *(a.get(f) for f in ANSWER_FIELDS)))
    for im in packed.get("images", []):  # exchanges set aside before images existed have none
        if int(im["message_id"]) in new_id:
            c.execute(f"INSERT INTO message_images({IMAGE_COLS}) VALUES ({', '.join('?' * len(im))})",
                      (new_id[int(im["message_id"])], *(im[k] for k in IMAGE_COLS.split(", ")[1:])))
    for e in packed["exchanges"]:
        if int(e["anchor_id"]) in new_id:
            c.execute("INSERT INTO exchange_versions(conversation_id, anchor_id, created_at, exchange) VALUES (?, ?, ?, ?)",
                      (conversation_id, new_id[int(e["anchor_id"])], e["created_at"], e["exchange"]))


def _store(c: sqlite3.Connection, conversation_id: int, anchor: int, packed: dict[str, Any]) -> None:
    created = packed["messages"][0]["created_at"] if packed["messages"] else time.time()
    c.execute("INSERT INTO exchange_versions(conversation_id, anchor_id, created_at, exchange) VALUES (?, ?, ?, ?)",
              (conversation_id, anchor, created, json.dumps(packed, ensure_ascii=False)))


def set_aside(store: ChatStore, question: StoredMessage) -> bool:
    """Keep `question` and everything after it as an earlier version of the question, and
    take them out of the conversation (the edited question takes their place)."""
    if question.role != "user" or question.id <= 0:
        return False
    with store._tx("keep the edited exchange") as c:
        anchor = _anchor(c, question.conversation_id, question.id)
        packed = _cut(c, question.conversation_id, question.id)
        if not packed["messages"]:
            return False
        _store(c, question.conversation_id, anchor, packed)
    return True


def _ordered(c: sqlite3.Connection, conversation_id: int, anchor: int, shown: StoredMessage) -> list[tuple[int, float]]:
    """(exchange_versions id, or 0 for the one shown; when its question was asked), oldest first."""
    rows = c.execute("SELECT id, created_at FROM exchange_versions WHERE conversation_id = ? AND anchor_id = ?",
                     (conversation_id, anchor)).fetchall()
    return sorted([(int(i), float(t)) for i, t in rows] + [(0, shown.created_at)], key=lambda p: (p[1], p[0]))


def versions_in(store: ChatStore, messages: list[StoredMessage]) -> dict[int, tuple[int, int]]:
    """Question id -> (shown, count) for each question of `messages` (one conversation, in
    order) that has earlier versions."""
    if not messages:
        return {}
    with store._read("read question versions") as c:
        anchors = {int(a) for (a,) in c.execute("SELECT DISTINCT anchor_id FROM exchange_versions WHERE conversation_id = ?",
                                                (messages[0].conversation_id,))}
        out = {}
        for prev, m in zip([None, *messages], messages):
            anchor = prev.id if prev is not None else 0
            if m.role == "user" and m.id > 0 and anchor in anchors:
                order = _ordered(c, m.conversation_id, anchor, m)
                out[m.id] = (next(i for i, (vid, _t) in enumerate(order) if vid == 0) + 1, len(order))
    return out


def show(store: ChatStore, question: StoredMessage, step: int) -> bool:
    """Show the previous (step -1) or next (+1) version of the exchange that `question` begins."""
    if question.role != "user" or question.id <= 0:
        return False
    with store._tx("show another version of a question") as c:
        conv = question.conversation_id
        anchor = _anchor(c, conv, question.id)
        order = _ordered(c, conv, anchor, question)
        index = next(i for i, (vid, _t) in enumerate(order) if vid == 0)
        if not 0 <= index + step < len(order):
            return False
        other = order[index + step][0]
        row = c.execute("SELECT exchange FROM exchange_versions WHERE id = ?", (other,)).fetchone()
        if row is None:
            return False
        _store(c, conv, anchor, _cut(c, conv, question.id))
        c.execute("DELETE FROM exchange_versions WHERE id = ?", (other,))
        _unpack(c, conv, json.loads(row[0]))
        c.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), conv))
    return True
