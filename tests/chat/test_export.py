from __future__ import annotations

import json
from pathlib import Path

from assistant.chat.export import to_markdown, write_export
from assistant.chat.store import ChatStore


def make(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = ChatStore.open(tmp_path / "h.sqlite3")
    conv = store.create_conversation("Tables", system_prompt="Be brief.")
    store.add_message(conv.id, "user", "Make a table")
    store.add_message(conv.id, "assistant", "| a | b |\n|---|---|\n| 1 | 2 |", engine="llama.cpp",
                      model="gemma", decode_tokens_per_s=41.5)
    store.add_message(conv.id, "user", "Again")
    aid = store.begin_answer(conv.id, "llama.cpp", "gemma")
    store.finish_answer(aid, "| a |", "stopped")
    return store, conv


def test_markdown_has_every_message_in_order(tmp_path: Path) -> None:
    store, conv = make(tmp_path)
    md = to_markdown(conv, store.messages(conv.id))
    assert md.startswith("# Tables\n")
    assert "System prompt: Be brief." in md
    order = [md.index(s) for s in ("Make a table", "| 1 | 2 |", "Again", "| a |\n")]
    assert order == sorted(order)
    assert "gemma · llama.cpp · 41.5 tokens/s" in md and "stopped" in md


def test_json_round_trips_the_conversation(tmp_path: Path) -> None:
    store, conv = make(tmp_path)
    out = tmp_path / "chat.json"
    write_export(out, conv, store.messages(conv.id))
    data = json.loads(out.read_text())
    assert data["conversation"]["title"] == "Tables"
    assert [m["content"] for m in data["messages"]] == [m.content for m in store.messages(conv.id)]
    assert data["messages"][-1]["status"] == "stopped"
    md = tmp_path / "chat.md"
    write_export(md, conv, store.messages(conv.id))
    text = md.read_text()
    assert text.startswith("# Tables\n") and all(m.content in text for m in store.messages(conv.id))
    assert not list(tmp_path.glob("*.tmp"))
