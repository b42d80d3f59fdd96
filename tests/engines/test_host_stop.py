"""StopRelay: the stop reaches the engine's process the moment it is set, with no polling."""

from __future__ import annotations

import threading
import time
from typing import Callable

from assistant.engines.host_stop import WATCH_S, StopRelay


def relay_sends() -> tuple[list[tuple[int, float]], threading.Event, Callable[[int], None]]:
    """What a relay sent (id, when), set once it sent, and its send function."""
    sent: list[tuple[int, float]] = []
    arrived = threading.Event()

    def send(rid: int) -> None:
        sent.append((rid, time.perf_counter()))
        arrived.set()

    return sent, arrived, send


def test_a_stop_is_sent_at_once_and_only_once() -> None:
    sent, arrived, send = relay_sends()
    cancel = threading.Event()
    relay = StopRelay(cancel, send, 7)
    time.sleep(0.05)
    t = time.perf_counter()
    cancel.set()
    assert arrived.wait(1)
    assert len(sent) == 1 and sent[0][0] == 7
    assert sent[0][1] - t < 0.05  # set() wakes the relay: no 10 ms poll, no WATCH_S wait
    relay.end()
    time.sleep(0.05)
    assert len(sent) == 1


def test_a_stop_set_before_the_answer_began_is_sent() -> None:
    sent, arrived, send = relay_sends()
    cancel = threading.Event()
    cancel.set()
    StopRelay(cancel, send, 3)
    assert arrived.wait(1) and [rid for rid, _ in sent] == [3]


def test_a_retried_answer_is_stopped_by_its_new_id() -> None:
    sent, arrived, send = relay_sends()
    cancel = threading.Event()
    relay = StopRelay(cancel, send, 1)
    relay.rid = 2
    cancel.set()
    assert arrived.wait(1) and [rid for rid, _ in sent] == [2]


def test_an_answer_that_ended_sends_nothing_and_its_relay_exits() -> None:
    sent, _, send = relay_sends()
    cancel = threading.Event()
    relay = StopRelay(cancel, send, 1)
    assert relay._thread.is_alive()
    relay.end()
    relay._thread.join(WATCH_S + 2)
    assert not relay._thread.is_alive()  # no thread left behind per answer
    cancel.set()  # the next answer's stop, say: not this relay's to send
    time.sleep(0.05)
    assert sent == []
