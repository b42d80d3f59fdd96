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


def test_the_answer_loop_sends_all_running_answers_in_one_message() -> None:
    sent: list[tuple] = []
    child = host_child._Child.__new__(host_child._Child)  # only what flush_due reads
    child.send, child._flushed = sent.append, 0.0
    a, b, c = (_TokenBatch(rid, sent.append, own_clock=False) for rid in (1, 2, 3))
    child.active = {1: host_child._Answer(None, a), 2: host_child._Answer(None, b), 3: host_child._Answer(None, c)}
    a.add("A", "")
    b.add("B", "")  # first pieces go at once, each
    assert sent == [("t", 1, "A", ""), ("t", 2, "B", "")]
    a.add("a", "")
    b.add("b", "")
    assert len(sent) == 2  # not on clocks of their own
    child.flush_due()
    assert sent[-1] == ("batch", [("t", 1, "a", ""), ("t", 2, "b", "")])  # c held nothing: not in it
    a.add("x", "")
    child.flush_due()
    assert len(sent) == 3  # within TOKEN_FLUSH_S of the last flush: held
    time.sleep(host_child.TOKEN_FLUSH_S + 0.01)
    child.flush_due()
    assert sent[-1] == ("t", 1, "x", "")  # one answer's text alone is a plain message
