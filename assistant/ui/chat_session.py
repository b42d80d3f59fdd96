"""The chat as the GUI drives it: send, stream, stop, regenerate, edit and resend.

Owns the engine host (worker thread) and the message model of the open
conversation. Tokens arrive by queued signal and are buffered; a 40 ms timer
re-renders the growing answer, never once per token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal

from ..chat.store import ChatStore, StoredMessage
from ..chat.turn import TurnResult
from ..engines.base import GenParams, ModelRef
from ..settings import Settings
from .models.messages import MessageListModel
from .worker import EngineHost, LoadedModel, LoadRequest

log = logging.getLogger(__name__)

RENDER_INTERVAL_MS = 40


def _title_from(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "New chat")
    return line[:60] + ("…" if len(line) > 60 else "")


class ChatSession(QObject):
    busy_changed = Signal(bool)  # an answer is being written
    model_loading = Signal(object)  # ModelRef
    model_loaded = Signal(object)  # LoadedModel
    model_load_failed = Signal(str)
    conversation_changed = Signal(int)  # 0: a new, not yet saved chat
    conversations_changed = Signal()  # titles / order changed: the list should reload
    turn_finished = Signal(object)  # TurnResult
    error_occurred = Signal(str)

    def __init__(self, store: ChatStore, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.messages = MessageListModel(self)
        self.host = EngineHost(store, self)
        self.conversation_id = 0
        self.loaded: LoadedModel | None = None
        self.loading: ModelRef | None = None
        self._request_id = 0
        self._stream_row = -1
        self._parts: list[str] = []
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._on_render_tick)
        w = self.host.worker
        w.token_received.connect(self._on_token_received)
        w.turn_finished.connect(self._on_turn_finished)
        w.load_started.connect(self._on_load_started)
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self._on_load_failed)

    # -- state -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request_id != 0

    def params(self) -> GenParams:
        g = self.settings.generation
        return GenParams(max_tokens=g.max_tokens, temperature=g.temperature, top_p=g.top_p,
                         top_k=g.top_k, min_p=g.min_p, repeat_penalty=g.repeat_penalty)

    # -- models ------------------------------------------------------------------------
    def load_model(self, model: ModelRef) -> None:
        if self.busy:
            self.stop()
        self.loading = model
        self.host.load(LoadRequest(model, replace(self.settings)))

    def _on_load_started(self, model: ModelRef) -> None:
        self.model_loading.emit(model)

    def _on_loaded(self, loaded: LoadedModel) -> None:
        self.loaded, self.loading = loaded, None
        self.model_loaded.emit(loaded)

    def _on_load_failed(self, error: Exception) -> None:
        self.loaded = self.loading = None
        self.model_load_failed.emit(str(error))

    # -- conversations -------------------------------------------------------------------
    def open_conversation(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            return
        self.stop()
        self._stream_row = -1  # a stopping answer must not render into the next chat
        conv = self.store.get_conversation(conversation_id) if conversation_id else None
        self.conversation_id = conv.id if conv else 0
        self.messages.set_messages(self.store.messages(conv.id) if conv else [])
        self.conversation_changed.emit(self.conversation_id)

    def new_conversation(self) -> None:
        self.open_conversation(0)

    def reload(self) -> None:
        """Re-read the open conversation (after a delete or rename elsewhere)."""
        if self.conversation_id and self.store.get_conversation(self.conversation_id) is None:
            self.new_conversation()
        elif self.conversation_id:
            self.messages.sync(self.store.messages(self.conversation_id))

    # -- turns ---------------------------------------------------------------------------
    def send(self, text: str) -> bool:
        text = text.strip()
        if not text or self.busy:
            return False
        if self.loaded is None:
            self.error_occurred.emit("Choose a model first: no model is loaded.")
            return False
        if not self.conversation_id:
            conv = self.store.create_conversation(
                title=_title_from(text), system_prompt=self.settings.system_prompt or None,
                model=self.loaded.model.display_name,
            )
            self.conversation_id = conv.id
            self.conversation_changed.emit(conv.id)
        self.messages.append(self._placeholder("user", text, "complete"))
        self._start(text)
        return True

    def regenerate(self) -> bool:
        """Answer the last user message again, replacing the last answer."""
        if self.busy or self.loaded is None or not self.conversation_id:
            return False
        rows = self.messages.messages()
        if not rows or rows[-1].role != "assistant" or rows[-1].id <= 0:
            return False
        self.store.delete_messages_from(self.conversation_id, rows[-1].id)
        self.messages.truncate(len(rows) - 1)
        self._start(None)
        return True

    def edit_and_resend(self, row: int, new_text: str) -> bool:
        """Replace a user message and everything after it, then answer it."""
        m = self.messages.message_at(row)
        if self.busy or self.loaded is None or m is None or m.role != "user" or m.id <= 0 or not new_text.strip():
            return False
        self.store.delete_messages_from(self.conversation_id, m.id)
        self.messages.truncate(row)
        self.messages.append(self._placeholder("user", new_text.strip(), "complete"))
        self._start(new_text.strip())
        return True

    def stop(self) -> None:
        if self.busy:
            self.host.stop()

    def _placeholder(self, role: str, content: str, status: str) -> StoredMessage:
        engine = self.loaded.engine if self.loaded else None
        model = self.loaded.model.display_name if self.loaded else None
        return StoredMessage(0, self.conversation_id, role, content, status, engine, model,
                             None, None, None, None, None, None, time.time())

    def _start(self, user_text: str | None) -> None:
        self._stream_row = self.messages.append(self._placeholder("assistant", "", "streaming"))
        self._parts = []
        self._dirty = False
        conv = self.store.get_conversation(self.conversation_id)
        system = conv.system_prompt if conv else self.settings.system_prompt
        self._request_id = self.host.run(self.conversation_id, user_text, system, self.params())
        self._timer.start()
        self.busy_changed.emit(True)

    def _on_token_received(self, request_id: int, text: str) -> None:
        if request_id == self._request_id:
            self._parts.append(text)
            self._dirty = True

    def _on_render_tick(self) -> None:
        if self._dirty and 0 <= self._stream_row < self.messages.rowCount():
            self._dirty = False
            self.messages.set_streaming_text(self._stream_row, "".join(self._parts))

    def _on_turn_finished(self, request_id: int, result: TurnResult) -> None:
        if request_id != self._request_id:
            return
        self._timer.stop()
        self._request_id = 0
        self._stream_row = -1
        conv_id = self.conversation_id
        if conv_id:
            # the stored rows carry ids, usage and status: the placeholders become them
            self.messages.sync(self.store.messages(conv_id))
        self.busy_changed.emit(False)
        self.conversations_changed.emit()
        if result.error is not None:
            self.error_occurred.emit(str(result.error))
        self.turn_finished.emit(result)

    def shutdown(self) -> None:
        self._timer.stop()
        self.host.shutdown()
