"""Earlier answers kept as versions (migration 5), on a real SQLite file."""

from __future__ import annotations

from assistant.chat import versions
from assistant.chat.store import ChatStore
from assistant.paths import get_paths


def test_keep_show_and_cascade() -> None:
    store = ChatStore.open(get_paths().ensure().history_db)
    conv = store.create_conversation("Versions")
    q = store.add_message(conv.id, "user", "Name a colour")
    first = store.add_message(conv.id, "assistant", "Red", engine="llama.cpp", model="gemma")
    assert versions.versions_of(store, first) is None
    assert versions.keep(store, first)
    store.delete_messages_from(conv.id, first.id)
    second = store.add_message(conv.id, "assistant", "Blue", engine="cloud", model="gpt", origin="cloud")
    v = versions.versions_of(store, second)
    assert v is not None and (v.index, v.count) == (2, 2)
    assert versions.show(store, second, -1)
    shown = store.messages(conv.id)[-1]
    assert (shown.id, shown.content, shown.engine) == (second.id, "Red", "llama.cpp")  # the row stays, its text changes
    assert [h.message_id for h in store.search("red")] == [second.id]  # search sees the answer shown
    v = versions.versions_of(store, shown)
    assert v is not None and (v.index, v.count) == (1, 2)
    assert not versions.show(store, shown, -1)  # there is no version before the first
    assert versions.show(store, shown, +1) and store.messages(conv.id)[-1].content == "Blue"
    # editing the question (delete from it) takes its versions along
    store.delete_messages_from(conv.id, q.id)
    q2 = store.add_message(conv.id, "user", "Again")
    a2 = store.add_message(conv.id, "assistant", "Green")
    assert versions.versions_of(store, a2) is None and q2.id >= q.id
    store.close()
