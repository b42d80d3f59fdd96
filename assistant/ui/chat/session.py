"""The chat as the GUI drives it: send, stream, stop, regenerate, edit and resend.

Owns the engine host (worker thread) and the message model of the open
conversation. Tokens arrive by queued signal and are buffered; a 40 ms timer
re-renders the growing answer, never once per token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from assistant.chat import cloud_route, exchanges, versions
from assistant.chat.dispatch import ConsentRequest, SendPolicy, cloud_engine
from assistant.chat.router import LocalModelInfo
from assistant.chat.store import ChatStore, StoredMessage
from assistant.chat.turn import TurnResult
from assistant.core.types import GenParams, Message, ModelRef, ToolCall
from assistant.documents.answer import NOT_FOUND, DocumentContext, excerpt_transform, sources_payload
from assistant.documents.turn import check_cloud_allowed, engine_counter, prepare
from assistant.errors import AssistantError, LoadCancelledError
from assistant.settings import Settings
from assistant.tools.loop import ToolRecord, ToolSession
from assistant.ui.chat.engine_host import DocumentsTurn, EngineHost, LoadedModel, LoadRequest
from assistant.ui.chat.models.messages import MessageListModel
from assistant.ui.cloud.worker import CloudHost
from assistant.ui.common.jobs import run_job

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
    model_load_cancelled = Signal()
    conversation_changed = Signal(int)  # 0: a new, not yet saved chat
    conversations_changed = Signal()  # titles / order changed: the list should reload
    turn_finished = Signal(object)  # TurnResult
    error_occurred = Signal(str)
    consent_requested = Signal(object)  # ConsentRequest: the GUI asks, then calls resolve_consent
    notice = Signal(str)  # a passing note for the status bar
    cloud_settings_changed = Signal()  # "Always send hard prompts" changed the routing mode
    engine_exited = Signal(str)  # the model's process ended while idle; the next send loads it again
    documents_status = Signal(str)  # how a question about documents is read (budget, map-reduce progress)
    tool_status = Signal(str)  # a tool call the answer is waiting on ("" when none)

    def __init__(self, store: ChatStore, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.messages = MessageListModel(self)
        self.host = EngineHost(store, self)
        self.cloud_host = CloudHost(store, self)
        self.policy = SendPolicy(store, settings)
        self.config_dir = None  # Path of the user's price-table copy; set by the window
        # the chat's documents (ui/documents/chat_documents.py): a question in a chat with
        # documents is answered from them, by documents/turn.py on the engine's thread
        self.documents_for: Callable[[int], DocumentsTurn | None] | None = None
        # the chat's tools (ui/tools/chat_tools.py): an answer that calls them is answered
        # again with their results, by chat/tool_turn.py on the engine's thread
        self.tools_for: Callable[[int, DocumentsTurn | None], ToolSession | None] | None = None
        self._tools: ToolSession | None = None  # the running turn's
        self.image_gate: Callable[[str, str | None], list[Any] | None] | None = None  # ui/vision/chat_images.py
        self._cloud_excerpts: tuple[DocumentsTurn, DocumentContext] | None = None  # consented to, for the cloud
        self._sources_for: tuple[int, tuple[DocumentsTurn, DocumentContext] | None] | None = None  # the request's
        self._pending: str | None = None  # the prompt awaiting the user's consent
        self._resend = False  # it is the last question again (Retry with the cloud in a chat with documents)
        self.conversation_id = 0
        self.loaded: LoadedModel | None = None
        self.loading: ModelRef | None = None
        self._request_id = 0
        self._stream_row = -1
        self._parts: list[str] = []
        self._thinking: list[str] = []
        self._think_span: list[float] = []  # when thinking began, and when the answer did
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(RENDER_INTERVAL_MS)
        self._timer.timeout.connect(self._on_render_tick)
        w = self.host.worker
        w.token_received.connect(self._on_token_received)
        w.thinking_received.connect(self._on_thinking_received)
        self.cloud_host.worker.thinking_received.connect(self._on_thinking_received)
        w.turn_finished.connect(self._on_turn_finished)
        w.status_received.connect(self._on_status_received)
        w.tool_called.connect(self._on_tool_called)
        w.load_started.connect(self._on_load_started)
        w.loaded.connect(self._on_loaded)
        w.load_failed.connect(self._on_load_failed)
        w.engine_exited.connect(self._on_engine_exited)
        self.cloud_host.worker.token_received.connect(self._on_token_received)
        self.cloud_host.worker.turn_finished.connect(self._on_turn_finished)

    @property
    def settings(self) -> Settings:
        return self.policy.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self.policy.settings = settings

    # -- state -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._request_id != 0

    @property
    def _model_path(self):  # type: ignore[no-untyped-def]
        return self.loaded.model.path if self.loaded else None

    def params(self) -> GenParams:
        """The loaded model's own sampling values (model_settings.py), else the defaults."""
        return self.policy.params(self._model_path)

    def system_prompt(self) -> str:
        return self.policy.system_prompt(self._model_path)

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
        if isinstance(error, LoadCancelledError):
            self.model_load_cancelled.emit()
            return
        self.model_load_failed.emit(str(error))

    def _on_engine_exited(self, how: str) -> None:
        if self.loaded is not None and not self.busy:  # while answering, the answer reports it
            self.engine_exited.emit(
                f"The model's process ended ({how}). Your conversation is safe: the model loads again when you send.")

    def cancel_load(self) -> bool:
        """Stop the model that is loading (its process is ended). False when nothing loads."""
        return self.loading is not None and self.host.cancel_load()

    # -- conversations -------------------------------------------------------------------
    def open_conversation(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            return
        self.stop()
        self._stream_row = -1  # a stopping answer must not render into the next chat
        conv = self.store.get_conversation(conversation_id) if conversation_id else None
        self.conversation_id = conv.id if conv else 0
        self.messages.set_messages(self.store.messages(conv.id) if conv else [])
        self._refresh_versions()
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
        images = self.image_gate(text, target) if self.image_gate is not None else []  # vision: None when they cannot go
        if images is None:
            return False
        if not self.conversation_id:
            conv = self.store.create_conversation(
                title=_title_from(text), system_prompt=self.system_prompt() or None,
                model=self.loaded.model.display_name if self.loaded else None,
            )
            self.conversation_id = conv.id
            self.conversation_changed.emit(conv.id)
        self.messages.append(self._placeholder("user", text, "complete"))
        if images:  # asked of the cloud, or the local vision model (the router does not move images)
            self._start(text, "cloud" if target == "cloud" else "local", images=images)
        else:
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
        versions.keep(self.store, rows[-1])  # the earlier answer stays, as version ‹1/2›
        self.store.delete_messages_from(self.conversation_id, rows[-1].id)
        self.messages.truncate(len(rows) - 1)
        if target == "cloud" and self._documents() is not None:  # only the chosen excerpts, consented to
            question = next((m.content for m in reversed(rows) if m.role == "user"), "")
            self._ask_with_excerpts(question, resend=True)
            return True
        self._start(None, "cloud" if target == "cloud" else "local")
        return True

    def continue_answer(self) -> bool:
        """Write on from the last answer (one cut off while thinking), with the local model."""
        if self.busy or self._pending is not None or not self.conversation_id or self.loaded is None:
            return False
        rows = self.messages.messages()
        if not rows or rows[-1].role != "assistant" or rows[-1].id <= 0 or rows[-1].origin == "cloud":
            return False
        self.messages.truncate(len(rows) - 1)
        self._start(None, "local", resume=rows[-1])
        return True

    def edit_and_resend(self, row: int, new_text: str) -> bool:
        """Replace a user message and everything after it, then answer it. What it replaces
        is kept as an earlier version of the question (‹1/2› on it)."""
        m = self.messages.message_at(row)
        if self.busy or self.loaded is None or m is None or m.role != "user" or m.id <= 0 or not new_text.strip():
            return False
        conv = self.store.get_conversation(self.conversation_id) if row == 0 else None
        if conv is not None and conv.title == _title_from(m.content):  # the title came from this message
            self.store.rename_conversation(conv.id, _title_from(new_text))
            self.conversations_changed.emit()
        exchanges.set_aside(self.store, m)
        self.messages.truncate(row)
        self.messages.append(self._placeholder("user", new_text.strip(), "complete"))
        self._start(new_text.strip())
        return True

    def show_version(self, row: int, step: int) -> bool:
        """The previous (-1) or next (+1) version of the message at `row`, in its place: the
        last answer's (Regenerate, Retry), or a question's with all that followed it (Edit)."""
        m = self.messages.message_at(row)
        if self.busy or m is None:
            return False
        shown = exchanges.show(self.store, m, step) if m.role == "user" else versions.show(self.store, m, step)
        if not shown:
            return False
        self.messages.sync(self.store.messages(self.conversation_id))
        self._refresh_versions()
        return True

    def _refresh_versions(self) -> None:
        rows = self.messages.messages()
        found = exchanges.versions_in(self.store, [m for m in rows if m.id > 0])
        last = rows[-1] if rows else None
        v = versions.versions_of(self.store, last) if last is not None else None
        if last is not None and v is not None:
            found[last.id] = (v.index, v.count)
        self.messages.set_versions(found)

    def stop(self) -> None:
        if self.busy:
            self.host.stop()
            self.cloud_host.stop()

    def _placeholder(self, role: str, content: str, status: str) -> StoredMessage:
        engine = self.loaded.engine if self.loaded else None
        model = self.loaded.model.display_name if self.loaded else None
        return StoredMessage(0, self.conversation_id, role, content, status, engine, model,
                             None, None, None, None, None, None, time.time())

    def _start(self, user_text: str | None, target: str = "local", resume: StoredMessage | None = None, images: list[Any] | None = None) -> None:
        placeholder = self._placeholder("assistant", "", "streaming")
        if resume is not None:
            placeholder = replace(placeholder, content=resume.content, thinking=resume.thinking)
        excerpts, self._cloud_excerpts = (self._cloud_excerpts, None) if target == "cloud" else (None, None)
        if target == "cloud":
            c = self.settings.cloud
            placeholder = replace(placeholder, engine="cloud", model=c.model, origin="cloud", provider=c.provider)
        self._stream_row = self.messages.append(placeholder)
        self._parts = [placeholder.content] if placeholder.content else []
        self._thinking = [placeholder.thinking] if placeholder.thinking else []
        self._think_span = []
        self._dirty = False
        system = self.policy.turn_system_prompt(self.conversation_id, self._model_path)
        documents = self._documents() if resume is None else None
        if target == "cloud":
            self._request_id = self.cloud_host.run(dict(
                conversation_id=self.conversation_id, user_text=user_text, system_prompt=system,
                params=self.params(), cloud=replace(self.settings.cloud), config_dir=self.config_dir,
                excerpts=excerpt_transform(excerpts[1]) if excerpts else None, user_images=tuple(images or ())))
        else:
            # with tools on, the chat's documents are one of them (search_documents), not a documents turn
            tools = self.tools_for(self.conversation_id, documents) if self.tools_for and resume is None else None
            if tools is not None:
                documents = None
            self._tools = tools
            self._request_id = self.host.run(self.conversation_id, user_text, system, self.params(),
                                             continue_answer=resume is not None, documents=documents, tools=tools,
                                             images=images)
        self._sources_for = (self._request_id, excerpts)
        self._timer.start()
        self.busy_changed.emit(True)

    def _documents(self) -> DocumentsTurn | None:
        return self.documents_for(self.conversation_id) if self.documents_for and self.conversation_id else None

    def _on_status_received(self, request_id: int, text: str) -> None:
        if request_id == self._request_id:
            self.documents_status.emit(text)

    def _on_tool_called(self, request_id: int, call: ToolCall, record: ToolRecord | None) -> None:
        if request_id != self._request_id:
            return
        if record is None:
            server = self._tools.box.server_of(call.name) if self._tools is not None else ""
            self.tool_status.emit(f"Running {call.name}" + (f" ({server})" if server else "") + "…")
            # the answer that made the call is stored; the next one streams into the placeholder
            self._parts, self._thinking, self._think_span = [], [], []
            self._dirty = True
        else:
            self.tool_status.emit("")

    def _on_token_received(self, request_id: int, text: str) -> None:
        if request_id == self._request_id:
            self._parts.append(text)
            if len(self._think_span) == 1:
                self._think_span.append(time.monotonic())
            self._dirty = True

    def _on_thinking_received(self, request_id: int, text: str) -> None:
        if request_id == self._request_id:
            self._thinking.append(text)
            if not self._think_span:
                self._think_span.append(time.monotonic())
            self._dirty = True

    def _on_render_tick(self) -> None:
        if self._dirty and 0 <= self._stream_row < self.messages.rowCount():
            self._dirty = False
            span = self._think_span
            seconds = span[1] - span[0] if len(span) == 2 else None
            self.messages.set_streaming_text(self._stream_row, "".join(self._parts), "".join(self._thinking), seconds)

    def _on_turn_finished(self, request_id: int, result: TurnResult) -> None:
        if request_id != self._request_id:
            return
        self._timer.stop()
        self._request_id = 0
        self._stream_row = -1
        sent = self._sources_for[1] if self._sources_for and self._sources_for[0] == request_id else None
        if sent is not None and result.message_id:  # a cloud answer from excerpts: its sources, as a local one's
            self.store.save_sources(result.message_id, sources_payload(sent[1]))
        conv_id = self.conversation_id
        if conv_id:
            # the stored rows carry ids, usage and status: the placeholders become them
            self.messages.sync(self.store.messages(conv_id))
            self._refresh_versions()
        self.busy_changed.emit(False)
        self.conversations_changed.emit()
        if result.error is not None and not self._error_shown_inline():
            self.error_occurred.emit(str(result.error))
        self._learn_speed(result)
        self.turn_finished.emit(result)

    def _learn_speed(self, result: TurnResult) -> None:
        """A local answer on the CPU calibrates the library's speed estimates (off this thread)."""
        c, loaded = result.chunk, self.loaded
        if result.status != "complete" or c is None or c.usage is None or c.timings is None or loaded is None \
                or loaded.engine != "llama.cpp" or loaded.backend != "CPU" or loaded.model.path is None:
            return
        from assistant import hardware
        from assistant.library.speed import learn_from_answer
        from assistant.paths import get_paths

        # the model's own pace: tokens that prompt lookup's drafts added are not the memory's speed
        tps, n = c.timings.decode_steps_per_s(c.usage.completion_tokens), c.usage.completion_tokens
        ctx, path = c.usage.prompt_tokens + n // 2, loaded.model.path
        run_job(lambda: learn_from_answer(get_paths().data_dir, hardware.detect(), path, tps, n, ctx),
                lambda _cal: None, lambda exc: log.warning("speed calibration failed: %s", exc))

    def _error_shown_inline(self) -> bool:
        """The failed answer says what went wrong in the chat itself: no popup on top of it."""
        last = self.messages.message_at(self.messages.rowCount() - 1)
        return last is not None and last.role == "assistant" and last.status == "failed" and bool(last.error)

    def shutdown(self) -> None:
        self._timer.stop()
        self.host.shutdown()
        self.cloud_host.shutdown()

    # -- the cloud (the rules are chat/dispatch.py's) --------------------------------------
    def _cloud_allowed(self) -> bool:
        """The checks an explicit cloud request must pass; a refusal is said in plain words."""
        try:
            turn = self._documents()
            if turn is not None:  # a collection marked "never send to the cloud" blocks it
                check_cloud_allowed(turn.docs, turn.names)
            self.policy.check_cloud_allowed(self.conversation_id)
        except AssistantError as exc:
            self.error_occurred.emit(str(exc))
            return False
        return True

    def _route(self, text: str, target: str | None) -> None:
        if target == "cloud" and self._documents() is not None:
            self._ask_with_excerpts(text)
            return
        if target == "cloud":
            self._start(text, "cloud")
            return
        if self._documents() is not None:  # asked of the chat's documents: on this computer
            self._start(text, "local")
            return
        local = LocalModelInfo(self.loaded.model.display_name, None, self.loaded.context_length) if self.loaded else None
        d = self.policy.decide(text, self.conversation_id, local=local, model_path=self._model_path)
        if d.notice:
            self.notice.emit(d.notice)
        if d.consent is not None:
            self._pending = text
            self.consent_requested.emit(d.consent)
            return
        self._start(text, d.target)

    def _ask_with_excerpts(self, text: str, *, resend: bool = False) -> None:
        """"Ask <cloud>" in a chat with documents: the excerpts are chosen off this thread, then
        the consent dialog shows exactly what would go (the question and those excerpts,
        redacted when redaction is on); the rest of the documents stays here."""
        turn, cid, params, cloud = self._documents(), self.conversation_id, self.params(), replace(self.settings.cloud)
        assert turn is not None
        self._pending, self._resend = text, resend

        def choose() -> DocumentContext:
            counter = cloud_engine(cloud, "preview")  # counting only: no key, no request
            return prepare(turn.docs, turn.names, text, n_ctx=counter.context_length, params=params,
                           count=engine_counter(counter))

        def failed(exc: BaseException) -> None:
            self._pending = None
            if cid == self.conversation_id:
                self.messages.sync(self.store.messages(cid))
            self.error_occurred.emit(str(exc))

        self.documents_status.emit("Choosing the excerpts that would be sent…")
        self._excerpts_job = run_job(choose, lambda ctx: self._excerpts_chosen(text, cid, turn, ctx), failed)

    def _excerpts_chosen(self, text: str, cid: int, turn: DocumentsTurn, ctx: DocumentContext) -> None:
        if cid != self.conversation_id or self._pending != text:
            return  # another chat was opened meanwhile: nothing is sent
        if ctx.mode == "none":  # nothing good enough: said here, nothing sent
            self._pending = None
            if not self._resend:
                self.store.add_message(cid, "user", text)
            answer = self.store.begin_answer(cid, "documents", None, origin="local")
            self.store.finish_answer(answer, NOT_FOUND, "complete", duration_s=0.0)
            self.messages.sync(self.store.messages(cid))
            self.conversations_changed.emit()
            return
        self._cloud_excerpts = (turn, ctx)
        n = len(ctx.sources)
        self.consent_requested.emit(ConsentRequest(
            f"Send your question and {n} excerpt{'s' if n != 1 else ''} of your documents to "
            f"{cloud_route.cloud_label(self.settings.cloud)}?",
            "Only the excerpts below leave this computer; the rest of your documents stays here.",
            self.policy.outgoing_preview(text, cid, self._model_path, excerpt_transform(ctx)), self.settings.cloud.redact))

    def outgoing_preview(self, text: str | None) -> list[Message]:
        """Exactly the messages a cloud request for `text` would carry (after redaction)."""
        return self.policy.outgoing_preview(text, self.conversation_id, self._model_path)

    def resolve_consent(self, consent: cloud_route.Consent) -> None:
        """The user's answer to consent_requested."""
        if self._pending is None:
            return
        text, self._pending = self._pending, None
        resend, self._resend = self._resend, False
        target, changed = self.policy.apply_consent(self.conversation_id, consent)
        if target != "cloud":
            self._cloud_excerpts = None  # kept here: answered from the documents locally
        if changed:
            self.cloud_settings_changed.emit()
        self._start(None if resend else text, target)
