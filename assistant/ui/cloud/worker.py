"""The cloud worker: a long-lived QThread that hosts the cloud turns.

Like ui/chat/engine_host.py for local engines, but separate, so a cloud answer never waits for a
local model to load (and the other way round). Keyring calls, key checks and model
lists run here too: none of them may block the GUI thread. The key is read from the
keyring on this thread for each request and only handed to the SDK.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

from assistant import keys
from assistant.chat.cloud_route import key_id
from assistant.chat.dispatch import KEY_TIMEOUT_S, cloud_engine, run_cloud_turn
from assistant.chat.store import ChatStore
from assistant.core.types import GenParams, Message
from assistant.errors import AssistantError
from assistant.settings import CloudSettings
from assistant.ui.common.thread_host import ThreadHost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloudTurnRequest:
    request_id: int
    conversation_id: int
    user_text: str | None
    system_prompt: str | None
    params: GenParams
    cloud: CloudSettings
    config_dir: Path | None
    excerpts: Callable[[list[Message]], list[Message]] | None = None  # a documents question's, consented to
    user_images: tuple[Any, ...] = ()  # the new message's images (chat/images.py's StoredImage)


@dataclass(frozen=True)
class KeyOp:
    """A settings-page job: "save" (store, then check), "test", "delete", "models"."""

    op_id: int
    kind: str
    cloud: CloudSettings
    key: str = ""

    def __repr__(self) -> str:  # the key must never show in a log or traceback
        return f"KeyOp({self.op_id}, {self.kind!r}, {self.cloud.provider!r})"


@dataclass(frozen=True)
class KeyOpResult:
    op_id: int
    kind: str
    ok: bool
    message: str  # plain words: "The key works." or the provider's error
    models: tuple[str, ...] = ()


class CloudWorker(QObject):
    token_received = Signal(int, str)
    thinking_received = Signal(int, str)  # request id, thinking text (servers that send it)
    turn_finished = Signal(int, object)  # request id, TurnResult
    key_op_finished = Signal(object)  # KeyOpResult

    def __init__(self, store: ChatStore) -> None:
        super().__init__()
        self._store = store
        self.cancel = threading.Event()

    @Slot(object)
    def run(self, req: CloudTurnRequest) -> None:
        result = run_cloud_turn(
            self._store, req.cloud, req.conversation_id, user_text=req.user_text, system_prompt=req.system_prompt,
            params=req.params, cancel=self.cancel, on_text=lambda text: self.token_received.emit(req.request_id, text),
            config_dir=req.config_dir, on_thinking=lambda text: self.thinking_received.emit(req.request_id, text),
            excerpts=req.excerpts, user_images=req.user_images,
        )
        self.turn_finished.emit(req.request_id, result)

    @Slot(object)
    def key_op(self, op: KeyOp) -> None:
        try:
            result = self._key_op(op)
        except AssistantError as exc:
            result = KeyOpResult(op.op_id, op.kind, False, str(exc))
        except Exception as exc:
            log.error("key operation %s failed: %s", op.kind, type(exc).__name__)
            result = KeyOpResult(op.op_id, op.kind, False, f"It failed ({type(exc).__name__}). See the log for details.")
        self.key_op_finished.emit(result)

    def _key_op(self, op: KeyOp) -> KeyOpResult:
        name = key_id(op.cloud)
        if op.kind == "delete":
            keys.delete_key(name, KEY_TIMEOUT_S)
            return KeyOpResult(op.op_id, op.kind, True, "The key was deleted from the system keyring.")
        if op.kind == "save":
            keys.set_key(name, op.key, KEY_TIMEOUT_S)
            key: str | None = op.key.strip()
        elif op.kind == "test" and op.key.strip():
            key = op.key.strip()  # the key typed in the box, not the saved one
        else:
            key = keys.get_key(name, KEY_TIMEOUT_S)
            if key is None and op.cloud.provider != "openai-compatible":
                return KeyOpResult(op.op_id, op.kind, False, "No key is stored for this provider.")
        engine = cloud_engine(replace(op.cloud, model=op.cloud.model or "-"), key)
        try:
            if op.kind == "models":
                models = tuple(sorted(engine.list_models()))
                return KeyOpResult(op.op_id, op.kind, True, f"{len(models)} models.", models)
            engine.check_key()
        finally:
            engine.unload()
        if op.kind == "test" and op.key.strip():
            return KeyOpResult(op.op_id, op.kind, True, "The key you typed works. Save it to use it.")
        saved = "Saved in the system keyring. " if op.kind == "save" else ""
        return KeyOpResult(op.op_id, op.kind, True, saved + "The key works.")


class CloudHost(ThreadHost):
    """Owns the cloud thread; forwards requests with queued signals."""

    _run_requested = Signal(object)
    _key_op_requested = Signal(object)

    def __init__(self, store: ChatStore, parent: QObject | None = None) -> None:
        super().__init__("cloud", CloudWorker(store), parent)
        self._run_requested.connect(self.worker.run)
        self._key_op_requested.connect(self.worker.key_op)
        self._next_op = 0

    def run(self, req_args: dict[str, Any]) -> int:
        rid = self.next_request()
        self._run_requested.emit(CloudTurnRequest(rid, **req_args))
        return rid

    def key_op(self, kind: str, cloud: CloudSettings, key: str = "") -> int:
        self._next_op += 1
        self._key_op_requested.emit(KeyOp(self._next_op, kind, cloud, key))
        return self._next_op
