"""Helper for the crash test: streams an answer into the store until killed.

Usage: python _killed_writer.py DBPATH. Prints `ready CONV_ID MESSAGE_ID`, then
`saved N` after each committed save_partial; the saved text is `answer_text(N)`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from assistant.chat.store import ChatStore

USER_TEXT = "Tell me a very long story about lighthouses"


def answer_text(n: int) -> str:
    return "".join(f"word{i} " for i in range(1, n + 1))


def main() -> None:
    store = ChatStore.open(Path(sys.argv[1]))
    conv = store.create_conversation("crash test")
    store.add_message(conv.id, "user", USER_TEXT)
    mid = store.begin_answer(conv.id, "llamacpp", "tiny")
    print(f"ready {conv.id} {mid}", flush=True)
    n = 0
    while True:  # until SIGKILL
        n += 1
        store.save_partial(mid, answer_text(n))
        print(f"saved {n}", flush=True)
        time.sleep(0.002)


if __name__ == "__main__":
    main()
