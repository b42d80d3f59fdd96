"""The cloud in the window, end to end: the real CloudEngine (openai SDK) against the real
llama_cpp.server on 127.0.0.1, the key in a real Secret Service, the real local Gemma.

Consent (Send / Keep local / Never this chat), Ask <cloud>, Retry locally / with the
cloud, the monthly limit, Offline mode and a refused key, driven through the GUI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from support.llama_server import ALIAS, LlamaServer, running_llama_server

from assistant import keys, network
from assistant.chat.cloud_route import key_id
from assistant.chat.cost import write_user_copy
from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import CloudSettings, Settings
from assistant.ui.chat.models.messages import MessageListModel
from assistant.ui.main_window import MainWindow

KEY = "sk-local-consent-9d8c7b6a5f4e3d2c1b0a"
HARD = (
    "Prove that there are infinitely many primes, then write a Python function with unit tests "
    "that checks the proof step by step and analyse its complexity. Mail it to jane.doe@example.com."
)
TIMEOUT = 120_000


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("llama_server")
    with running_llama_server(gemma_path, tmp, KEY, home=tmp / "home") as srv:
        yield srv


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the window would show in a warning box (a modal box would block the test)."""
    seen: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: seen.append(text))
    return seen


@pytest.fixture
def window(qtbot, gemma_path: Path, server: LlamaServer, secret_service: None, errors: list[str]):  # type: ignore[no-untyped-def]
    s = Settings(extra_models=[str(gemma_path)], context_length=2048, n_threads=2)
    s.generation.max_tokens = 6
    s.generation.temperature = 0.0
    s.cloud = CloudSettings(provider="openai-compatible", model=ALIAS, base_url=server.base_url,
                            routing_mode="ask", redact=True)
    keys.set_key(key_id(s.cloud), KEY)
    paths = get_paths().ensure()
    w = MainWindow(paths, s, ChatStore.open(paths.history_db))
    qtbot.addWidget(w)
    w.resize(1100, 720)
    w.show()
    qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=TIMEOUT)
    yield w
    w.close()
    w.store.close()


def type_and_send(qtbot, w: MainWindow, text: str) -> None:  # type: ignore[no-untyped-def]
    w.prompt.setPlainText(text)
    w.prompt.submit()


def wait_idle(qtbot, w: MainWindow) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not w.session.busy and w.session._pending is None, timeout=TIMEOUT)


def last_answer(w: MainWindow):  # type: ignore[no-untyped-def]
    return w.store.messages(w.session.conversation_id)[-1]


def test_ask_me_shows_what_will_be_sent_and_send_goes_to_the_cloud(qtbot, window: MainWindow, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    assert window.cloud.ask_button.isVisible() and window.cloud.ask_button.text() == f"Ask {ALIAS}"
    type_and_send(qtbot, window, HARD)
    qtbot.waitUntil(lambda: window.cloud.consent_dialog is not None and window.cloud.consent_dialog.isVisible())
    dlg = window.cloud.consent_dialog
    assert dlg.question.text() == f"<b>This looks hard for {window.session.loaded.model.display_name}: send to OpenAI-compatible {ALIAS}?</b>"
    assert dlg.reason.text().startswith("This looks hard for")
    shown = dlg.preview.toPlainText()
    assert "jane.doe@example.com" not in shown and "[email]" in shown and "Prove that there are" in shown
    assert server.chat_requests() == before  # nothing left before consent
    dlg.send_button.click()
    wait_idle(qtbot, window)
    answer = last_answer(window)
    assert answer.origin == "cloud" and answer.provider == "openai-compatible" and answer.status == "complete"
    assert answer.content and server.chat_requests() == before + 1
    details = window.session.messages.index(window.session.messages.rowCount() - 1).data(MessageListModel.DetailsRole)
    assert details.startswith(f"Cloud · OpenAI-compatible {ALIAS}")
    # the user's message is stored as typed; only the outgoing copy was redacted
    assert window.store.messages(window.session.conversation_id)[-2].content == HARD
    widget = window.chat.widget_at(window.session.messages.rowCount() - 1)
    assert widget._retry_local.isVisible() and not widget._retry_cloud.isVisible()
    # Retry locally: the same prompt, answered by the local model
    widget._retry_local.click()
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "local"
    assert server.chat_requests() == before + 1
    widget = window.chat.widget_at(window.session.messages.rowCount() - 1)
    assert widget._retry_cloud.isVisible() and widget._retry_cloud.text() == f"Retry with OpenAI-compatible {ALIAS}"
    widget._retry_cloud.click()
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "cloud" and server.chat_requests() == before + 2


def test_keep_local_and_never_this_chat(qtbot, window: MainWindow, server: LlamaServer, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    before = server.chat_requests()
    type_and_send(qtbot, window, HARD)
    qtbot.waitUntil(lambda: window.cloud.consent_dialog is not None and window.cloud.consent_dialog.isVisible())
    window.cloud.consent_dialog.local_button.click()
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "local"
    type_and_send(qtbot, window, HARD)
    qtbot.waitUntil(lambda: window.cloud.consent_dialog.isVisible())
    dlg = window.cloud.consent_dialog
    dlg.never.setChecked(True)
    assert not dlg.send_button.isEnabled()
    dlg.local_button.click()
    wait_idle(qtbot, window)
    assert window.store.get_conversation(window.session.conversation_id).never_cloud
    assert window.cloud.never_action.isChecked()
    # marked chats: no more questions, and "Ask <cloud>" is refused in plain words
    type_and_send(qtbot, window, HARD)
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "local"
    window.prompt.setPlainText("hello")
    window.cloud.ask_button.click()
    assert errors and "Never send to the cloud" in errors[-1]
    assert server.chat_requests() == before


def test_monthly_limit_blocks_further_cloud_calls(qtbot, window: MainWindow, server: LlamaServer, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    prices = write_user_copy(window.paths.config_dir)
    data = json.loads(prices.read_text())
    data["models"]["openai-compatible"] = {ALIAS: {"input": 1000.0, "output": 1000.0}}
    prices.write_text(json.dumps(data))
    window.settings.cloud.monthly_limit_usd = 0.01
    window.cloud.refresh()
    window.prompt.setPlainText("Say hello.")
    window.cloud.ask_button.click()
    wait_idle(qtbot, window)
    answer = last_answer(window)
    assert answer.origin == "cloud" and answer.cost_usd and answer.cost_usd > 0.01
    assert "$" in window.cloud.spend_label.text()
    n = server.chat_requests()
    window.prompt.setPlainText("And again.")
    window.cloud.ask_button.click()
    assert errors and "cloud limit of $0.0100 is reached" in errors[-1]
    assert window.prompt.toPlainText() == "And again."  # the text is not lost
    # Ask me mode: a hard prompt is answered locally with a note, and no question is asked
    type_and_send(qtbot, window, HARD)
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "local" and server.chat_requests() == n


def test_offline_mode_blocks_the_cloud(qtbot, window: MainWindow, server: LlamaServer, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    n = server.chat_requests()
    network.set_offline(True)
    window.prompt.setPlainText("hello")
    window.cloud.ask_button.click()
    assert errors and "Offline mode is on" in errors[-1]
    assert server.chat_requests() == n


def test_wrong_key_is_said_plainly_and_retry_locally_is_offered(qtbot, window: MainWindow, server: LlamaServer, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    keys.set_key(key_id(window.settings.cloud), KEY + "-wrong")
    window.prompt.setPlainText("hello there")
    window.cloud.ask_button.click()
    wait_idle(qtbot, window)
    answer = last_answer(window)
    assert answer.origin == "cloud" and answer.status == "failed" and "refused (401)" in (answer.error or "")
    widget = window.chat.widget_at(window.session.messages.rowCount() - 1)
    # said once, in the chat (no popup on top of it)
    assert errors == [] and widget._error.isVisible() and "refused (401)" in widget._error.text()
    assert KEY not in widget._error.text()
    assert widget._retry_local.isVisible()
    widget._retry_local.click()
    wait_idle(qtbot, window)
    assert last_answer(window).origin == "local" and last_answer(window).status == "complete"
    # the failed cloud answer is kept as a version of it
    bar = window.chat.widget_at(window.session.messages.rowCount() - 1).versions
    assert bar.isVisible() and bar.label.text() == "2/2"


def test_preview_is_exactly_what_is_sent_and_always_means_automatic(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    from support.anthropic_server import AnthropicServer

    from assistant.chat.privacy import preview_text
    from assistant.core.types import Message
    from assistant.settings import load_settings

    claude_key = "sk-ant-consent-77aa66bb55cc44dd33ee"
    with AnthropicServer(claude_key) as claude:
        window.settings.cloud = CloudSettings(provider="anthropic", model="claude-test-1", base_urls={"anthropic": claude.base_url},
                                              routing_mode="ask", redact=True)
        keys.set_key(key_id(window.settings.cloud), claude_key)
        window.cloud.refresh()
        type_and_send(qtbot, window, HARD)
        qtbot.waitUntil(lambda: window.cloud.consent_dialog is not None and window.cloud.consent_dialog.isVisible())
        dlg = window.cloud.consent_dialog
        shown = dlg.preview.toPlainText()
        dlg.always.setChecked(True)
        dlg.send_button.click()
        wait_idle(qtbot, window)
        body = claude.last_body
        assert body is not None
        sent = [Message("system", body["system"])] + [Message(m["role"], m["content"]) for m in body["messages"]]
        assert preview_text(sent) == shown
        assert "[email]" in body["messages"][-1]["content"]
        # "Always send hard prompts": Automatic from now on, saved, no more questions
        assert window.settings.cloud.routing_mode == "auto"
        assert load_settings(window.paths.settings_file).settings.cloud.routing_mode == "auto"
        n = claude.count
        window.cloud.consent_dialog = None
        type_and_send(qtbot, window, HARD)
        wait_idle(qtbot, window)
        assert window.cloud.consent_dialog is None and claude.count == n + 1
        assert last_answer(window).provider == "anthropic"
