"""Routing rules: local by default, consent in Ask me, cloud in Automatic; guards first."""

from __future__ import annotations

import pytest

from assistant.chat.cloud_route import (
    Consent,
    apply_consent,
    ask_question,
    check_explicit,
    cloud_configured,
    effective_mode,
    route,
)
from assistant.chat.router import LocalModelInfo, assess
from assistant.errors import CloudNotAllowedError, NetworkBlockedError
from assistant.settings import CloudSettings, Settings

GEMMA = LocalModelInfo("Gemma 3 270M", None, 2048)
HARD = assess(
    "Prove that there are infinitely many primes, then write a Python function with unit tests "
    "that checks the proof step by step and analyse its complexity.",
    [], GEMMA,
)
EASY = assess("Say hello.", [], GEMMA)


def cloud(**kw: object) -> CloudSettings:
    base = dict(provider="openai", model="gpt-4o", routing_mode="ask")
    base.update(kw)
    return CloudSettings(**base)  # type: ignore[arg-type]


def test_router_inputs_are_what_we_think() -> None:
    assert HARD.hard and not EASY.hard


def test_default_is_local_only() -> None:
    assert Settings().cloud.routing_mode == "local"
    r = route(Settings().cloud, conversation_mode=None, never_cloud=False, offline=False, decision=HARD)
    assert r.kind == "local"


def test_modes() -> None:
    assert route(cloud(), conversation_mode=None, never_cloud=False, offline=False, decision=HARD).kind == "ask"
    assert route(cloud(), conversation_mode=None, never_cloud=False, offline=False, decision=EASY).kind == "local"
    r = route(cloud(routing_mode="auto"), conversation_mode=None, never_cloud=False, offline=False, decision=HARD)
    assert r.kind == "cloud" and r.reason == HARD.reason
    # the chat's own mode wins over the settings'
    assert route(cloud(), conversation_mode="local", never_cloud=False, offline=False, decision=HARD).kind == "local"
    assert route(cloud(routing_mode="local"), conversation_mode="auto", never_cloud=False, offline=False,
                 decision=HARD).kind == "cloud"
    assert effective_mode(cloud(), "bogus") == "ask"


def test_guards() -> None:
    r = route(cloud(), conversation_mode=None, never_cloud=True, offline=False, decision=HARD)
    assert r.kind == "local" and "never sent" in r.reason
    assert route(cloud(), conversation_mode=None, never_cloud=False, offline=True, decision=HARD).kind == "local"
    assert not cloud_configured(cloud(provider="openai-compatible", base_url=""))
    assert route(cloud(model=""), conversation_mode=None, never_cloud=False, offline=False, decision=HARD).kind == "local"


def test_explicit_requests_and_consent() -> None:
    check_explicit(cloud(), never_cloud=False, offline=False)
    with pytest.raises(CloudNotAllowedError, match="Never send"):
        check_explicit(cloud(), never_cloud=True, offline=False)
    with pytest.raises(NetworkBlockedError, match="Offline mode is on"):
        check_explicit(cloud(), never_cloud=False, offline=True)
    with pytest.raises(CloudNotAllowedError):
        check_explicit(cloud(provider=""), never_cloud=False, offline=False)
    assert ask_question("Gemma 3 270M", cloud()) == "This looks hard for Gemma 3 270M: send to OpenAI gpt-4o?"
    assert apply_consent(cloud(), Consent(send=True, always=True))[0].routing_mode == "auto"
    assert apply_consent(cloud(), Consent(send=False, never_this_chat=True)) == (cloud(), True)
    assert apply_consent(cloud(), Consent(send=True)) == (cloud(), False)
