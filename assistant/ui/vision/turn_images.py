"""The images of the message being sent, on the way to the engine.

TODO(images store, merge): chat/turn.py's `run_turn` stores the user message and builds
the context from the stored history; once the store keeps a message's images and
`history_messages` gives them as `Message.images`, the worker passes the images to
`run_turn` (where the user message is stored) and this wrapper goes. Until then it puts
the turn's images on the newest user message of every prompt the engine is given (the
context builder's counts too, so the image tokens count in the budget). Earlier turns'
images are not shown to the model again until then.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Iterator

from assistant.core.types import Chunk, GenParams, Message


class EngineWithImages:
    """An engine whose prompts show `images` with their newest user message."""

    def __init__(self, engine: Any, images: list[str]) -> None:
        self._engine = engine
        self._images = list(images)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def with_images(self, messages: list[Message]) -> list[Message]:
        out = list(messages)
        for i in range(len(out) - 1, -1, -1):
            if out[i].role == "user":
                out[i] = replace(out[i], images=[*out[i].images, *[p for p in self._images if p not in out[i].images]])
                break
        return out

    def count_tokens(self, messages: list[Message]) -> int:
        return int(self._engine.count_tokens(self.with_images(messages)))

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event,
                    *args: Any, **kwargs: Any) -> Iterator[Chunk]:
        return self._engine.stream_chat(self.with_images(messages), params, cancel, *args, **kwargs)  # type: ignore[no-any-return]
