"""Edit and resend keeps the exchange it replaces as a version of the question; ‹1/2› on the
question swaps whole exchanges, with their answer versions and deeper edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chat import exchanges, versions
from assistant.chat.store import ChatStore
from assistant.chat.turn import history_messages


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = ChatStore.open(tmp_path / "h.db")
    yield s
    s.close()


def _texts(store: ChatStore, conv: int) -> list[str]:
    return [m.content for m in store.messages(conv)]


def _edit(store: ChatStore, conv: int, old_text: str, new_text: str, answer: str) -> None:
    """What the window does on Save and send: set aside, then the new question and its answer."""
    q = next(m for m in store.messages(conv) if m.content == old_text)
    assert exchanges.set_aside(store, q)
    store.add_message(conv, "user", new_text)
    store.add_message(conv, "assistant", answer, finish_reason="stop")


def _versions(store: ChatStore, conv: int) -> dict[str, tuple[int, int]]:
    rows = store.messages(conv)
    by_id = {m.id: m.content for m in rows}
    return {by_id[i]: v for i, v in exchanges.versions_in(store, rows).items()}


def test_an_edit_keeps_the_old_exchange_and_shows_one_of_two(store: ChatStore) -> None:
    conv = store.create_conversation("c").id
    for role, text in (("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2")):
        store.add_message(conv, role, text)
    _edit(store, conv, "Q2", "Q2 edited", "A2 new")
    assert _texts(store, conv) == ["Q1", "A1", "Q2 edited", "A2 new"]
    assert _versions(store, conv) == {"Q2 edited": (2, 2)}
    # the model sees only what is shown
    assert [m.content for m in history_messages(store, conv)] == ["Q1", "A1", "Q2 edited", "A2 new"]

    shown = next(m for m in store.messages(conv) if m.content == "Q2 edited")
    assert exchanges.show(store, shown, -1)
    assert _texts(store, conv) == ["Q1", "A1", "Q2", "A2"]
    assert _versions(store, conv) == {"Q2": (1, 2)}
    old = next(m for m in store.messages(conv) if m.content == "Q2")
    assert not exchanges.show(store, old, -1)  # nothing before the first
    assert exchanges.show(store, old, +1)
    assert _texts(store, conv) == ["Q1", "A1", "Q2 edited", "A2 new"]
    assert store.messages(conv)[-1].finish_reason == "stop"  # every column comes back


def test_editing_the_first_question_keeps_the_whole_chat(store: ChatStore) -> None:
    conv = store.create_conversation("c").id
    for role, text in (("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2")):
        store.add_message(conv, role, text)
    _edit(store, conv, "Q1", "Q1 edited", "A1 new")
    assert _texts(store, conv) == ["Q1 edited", "A1 new"]
    assert _versions(store, conv) == {"Q1 edited": (2, 2)}
    first = store.messages(conv)[0]
    assert exchanges.show(store, first, -1)
    assert _texts(store, conv) == ["Q1", "A1", "Q2", "A2"]


def test_answer_versions_and_deeper_edits_travel_with_their_exchange(store: ChatStore) -> None:
    conv = store.create_conversation("c").id
    for role, text in (("user", "Q1"), ("assistant", "A1"), ("user", "Q2"), ("assistant", "A2 first")):
        store.add_message(conv, role, text)
    # Regenerate of A2: the first answer kept as a version
    a2 = store.messages(conv)[-1]
    assert versions.keep(store, a2)
    store.delete_messages_from(conv, a2.id)
    store.add_message(conv, "assistant", "A2 second")
    _edit(store, conv, "Q2", "Q2 edited", "A2 edited")  # a deeper edit
    _edit(store, conv, "Q1", "Q1 edited", "A1 edited")  # then the first question
    assert _texts(store, conv) == ["Q1 edited", "A1 edited"]

    assert exchanges.show(store, store.messages(conv)[0], -1)
    assert _texts(store, conv) == ["Q1", "A1", "Q2 edited", "A2 edited"]
    assert _versions(store, conv) == {"Q1": (1, 2), "Q2 edited": (2, 2)}
    q2 = next(m for m in store.messages(conv) if m.content == "Q2 edited")
    assert exchanges.show(store, q2, -1)
    assert _texts(store, conv) == ["Q1", "A1", "Q2", "A2 second"]
    last = store.messages(conv)[-1]
    v = versions.versions_of(store, last)
    assert v is not None and (v.index, v.count) == (2, 2)  # the regenerated answer's ‹2/2› came back
    assert versions.show(store, last, -1)
    assert store.messages(conv)[-1].content == "A2 first"


def test_a_failed_swap_loses_nothing(store: ChatStore, monkeypatch: pytest.MonkeyPatch) -> None:
    conv = store.create_conversation("c").id
    for role, text in (("user", "Q1"), ("assistant", "A1")):
        store.add_message(conv, role, text)
    _edit(store, conv, "Q1", "Q1 edited", "A1 edited")

    def broken(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk gone")

    monkeypatch.setattr(exchanges, "_unpack", broken)
    with pytest.raises(RuntimeError):
        exchanges.show(store, store.messages(conv)[0], -1)
    monkeypatch.undo()
    assert _texts(store, conv) == ["Q1 edited", "A1 edited"]  # the swap was undone as a whole
    assert _versions(store, conv) == {"Q1 edited": (2, 2)}


def test_only_a_stored_question_is_set_aside(store: ChatStore) -> None:
    conv = store.create_conversation("c").id
    store.add_message(conv, "user", "Q1")
    a = store.add_message(conv, "assistant", "A1")
    assert not exchanges.set_aside(store, a)
    assert _texts(store, conv) == ["Q1", "A1"]


def test_deleting_the_chat_deletes_its_versions(store: ChatStore) -> None:
    conv = store.create_conversation("c").id
    store.add_message(conv, "user", "Q1")
    store.add_message(conv, "assistant", "A1")
    _edit(store, conv, "Q1", "Q1 edited", "A1 edited")
    store.delete_conversation(conv)
    with store._read("count") as c:
        assert c.execute("SELECT COUNT(*) FROM exchange_versions").fetchone()[0] == 0
