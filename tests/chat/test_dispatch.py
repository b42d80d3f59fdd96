"""The send policy the window and the command line share (chat/dispatch.py), on a real
SQLite store: routing, the consent request with exactly what would be sent, the monthly
limit, the answer to consent, and the system prompt of a turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import model_settings, network
from assistant.chat.cloud_route import Consent
from assistant.chat.dispatch import SendPolicy
from assistant.chat.router import LocalModelInfo
from assistant.chat.store import ChatStore
from assistant.errors import CloudLimitError, CloudNotAllowedError, NetworkBlockedError
from assistant.model_settings import ModelSettings
from assistant.settings import CloudSettings, Settings

GEMMA = LocalModelInfo("Gemma 3 270M", 0.27, 2048)
MODEL = Path("/models/gemma.gguf")
HARD = ("Prove that there are infinitely many primes, then write a Python function with unit tests that checks "
        "the proof step by step and analyse its complexity. My e-mail is ada@example.org.")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore.open(tmp_path / "history.sqlite3") as s:
        yield s


def policy(store: ChatStore, **cloud: object) -> SendPolicy:
    base: dict[str, object] = dict(provider="openai", model="gpt-4o", routing_mode="ask")
    base.update(cloud)
    return SendPolicy(store, Settings(cloud=CloudSettings(**base)))  # type: ignore[arg-type]


def test_local_only_never_asks_the_router(store: ChatStore) -> None:
    p = SendPolicy(store, Settings())
    d = p.decide(HARD, 0, local=GEMMA, model_path=MODEL)
    assert (d.target, d.consent) == ("local", None)
    assert d.reason == "Local only."


def test_ask_me_builds_the_consent_with_exactly_what_would_be_sent(store: ChatStore) -> None:
    p = policy(store)
    conv = store.create_conversation("t", system_prompt="Be brief.")
    store.add_message(conv.id, "user", "Earlier question")
    store.add_message(conv.id, "assistant", "Earlier answer")
    d = p.decide(HARD, conv.id, local=GEMMA, model_path=MODEL)
    assert d.target == "ask" and d.consent is not None
    assert d.consent.question == "This looks hard for Gemma 3 270M: send to OpenAI gpt-4o?"
    sent = [(m.role, m.content) for m in d.consent.messages]
    assert sent[0] == ("system", "Be brief.")
    assert sent[1:3] == [("user", "Earlier question"), ("assistant", "Earlier answer")]
    assert sent[-1][0] == "user" and "ada@example.org" not in sent[-1][1]  # redacted, as the cloud would get it
    assert d.consent.redacted
    assert d.consent.messages == p.outgoing_preview(HARD, conv.id, MODEL)


def test_automatic_sends_hard_prompts_and_keeps_easy_ones(store: ChatStore) -> None:
    p = policy(store, routing_mode="auto")
    assert p.decide(HARD, 0, local=GEMMA, model_path=MODEL).target == "cloud"
    assert p.decide("Say hello.", 0, local=GEMMA, model_path=MODEL).target == "local"
    # the command line's --route wins over the settings
    assert p.decide(HARD, 0, local=GEMMA, model_path=MODEL, mode="local").target == "local"


def test_the_monthly_limit_answers_locally_with_a_notice(store: ChatStore) -> None:
    p = policy(store, routing_mode="auto", monthly_limit_usd=0.01)
    conv = store.create_conversation("t")
    mid = store.begin_answer(conv.id, "cloud", "gpt-4o", origin="cloud", provider="openai")
    store.finish_answer(mid, "x", "complete", cost_usd=0.02)
    d = p.decide(HARD, conv.id, local=GEMMA, model_path=MODEL)
    assert d.target == "local" and d.notice.endswith("Answered locally.") and "limit" in d.notice
    with pytest.raises(CloudLimitError):
        p.check_cloud_allowed(conv.id)


def test_explicit_cloud_requests_are_refused_with_the_reason(store: ChatStore) -> None:
    with pytest.raises(CloudNotAllowedError, match="No cloud model"):
        SendPolicy(store, Settings()).check_cloud_allowed(0)
    p = policy(store)
    conv = store.create_conversation("t")
    store.set_never_cloud(conv.id, True)
    with pytest.raises(CloudNotAllowedError, match="Never send"):
        p.check_cloud_allowed(conv.id)
    network.set_offline(True)
    with pytest.raises(NetworkBlockedError, match="Offline mode is on"):
        p.check_cloud_allowed(0)


def test_the_answer_to_consent(store: ChatStore) -> None:
    p = policy(store)
    conv = store.create_conversation("t")
    assert p.apply_consent(conv.id, Consent(send=False)) == ("local", False)
    assert p.apply_consent(conv.id, Consent(send=True)) == ("cloud", False)
    assert p.apply_consent(conv.id, Consent(send=True, always=True)) == ("cloud", True)
    assert p.settings.cloud.routing_mode == "auto"
    assert p.apply_consent(conv.id, Consent(send=True, never_this_chat=True)) == ("local", False)
    stored = store.get_conversation(conv.id)
    assert stored is not None and stored.never_cloud


def test_the_turn_keeps_the_chat_system_prompt_unless_the_model_has_its_own(store: ChatStore) -> None:
    p = SendPolicy(store, Settings(system_prompt="App default."))
    conv = store.create_conversation("t", system_prompt="Chat's own.")
    assert p.turn_system_prompt(0, MODEL) == "App default."
    assert p.turn_system_prompt(conv.id, MODEL) == "Chat's own."
    model_settings.put(p.settings, MODEL, ModelSettings(system_prompt="Model's own."))
    assert p.turn_system_prompt(conv.id, MODEL) == "Model's own."
    assert p.params(MODEL) == p.settings.generation


def test_the_send_level_moves_what_goes_out_in_automatic_mode(store: ChatStore) -> None:
    from assistant.chat.router import assess
    from assistant.chat.router_tradeoff import shift_for

    # a prompt the router finds hard at the fitted threshold but not at "rarely"
    prompt = "What's 58 x 36?"
    d0 = assess(prompt, [], GEMMA)
    assert d0.hard and not assess(prompt, [], GEMMA, shift=shift_for(-2)).hard
    assert policy(store, routing_mode="auto").decide(prompt, 0, local=GEMMA, model_path=MODEL).target == "cloud"
    rarely = policy(store, routing_mode="auto", send_level=-2)
    assert rarely.decide(prompt, 0, local=GEMMA, model_path=MODEL).target == "local"
