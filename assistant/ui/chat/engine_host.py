"""The inference worker: one long-lived QThread that owns the loaded engine.

Loading and generating both run there (MLX requires one thread for both), so the
GUI thread never waits on the engine. Requests arrive as queued signals; results
leave as queued signals. Stop is a threading.Event the GUI sets directly: the engine
checks it between tokens, so stopping does not wait for a queue.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal, Slot

from assistant.chat.images import StoredImage
from assistant.chat.store import ChatStore
from assistant.chat.tool_turn import run_with_tools
from assistant.chat.turn import TurnResult, run_turn
from assistant.core.types import GenParams, ModelRef
from assistant.documents.service import Documents
from assistant.documents.turn import run_document_turn
from assistant.engines.base import Engine
from assistant.engines.shared import shared_engines
from assistant.errors import AssistantError, EngineError
from assistant.settings import Settings
from assistant.tools.loop import ToolSession
from assistant.ui.common.thread_host import ThreadHost

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadRequest:
    model: ModelRef
    settings: Settings  # a copy: context length, threads, GPU layers


@dataclass(frozen=True)
class LoadedModel:
    model: ModelRef
    engine: str
    backend: str
    context_length: int
    plan_reason: str


@dataclass(frozen=True)
class TurnRequest:
    request_id: int
    conversation_id: int
    user_text: str | None  # None: answer the last user message again
    system_prompt: str | None
    params: GenParams
    continue_answer: bool = False  # write on from the last answer (cut off while thinking)
    documents: DocumentsTurn | None = None  # a question about the chat's documents
    tools: ToolSession | None = None  # the chat's tools: answers that call them run again with the results
    images: tuple[StoredImage, ...] = ()  # vision: the new user message's images (chat/images.py's store)


@dataclass(frozen=True)
class DocumentsTurn:
    docs: Documents
    names: list[str]  # the collections it is asked of


class InferenceWorker(QObject):
    """Lives on the worker thread; every slot runs there."""

    load_started = Signal(object)  # ModelRef
    loaded = Signal(object)  # LoadedModel
    load_failed = Signal(object)  # AssistantError
    unloaded = Signal()
    token_received = Signal(int, str)  # request id, text
    thinking_received = Signal(int, str)  # request id, thinking text
    turn_finished = Signal(int, object)  # request id, TurnResult
    status_received = Signal(int, str)  # request id, a line on how a documents question is read
    engine_exited = Signal(str)  # the engine's process ended while idle: how, in words
    tool_called = Signal(int, object, object)  # request id, ToolCall, ToolRecord (None: it starts now)

    def __init__(self, store: ChatStore) -> None:
        super().__init__()
        self._store = store
        self._engine: Engine | None = None
        self._model: ModelRef | None = None
        self._loading: Engine | None = None  # the engine being loaded, for cancel_load from the GUI thread
        self.cancel = threading.Event()
        self._holder = f"window {id(self):x}"  # this chat's hold on its model in the shared engines

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        self.load_started.emit(request.model)
        if self._engine is not None:
            # free the previous model's memory BEFORE the next one is mapped: two models
            # at once may not fit, and a switch must never need both
            self._unload()
            self.unloaded.emit()
        try:
            # planning reads the model's header, so it runs here too, not on the GUI thread;
            # the engine process is shared with the API server (engines/shared.py): a model it
            # has loaded already is not loaded twice
            try:
                engine, plan = shared_engines().hold(request.model, request.settings, self._holder, loading=self._set_loading)
            finally:
                self._loading = None
        except AssistantError as exc:
            self.load_failed.emit(exc)
            return
        except Exception as exc:  # an engine bug must not kill the thread silently
            log.exception("loading %s failed", request.model.path)
            self.load_failed.emit(EngineError(f"Loading {request.model.display_name} failed: {exc}", "See the log for details."))
            return
        self._engine, self._model = engine, request.model
        watch = getattr(engine, "exit_watch", None)  # a process of its own: hear of a death while idle
        if watch is not None:
            watch.on_exit = self.engine_exited.emit  # from the watcher's thread: queued to the GUI
        self.loaded.emit(LoadedModel(request.model, engine.name, engine.backend, engine.context_length, plan.reason))

    def _set_loading(self, engine: Engine) -> None:
        self._loading = engine

    def cancel_load(self) -> bool:
        """Called from the GUI thread while this thread is busy loading: the engine's
        process is ended and the load fails with LoadCancelledError."""
        engine = self._loading
        cancel = getattr(engine, "cancel_load", None)
        if cancel is None:
            return False
        cancel()
        return True

    @Slot()
    def unload(self) -> None:
        self._unload()
        self.unloaded.emit()

    def _unload(self) -> None:
        if self._engine is not None and self._model is not None:
            shared_engines().release(self._model, self._holder)  # unloaded unless the API server uses it now
        self._engine = self._model = None

    @Slot(object)
    def run(self, request: TurnRequest) -> None:
        if self._engine is None or self._model is None:
            err = EngineError("No model is loaded.", "Choose a model in the chat header.")
            self.turn_finished.emit(request.request_id, TurnResult(0, "", "failed", None, err))
            return
        rid = request.request_id
        try:
            result = self._run(request, rid)
        except AssistantError as exc:  # storage failed before the answer row existed
            result = TurnResult(0, "", "failed", None, exc)
        except Exception as exc:
            log.exception("generation failed")
            result = TurnResult(0, "", "failed", None, EngineError(f"Generation failed: {exc}", "See the log for details."))
        self.turn_finished.emit(rid, result)

    def _run(self, request: TurnRequest, rid: int) -> TurnResult:
        assert self._engine is not None and self._model is not None
        d = request.documents
        # a question with images is the model's to answer (the images go with it), not the documents'
        if d is not None and not request.continue_answer and not request.images:  # documents/turn.py's turn
            return self._documents_turn(request, d, rid)
        turn = dict(system_prompt=request.system_prompt, params=request.params, cancel=self.cancel,
                    model_name=self._model.display_name, user_text=request.user_text, user_images=request.images,
                    on_text=lambda text: self.token_received.emit(rid, text),
                    on_thinking=lambda text: self.thinking_received.emit(rid, text))
        if request.tools is not None and not request.continue_answer:
            session = replace(request.tools, on_call=lambda call, record: self.tool_called.emit(rid, call, record))
            return run_with_tools(self._store, self._engine, request.conversation_id, session=session, **turn)  # type: ignore[arg-type]
        return run_turn(self._store, self._engine, request.conversation_id, continue_answer=request.continue_answer,
                        **turn)  # type: ignore[arg-type]

    def _documents_turn(self, request: TurnRequest, d: DocumentsTurn, rid: int) -> TurnResult:
        assert self._engine is not None and self._model is not None
        rows = self._store.messages(request.conversation_id)
        before = len(rows)
        resend = request.user_text is None  # Regenerate: the last question, stored already
        question = request.user_text if request.user_text is not None else \
            next((m.content for m in reversed(rows) if m.role == "user"), "")
        try:
            result, _ctx = run_document_turn(
                self._store, self._engine, request.conversation_id, d.docs, d.names, question, resend=resend,
                system_prompt=request.system_prompt, params=request.params, cancel=self.cancel,
                model_name=self._model.display_name, on_text=lambda text: self.token_received.emit(rid, text),
                on_status=lambda text: self.status_received.emit(rid, text),
                on_thinking=lambda text: self.thinking_received.emit(rid, text))
            return result
        except AssistantError as exc:
            if len(self._store.messages(request.conversation_id)) != before:
                raise
            # failed before anything was stored (no embedding model, a collection gone): the
            # question stays in the chat, with the reason on its answer
            if not resend:
                self._store.add_message(request.conversation_id, "user", question)
            answer = self._store.begin_answer(request.conversation_id, "documents", self._model.display_name, origin="local")
            self._store.finish_answer(answer, "", "failed", error=str(exc))
            return TurnResult(answer, "", "failed", None, exc)


class EngineHost(ThreadHost):
    """Owns the inference thread and forwards requests to it with queued signals."""

    _load_requested = Signal(object)
    _run_requested = Signal(object)
    _unload_requested = Signal()

    def __init__(self, store: ChatStore, parent: QObject | None = None) -> None:
        super().__init__("inference", InferenceWorker(store), parent)
        self._load_requested.connect(self.worker.load)
        self._run_requested.connect(self.worker.run)
        self._unload_requested.connect(self.worker.unload)

    def load(self, request: LoadRequest) -> None:
        self._load_requested.emit(request)

    def unload(self) -> None:
        self._unload_requested.emit()

    def cancel_load(self) -> bool:
        return self.worker.cancel_load()  # direct: the worker's thread is inside the load

    def run(self, conversation_id: int, user_text: str | None, system_prompt: str | None, params: GenParams,
            continue_answer: bool = False, documents: DocumentsTurn | None = None, tools: ToolSession | None = None,
            images: list[StoredImage] | None = None) -> int:
        rid = self.next_request()
        self._run_requested.emit(TurnRequest(rid, conversation_id, user_text, system_prompt, params, continue_answer,
                                             documents, tools, tuple(images or ())))
        return rid

    def _before_quit(self) -> None:
        self._unload_requested.emit()  # the engine is freed on the thread that owns it
