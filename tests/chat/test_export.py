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


def test_a_chat_s_pictures_go_with_its_export(tmp_path: Path) -> None:
    from support.image_files import noise, png_bytes

    store, conv = make(tmp_path)
    msgs = store.messages(conv.id)
    cat = store.images.add_bytes(png_bytes(noise(1)), "my cat.png")
    dog = store.images.add_bytes(png_bytes(noise(2)), "dog.png")
    store.attach_images(msgs[0].id, [cat, dog])
    store.attach_images(msgs[2].id, [cat])
    images = {m.id: store.message_images(m.id) for m in msgs if m.role == "user"}
    out = tmp_path / "export" / "Tables.md"
    out.parent.mkdir()
    write_export(out, conv, msgs, images)
    text = out.read_text()
    first = "![my cat.png](Tables-images/1-my_cat.png)\n![dog.png](Tables-images/2-dog.png)"
    assert first in text and "![my cat.png](Tables-images/3-my_cat.png)" in text
    assert text.index(first) < text.index("| 1 | 2 |") < text.index("3-my_cat.png")  # under their message
    assert (out.parent / "Tables-images" / "1-my_cat.png").read_bytes() == cat.path.read_bytes()
    assert (out.parent / "Tables-images" / "2-dog.png").read_bytes() == dog.path.read_bytes()
    assert str(store.images.folder) not in text  # never the data folder's copies
    data = json.loads(_export_json(tmp_path, conv, msgs, images))
    got = data["messages"][0]["images"]
    assert [(g["file"], g["name"], g["width"], g["height"], g["sha256"]) for g in got] == [
        ("chat-images/1-my_cat.png", "my cat.png", 48, 40, cat.sha256), ("chat-images/2-dog.png", "dog.png", 48, 40, dog.sha256)]
    assert "images" not in data["messages"][1] and data["messages"][2]["images"][0]["file"] == "chat-images/3-my_cat.png"
    assert (tmp_path / "chat-images" / "3-my_cat.png").is_file()


def _export_json(tmp_path: Path, conv, msgs, images) -> str:  # type: ignore[no-untyped-def]
    write_export(tmp_path / "chat.json", conv, msgs, images)
    return (tmp_path / "chat.json").read_text()
