"""Wait until a fresh gnome-keyring really stores secrets.

Right after start-up the daemon may still be creating its login collection; a write
then fails with "Failed to create the collection: Prompt dismissed" (seen about one
start in ten here). One throw-away write, retried briefly, waits that out.
"""

from __future__ import annotations

import time

from assistant import keys
from assistant.errors import KeyringError


def wait_until_writable(timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            keys.set_key("warm-up", "warm-up-not-a-key")
            keys.delete_key("warm-up")
            return
        except KeyringError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
