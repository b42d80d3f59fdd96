"""The child's token batching: the first piece at once, then at most every TOKEN_FLUSH_S,
thinking and answer text in the order they came, nothing left behind."""

from __future__ import annotations

import time

from assistant.engines import host_child
from assistant.engines.host_child import _TokenBatch


def test_pieces_are_batched_in_order() -> None:
    sent: list[tuple] = []
    out = _TokenBatch(7, sent.append)
    out.add("", "let me think")  # the first piece goes at once
    assert sent == [("t", 7, "", "let me think")]
    out.add("", " more")
    out.add("Hello", "")  # thinking ended: what was held goes first, on its own
    assert sent[-1] == ("t", 7, "", " more")
    out.add(" world", "")
    assert len(sent) == 2  # within TOKEN_FLUSH_S: held
    time.sleep(host_child.TOKEN_FLUSH_S + 0.01)
    out.add("!", "")
    assert sent[-1] == ("t", 7, "Hello world!", "")
    out.add(" Bye", "")
    out.flush()  # the answer's end
    assert sent[-1] == ("t", 7, " Bye", "")
    out.flush()
    assert len(sent) == 4  # nothing empty is sent


def test_a_slow_model_has_each_piece_sent_as_it_comes() -> None:
    sent: list[tuple] = []
    out = _TokenBatch(1, sent.append)
    for word in ("one", "two", "three"):
        out.add(word, "")
        time.sleep(host_child.TOKEN_FLUSH_S + 0.005)
    assert [m[2] for m in sent] == ["one", "two", "three"]
