"""The cloud worker: a long-lived QThread that hosts the CloudEngine.

Like worker.py for local engines, but separate, so a cloud answer never waits for a
local model to load (and the other way round). Keyring calls, key checks and model
lists run here too: none of them may block the GUI thread. The key is read from the
keyring on this thread for each request and only handed to the SDK.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from .. import keys
from ..chat.cloud_route import key_id
from ..chat.cost import answer_cost, load_prices
from ..chat.privacy import redact_messages
from ..chat.store import ChatStore
from ..chat.turn import TurnResult, run_turn
from ..engines.base import GenParams
from ..engines.cloud import CloudEngine
from ..errors import AssistantError, EngineError
from ..settings import CloudSettings

log = logging.getLogger(__name__)

FIRST_ID = 1_000_000  # cloud request ids never meet the local worker's
KEY_TIMEOUT_S = 5.0


def make_engine(cloud: CloudSettings, key: str | None) -> CloudEngine:
    return CloudEngine(cloud.provider, cloud.model, key or "", base_url=cloud.base_url.strip() or None)


@dataclass(frozen=True)
class CloudTurnRequest:
    request_id: int
    conversation_id: int
    user_text: str | None
    system_prompt: str | None
    params: GenParams
    cloud: CloudSettings
    config_dir: Path | None


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
    turn_finished = Signal(int, object)  # request id, TurnResult
    key_op_finished = Signal(object)  # KeyOpResult

    def __init__(self, store: ChatStore) -> None:
        super().__init__()
        self._store = store
        self.cancel = threading.Event()

    @Slot(object)
    def run(self, req: CloudTurnRequest) -> None:
        rid = req.request_id
        try:
            engine = make_engine(req.cloud, keys.get_key(key_id(req.cloud), KEY_TIMEOUT_S))
            table = load_prices(req.config_dir)
            cloud = req.cloud

            def price(usage: Any) -> float | None:
                return answer_cost(table, cloud.provider, cloud.model, usage)

            try:
                result = run_turn(
                    self._store, engine, req.conversation_id, system_prompt=req.system_prompt, params=req.params,
                    cancel=self.cancel, model_name=cloud.model, user_text=req.user_text,
                    on_text=lambda text: self.token_received.emit(rid, text),
                    transform=(lambda ms: redact_messages(ms)[0]) if cloud.redact else None, price=price,
                )
            finally:
                engine.unload()
        except AssistantError as exc:  # the keyring, the price table or the store before the answer row
            if req.user_text is not None:
                self._store.add_message(req.conversation_id, "user", req.user_text)
            result = TurnResult(0, "", "failed", None, exc)
        except Exception as exc:
            log.exception("cloud turn failed")
            result = TurnResult(0, "", "failed", None, EngineError(f"The cloud request failed ({type(exc).__name__}).", "See the log for details."))
        self.turn_finished.emit(rid, result)

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
        else:
            key = keys.get_key(name, KEY_TIMEOUT_S)
            if key is None and op.cloud.provider != "openai-compatible":
                return KeyOpResult(op.op_id, op.kind, False, "No key is stored for this provider.")
        engine = make_engine(replace(op.cloud, model=op.cloud.model or "-"), key)
        try:
            if op.kind == "models":
                models = tuple(sorted(engine.list_models()))
                return KeyOpResult(op.op_id, op.kind, True, f"{len(models)} models.", models)
            engine.check_key()
        finally:
            engine.unload()
        saved = "Saved in the system keyring. " if op.kind == "save" else ""
        return KeyOpResult(op.op_id, op.kind, True, saved + "The key works.")


class CloudHost(QObject):
    """Owns the cloud thread; forwards requests with queued signals."""

    _run_requested = Signal(object)
    _key_op_requested = Signal(object)

    def __init__(self, store: ChatStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("cloud")
        self.worker = CloudWorker(store)
        self.worker.moveToThread(self.thread)
        self._run_requested.connect(self.worker.run)
        self._key_op_requested.connect(self.worker.key_op)
        self.thread.start()
        self._next_id = FIRST_ID
        self._next_op = 0

    def run(self, req_args: dict[str, Any]) -> int:
        self._next_id += 1
        self.worker.cancel.clear()
        self._run_requested.emit(CloudTurnRequest(self._next_id, **req_args))
        return self._next_id

    def key_op(self, kind: str, cloud: CloudSettings, key: str = "") -> int:
        self._next_op += 1
        self._key_op_requested.emit(KeyOp(self._next_op, kind, cloud, key))
        return self._next_op

    def stop(self) -> None:
        self.worker.cancel.set()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        self.worker.cancel.set()
        self.thread.quit()
        if not self.thread.wait(timeout_ms):
            log.warning("cloud thread did not stop within %d ms", timeout_ms)
