"""The chat as the GUI drives it: send, stream, stop, regenerate, edit and resend.

Owns the engine host (worker thread) and the message model of the open
conversation. Tokens arrive by queued signal and are buffered; a 40 ms timer
re-renders the growing answer, never once per token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Signal

from .. import network
from ..chat import cloud_route, cost
from ..chat.privacy import outgoing_messages
from ..chat.router import LocalModelInfo, assess
from ..chat.store import ChatStore, StoredMessage
from ..chat.turn import TurnResult, history_messages
from ..engines.base import GenParams, Message, ModelRef
from ..errors import AssistantError
from ..library import model_settings
from ..settings import Settings
from .models.messages import MessageListModel
from .cloud_worker import CloudHost, make_engine
from .worker import EngineHost, LoadedModel, LoadRequest

log = logging.getLogger(__name__)

RENDER_INTERVAL_MS = 40


@dataclass(frozen=True)
class ConsentRequest:
    question: str  # "This looks hard for <local>: send to <cloud>?"
    reason: str
    messages: list[Message]  # exactly what would be sent
    redacted: bool


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
    consent_requested = Signal(object)  # ConsentRequest: the GUI asks, then calls resolve_consent
    notice = Signal(str)  # a passing note for the status bar
    cloud_settings_changed = Signal()  # "Always send hard prompts" changed the routing mode

    def __init__(self, store: ChatStore, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.settings = settings
        self.messages = MessageListModel(self)
        self.host = EngineHost(store, self)
        self.cloud_host = CloudHost(store, self)
        self.config_dir = None  # Path of the user's price-table copy; set by the window
        self._pending: str | None = None  # the prompt awaiting the user's consent
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
        self.cloud_host.worker.token_received.connect(self._on_token_received)
        self.cloud_host.worker.turn_finished.connect(self._on_turn_finished)

    # -- state -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request_id != 0

    def params(self) -> GenParams:
        """The loaded model's own sampling values (library/model_settings.py), else the defaults."""
        return model_settings.gen_params(self.settings, self.loaded.model.path if self.loaded else None)

    def system_prompt(self) -> str:
        return model_settings.system_prompt(self.settings, self.loaded.model.path if self.loaded else None)

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
    def send(self, text: str, target: str | None = None) -> bool:
        """Send a prompt. `target` None routes it (settings, chat, router); "cloud": Ask <cloud>."""
        text = text.strip()
        if not text or self.busy or self._pending is not None:
            return False
        if target == "cloud" and not self._cloud_allowed():
            return False
        if self.loaded is None and target != "cloud":
            self.error_occurred.emit("Choose a model first: no model is loaded.")
            return False
        if not self.conversation_id:
            conv = self.store.create_conversation(
                title=_title_from(text), system_prompt=self.system_prompt() or None,
                model=self.loaded.model.display_name if self.loaded else None,
            )
            self.conversation_id = conv.id
            self.conversation_changed.emit(conv.id)
        self.messages.append(self._placeholder("user", text, "complete"))
        self._route(text, target)
        return True

    def regenerate(self, target: str | None = None) -> bool:
        """Answer the last user message again, replacing the last answer.
        `target` "cloud": Retry with the cloud model; "local" or None: the local model."""
        if self.busy or self._pending is not None or not self.conversation_id:
            return False
        if (self.loaded is None and target != "cloud") or (target == "cloud" and not self._cloud_allowed()):
            return False
        rows = self.messages.messages()
        if not rows or rows[-1].role != "assistant" or rows[-1].id <= 0:
            return False
        self.store.delete_messages_from(self.conversation_id, rows[-1].id)
        self.messages.truncate(len(rows) - 1)
        self._start(None, "cloud" if target == "cloud" else "local")
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
            self.cloud_host.stop()

    def _placeholder(self, role: str, content: str, status: str) -> StoredMessage:
        engine = self.loaded.engine if self.loaded else None
        model = self.loaded.model.display_name if self.loaded else None
        return StoredMessage(0, self.conversation_id, role, content, status, engine, model,
                             None, None, None, None, None, None, time.time())

    def _start(self, user_text: str | None, target: str = "local") -> None:
        placeholder = self._placeholder("assistant", "", "streaming")
        if target == "cloud":
            c = self.settings.cloud
            placeholder = replace(placeholder, engine="cloud", model=c.model, origin="cloud", provider=c.provider)
        self._stream_row = self.messages.append(placeholder)
        self._parts = []
        self._dirty = False
        system = self._turn_system_prompt()
        if target == "cloud":
            self._request_id = self.cloud_host.run(dict(
                conversation_id=self.conversation_id, user_text=user_text, system_prompt=system,
                params=self.params(), cloud=replace(self.settings.cloud), config_dir=self.config_dir))
        else:
            self._request_id = self.host.run(self.conversation_id, user_text, system, self.params())
        self._timer.start()
        self.busy_changed.emit(True)

    def _turn_system_prompt(self) -> str | None:
        conv = self.store.get_conversation(self.conversation_id) if self.conversation_id else None
        system = conv.system_prompt if conv else self.system_prompt()
        if self.loaded is not None and model_settings.get(self.settings, self.loaded.model.path).system_prompt is not None:
            system = self.system_prompt()  # the model's own prompt wins, from its next message on
        return system

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
        self.cloud_host.shutdown()

    # -- the cloud -------------------------------------------------------------------------
    def _conv_flags(self) -> tuple[str | None, bool]:
        conv = self.store.get_conversation(self.conversation_id) if self.conversation_id else None
        return (conv.routing_mode, conv.never_cloud) if conv else (None, False)

    def _cloud_allowed(self) -> bool:
        """The checks an explicit cloud request must pass; a refusal is said in plain words."""
        _mode, never = self._conv_flags()
        try:
            cloud_route.check_explicit(self.settings.cloud, never_cloud=never, offline=network.is_offline())
            cost.check_monthly_limit(self.store, self.settings.cloud.monthly_limit_usd)
        except AssistantError as exc:
            self.error_occurred.emit(str(exc))
            return False
        return True

    def _route(self, text: str, target: str | None) -> None:
        if target == "cloud":
            self._start(text, "cloud")
            return
        mode, never = self._conv_flags()
        decision = None
        if self.loaded is not None and cloud_route.effective_mode(self.settings.cloud, mode) != "local":
            info = LocalModelInfo(self.loaded.model.display_name, None, self.loaded.context_length)
            history = history_messages(self.store, self.conversation_id) if self.conversation_id else []
            decision = assess(text, history, info)
        r = cloud_route.route(self.settings.cloud, conversation_mode=mode, never_cloud=never,
                              offline=network.is_offline(), decision=decision)
        if r.kind != "local":
            try:
                cost.check_monthly_limit(self.store, self.settings.cloud.monthly_limit_usd)
            except AssistantError as exc:
                self.notice.emit(f"{exc.message} Answered locally.")
                r = cloud_route.Route("local", exc.message)
        if r.kind == "ask":
            self._pending = text
            local = self.loaded.model.display_name if self.loaded else "the local model"
            self.consent_requested.emit(ConsentRequest(
                cloud_route.ask_question(local, self.settings.cloud), r.reason,
                self.outgoing_preview(text), self.settings.cloud.redact))
            return
        self._start(text, "cloud" if r.kind == "cloud" else "local")

    def outgoing_preview(self, text: str | None) -> list[Message]:
        """Exactly the messages a cloud request for `text` would carry (after redaction)."""
        c = self.settings.cloud
        history = history_messages(self.store, self.conversation_id) if self.conversation_id else []
        if text is not None:
            history.append(Message("user", text))
        engine = make_engine(c, "preview")  # counting only: no key, no request
        return outgoing_messages(history, system_prompt=self._turn_system_prompt(),
                                 n_ctx=engine.context_length, count_tokens=engine.count_tokens,
                                 max_tokens=self.params().max_tokens, redact=c.redact)

    def resolve_consent(self, consent: cloud_route.Consent) -> None:
        """The user's answer to consent_requested."""
        if self._pending is None:
            return
        text, self._pending = self._pending, None
        new_cloud, never = cloud_route.apply_consent(self.settings.cloud, consent)
        if never and self.conversation_id:
            self.store.set_never_cloud(self.conversation_id, True)
        if new_cloud != self.settings.cloud:
            self.settings.cloud = new_cloud
            self.cloud_settings_changed.emit()
        self._start(text, "cloud" if consent.send and not never else "local")
