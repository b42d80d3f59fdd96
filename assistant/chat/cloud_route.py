"""Where a prompt goes: the local model, the user's consent first, or the cloud.

Plain Python, so the rules are tested without a window. The inputs are the cloud
settings, the conversation's own flags (its routing mode, "never send to the
cloud") and the router's decision; the answer names the route and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from assistant.chat.router import RouteDecision
from assistant.core.names import short_model_name
from assistant.engines.cloud import PROVIDERS
from assistant.errors import CloudNotAllowedError, NetworkBlockedError
from assistant.settings import CloudSettings

Mode = Literal["local", "ask", "auto"]
RouteKind = Literal["local", "ask", "cloud"]
MODES: dict[str, str] = {
    "local": "Local only",
    "ask": "Ask me",
    "auto": "Automatic",
}


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    reason: str  # one plain sentence: why this route


def cloud_configured(cloud: CloudSettings) -> bool:
    return cloud.provider in PROVIDERS and bool(cloud.model.strip()) and (
        cloud.provider != "openai-compatible" or bool(provider_base_url(cloud))
    )


def cloud_label(cloud: CloudSettings) -> str:
    """'OpenAI gpt-4o', for buttons and questions."""
    return f"{PROVIDERS.get(cloud.provider, cloud.provider)} {cloud.model}".strip()


def provider_base_url(cloud: CloudSettings) -> str:
    """The chosen provider's own server address; "" for OpenAI's and Anthropic's own endpoints.
    The OpenAI-compatible server's address is never used for another provider."""
    if cloud.provider == "openai-compatible":
        return cloud.base_url.strip()
    return cloud.base_urls.get(cloud.provider, "").strip()


def short_cloud_label(cloud: CloudSettings) -> str:
    """'OpenAI gpt-4o' with a long model id (a file path, a long repo id) cut short, for buttons and menus."""
    return f"{PROVIDERS.get(cloud.provider, cloud.provider)} {short_model_name(cloud.model, 24)}".strip()


def effective_mode(cloud: CloudSettings, conversation_mode: str | None) -> Mode:
    mode = conversation_mode if conversation_mode in MODES else cloud.routing_mode
    return mode if mode in MODES else "local"  # type: ignore[return-value]


def route(
    cloud: CloudSettings,
    *,
    conversation_mode: str | None,
    never_cloud: bool,
    offline: bool,
    decision: RouteDecision | None,
) -> Route:
    """Route one prompt. `decision` is the router's, or None when it was not asked."""
    mode = effective_mode(cloud, conversation_mode)
    if mode == "local" or not cloud_configured(cloud):
        return Route("local", "Local only." if mode == "local" else "No cloud model is set up.")
    if never_cloud:
        return Route("local", "This chat is never sent to the cloud.")
    if offline:
        return Route("local", "Offline mode is on.")
    if decision is None or not decision.hard:
        return Route("local", decision.reason if decision else "The router was not asked.")
    if mode == "auto":
        return Route("cloud", decision.reason)
    return Route("ask", decision.reason)


def ask_question(local_model: str, cloud: CloudSettings) -> str:
    # short names: a model id that is a file path would make the question a paragraph
    return f"This looks hard for {short_model_name(local_model)}: send to {short_cloud_label(cloud)}?"


def check_explicit(cloud: CloudSettings, *, never_cloud: bool, offline: bool) -> None:
    """For "Ask <cloud>" / "Retry with <cloud>": the user asked, but some rules still hold."""
    if not cloud_configured(cloud):
        raise CloudNotAllowedError("No cloud model is set up.", "Choose a provider and a model in Settings → Cloud.")
    if never_cloud:
        raise CloudNotAllowedError(
            "This chat is marked “Never send to the cloud”: nothing was sent.",
            "Clear the mark in the Chat menu to use the cloud model here.",
        )
    if offline:
        raise NetworkBlockedError(
            f"Offline mode is on: {cloud_label(cloud)} was not contacted.",
            "Turn off Offline mode in Settings to use the cloud model, or answer with a local model.",
        )


@dataclass(frozen=True)
class Consent:
    """What the user chose in the consent dialog."""

    send: bool
    always: bool = False  # "Always send hard prompts": the mode becomes Automatic
    never_this_chat: bool = False  # "Never send this chat": the chat is marked
    never_images: bool = False  # "Never send this chat's images": marked; the text still goes


def apply_consent(cloud: CloudSettings, consent: Consent) -> tuple[CloudSettings, bool]:
    """The settings after the choice, and whether the chat is to be marked never-cloud."""

    if consent.never_this_chat:
        return cloud, True
    if consent.always and consent.send:
        return replace(cloud, routing_mode="auto"), False
    return cloud, False


def key_id(cloud: CloudSettings) -> str:
    """The keyring entry for this provider (one per OpenAI-compatible server address)."""
    if cloud.provider == "openai-compatible":
        return f"openai-compatible:{cloud.base_url.strip()}"
    return cloud.provider
