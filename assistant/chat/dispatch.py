"""The send policy: where a prompt goes and exactly what is sent.

Shared by the GUI (ui/chat/session.py, ui/cloud/worker.py) and the command line
(cli.py), so both follow the same rules: the routing mode (settings, or the chat's
own), "never send this chat", Offline mode, the monthly limit, the consent question
with the exact (redacted) messages, and the system prompt of the turn. Plain Python:
no Qt, no threads of its own.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal, Sequence

from assistant import keys, model_settings, network
from assistant.chat import cloud_route, cost, router_semantic
from assistant.chat.cloud_route import Consent, key_id
from assistant.chat.images import StoredImage
from assistant.chat.privacy import OutgoingMessages, outgoing_messages, redact_messages, withhold_images
from assistant.chat.router import LocalModelInfo, assess
from assistant.chat.router_tradeoff import shift_for
from assistant.chat.store import ChatStore
from assistant.chat.turn import TurnResult, history_messages, run_turn
from assistant.core.types import GenParams, Message, Usage
from assistant.engines.cloud import CloudEngine
from assistant.engines.model_template import is_reasoning
from assistant.errors import AssistantError, EngineError
from assistant.settings import CloudSettings, Settings

log = logging.getLogger(__name__)

KEY_TIMEOUT_S = 5.0
# How long `decide` waits for the prompt's instruction to be embedded (router_semantic:
# its own thread and engine process). The GUI calls `decide` on its thread: a few ms
# once the model is loaded; while it loads, or when it is slow, the structural model
# decides alone. The command line may wait longer (it has no window to keep alive).
EMBED_WAIT_S = 0.03
CLI_EMBED_WAIT_S = 15.0
Target = Literal["local", "cloud", "ask"]


@dataclass(frozen=True)
class ConsentRequest:
    question: str  # "This looks hard for <local>: send to <cloud>?"
    reason: str
    messages: list[Message]  # exactly what would be sent
    redacted: bool


@dataclass(frozen=True)
class Dispatch:
    """The answer to "where does this prompt go?"."""

    target: Target
    reason: str
    notice: str = ""  # said in passing: "The monthly limit is reached. Answered locally."
    consent: ConsentRequest | None = None  # set when target is "ask"


def cloud_engine(cloud: CloudSettings, key: str | None) -> CloudEngine:
    return CloudEngine(cloud.provider, cloud.model, key or "", base_url=cloud_route.provider_base_url(cloud) or None)


class SendPolicy:
    """The rules for one store and one settings object (the caller keeps both)."""

    def __init__(self, store: ChatStore, settings: Settings, *,
                 embedder: router_semantic.InstructionEmbedder | None = None,
                 embed_wait_s: float = EMBED_WAIT_S) -> None:
        self.store = store
        self.settings = settings
        self._embedder = embedder  # None: the process's shared one, made when first needed
        self.embed_wait_s = embed_wait_s

    def meaning(self, text: str) -> router_semantic.Meaning | None:
        """The instruction's embedding for the router, within `embed_wait_s` (else None)."""
        embedder = self._embedder if self._embedder is not None else router_semantic.shared()
        return embedder.meaning(text, self.embed_wait_s)

    # -- the turn's inputs --------------------------------------------------------------
    def conversation_flags(self, conversation_id: int) -> tuple[str | None, bool]:
        """The chat's own routing mode (None: the settings') and its "never send" mark."""
        conv = self.store.get_conversation(conversation_id) if conversation_id else None
        return (conv.routing_mode, conv.never_cloud) if conv else (None, False)

    def system_prompt(self, model_path: Path | None) -> str:
        return model_settings.system_prompt(self.settings, model_path)

    def params(self, model_path: Path | None) -> GenParams:
        """The model's sampling values; a reasoning model gets a larger answer budget."""
        override = model_settings.get(self.settings, model_path).chat_template if model_path else None
        return model_settings.gen_params(self.settings, model_path, reasoning=is_reasoning(model_path, override))

    def turn_system_prompt(self, conversation_id: int, model_path: Path | None) -> str | None:
        """The chat keeps the system prompt it started with, unless the model has its own."""
        conv = self.store.get_conversation(conversation_id) if conversation_id else None
        system = conv.system_prompt if conv else self.system_prompt(model_path)
        if model_path is not None and model_settings.get(self.settings, model_path).system_prompt is not None:
            system = self.system_prompt(model_path)  # the model's own prompt wins, from its next message on
        return system

    # -- the rules ----------------------------------------------------------------------
    def check_cloud_allowed(self, conversation_id: int) -> None:
        """For an explicit "Ask <cloud>" / "Retry with <cloud>" / `ask --cloud`: raises
        an AssistantError that says in plain words why not."""
        _mode, never = self.conversation_flags(conversation_id)
        cloud_route.check_explicit(self.settings.cloud, never_cloud=never, offline=network.is_offline())
        cost.check_monthly_limit(self.store, self.settings.cloud.monthly_limit_usd)

    def decide(
        self,
        text: str,
        conversation_id: int,
        *,
        local: LocalModelInfo | None,
        model_path: Path | None,
        mode: str | None = None,
        excerpts: Callable[[list[Message]], list[Message]] | None = None,
        images: Sequence[StoredImage] = (),
    ) -> Dispatch:
        """Route a prompt that the user did not send to the cloud explicitly. `local` is
        the local model (None: none is loaded); `mode` overrides the chat's routing mode;
        `excerpts` puts a documents question's excerpts in (documents/answer.py); `images`
        are the prompt's attached images (shown in the consent preview)."""
        conv_mode, never = self.conversation_flags(conversation_id)
        mode = mode or conv_mode
        decision = None
        if local is not None and cloud_route.effective_mode(self.settings.cloud, mode) != "local":
            history = history_messages(self.store, conversation_id) if conversation_id else []
            decision = assess(text, history, local, shift=shift_for(self.settings.cloud.send_level),
                              meaning=self.meaning(text))
        r = cloud_route.route(self.settings.cloud, conversation_mode=mode, never_cloud=never,
                              offline=network.is_offline(), decision=decision)
        if r.kind != "local":
            try:
                cost.check_monthly_limit(self.store, self.settings.cloud.monthly_limit_usd)
            except AssistantError as exc:
                return Dispatch("local", exc.message, notice=f"{exc.message} Answered locally.")
        if r.kind == "ask":
            name = local.name if local else "the local model"
            consent = ConsentRequest(
                cloud_route.ask_question(name, self.settings.cloud), r.reason,
                self.outgoing_preview(text, conversation_id, model_path, excerpts, images), self.settings.cloud.redact,
            )
            return Dispatch("ask", r.reason, consent=consent)
        return Dispatch("cloud" if r.kind == "cloud" else "local", r.reason)

    def outgoing_preview(self, text: str | None, conversation_id: int, model_path: Path | None,
                         excerpts: Callable[[list[Message]], list[Message]] | None = None,
                         images: Sequence[StoredImage] = ()) -> OutgoingMessages:
        """Exactly the messages a cloud request for `text` (and its `images`) would carry
        (after redaction): with `excerpts`, the chosen document excerpts too, redacted like
        any text; without the images when the chat is marked "never send images"."""
        c = self.settings.cloud
        history = history_messages(self.store, conversation_id) if conversation_id else []
        if text is not None:
            history.append(Message("user", text, images=[str(i.path) for i in images]))
        names = {str(i.path): i.name for i in images}
        if conversation_id:
            names.update({str(i.path): i.name for ims in self.store.conversation_images(conversation_id).values()
                          for i in ims if i.name})
        engine = cloud_engine(c, "preview")  # counting only: no key, no request
        messages = outgoing_messages(history, system_prompt=self.turn_system_prompt(conversation_id, model_path),
                                     n_ctx=engine.context_length, count_tokens=engine.count_tokens,
                                     max_tokens=self.params(model_path).max_tokens, redact=False)
        messages = excerpts(messages) if excerpts is not None else messages
        withheld = 0
        if conversation_id and self.store.never_images(conversation_id):
            messages, withheld = withhold_images(messages)
        return OutgoingMessages(redact_messages(messages)[0] if c.redact else messages, names, withheld)

    def apply_consent(self, conversation_id: int, consent: Consent) -> tuple[Target, bool]:
        """The user's answer to a consent question: where the prompt goes now, and
        whether the cloud settings changed ("Always send hard prompts")."""
        new_cloud, never = cloud_route.apply_consent(self.settings.cloud, consent)
        if never and conversation_id:
            self.store.set_never_cloud(conversation_id, True)
        if consent.never_images and conversation_id:
            self.store.set_never_images(conversation_id, True)
        changed = new_cloud != self.settings.cloud
        if changed:
            self.settings.cloud = new_cloud
        return ("cloud" if consent.send and not never else "local"), changed


def _outgoing(excerpts: Callable[[list[Message]], list[Message]] | None,
              redact: bool, never_images: bool = False) -> Callable[[list[Message]], list[Message]] | None:
    """Document excerpts first, then redaction over everything (excerpts included); no
    images for a chat marked "never send images"."""
    if excerpts is None and not redact and not never_images:
        return None

    def transform(ms: list[Message]) -> list[Message]:
        ms = excerpts(ms) if excerpts is not None else ms
        ms = withhold_images(ms)[0] if never_images else ms
        return redact_messages(ms)[0] if redact else ms

    return transform


def run_cloud_turn(
    store: ChatStore,
    cloud: CloudSettings,
    conversation_id: int,
    *,
    user_text: str | None,
    system_prompt: str | None,
    params: GenParams,
    cancel: threading.Event,
    on_text: Callable[[str], None] | None = None,
    config_dir: Path | None = None,
    on_thinking: Callable[[str], None] | None = None,
    excerpts: Callable[[list[Message]], list[Message]] | None = None,
    user_images: Sequence[StoredImage] = (),
) -> TurnResult:
    """One cloud turn: the key from the keyring (only handed to the SDK), the price of
    the answer from the price table, redaction when it is on, no images when the chat is
    marked "never send images". Never raises: failures are in the result (and in the
    stored message once the answer row exists)."""
    try:
        engine = cloud_engine(cloud, keys.get_key(key_id(cloud), KEY_TIMEOUT_S))
        table = cost.load_prices(config_dir)

        def price(usage: Usage | None) -> float | None:
            return cost.answer_cost(table, cloud.provider, cloud.model, usage)

        try:
            return run_turn(
                store, engine, conversation_id, system_prompt=system_prompt, params=params,
                cancel=cancel, model_name=cloud.model, user_text=user_text, on_text=on_text, on_thinking=on_thinking,
                transform=_outgoing(excerpts, cloud.redact, store.never_images(conversation_id)), price=price,
                user_images=user_images,
            )
        finally:
            engine.unload()
    except AssistantError as exc:  # the keyring, the price table or the store before the answer row
        if user_text is not None:
            asked = store.add_message(conversation_id, "user", user_text)
            if user_images:
                store.attach_images(asked.id, user_images)
        return TurnResult(0, "", "failed", None, exc)
    except Exception as exc:
        log.exception("cloud turn failed")
        err = EngineError(f"The cloud request failed ({type(exc).__name__}).", "See the log for details.")
        return TurnResult(0, "", "failed", None, err)
