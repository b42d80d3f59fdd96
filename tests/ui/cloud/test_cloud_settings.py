"""Settings → Cloud: the key into the real Secret Service, checked against the real
llama_cpp.server, the model list fetched off the GUI thread, the routing settings saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.llama_server import ALIAS, LlamaServer, running_llama_server

from assistant import keys, network
from assistant.chat.cloud_route import key_id
from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import CloudSettings, Settings
from assistant.ui.cloud.settings_page import CloudSettingsPage
from assistant.ui.cloud.worker import CloudHost
from assistant.ui.settings.dialog import SettingsDialog

KEY = "sk-local-settings-1a2b3c4d5e6f7a8b9c0d"


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("llama_server")
    with running_llama_server(gemma_path, tmp, KEY, home=tmp / "home") as srv:
        yield srv


@pytest.fixture
def page(qtbot, secret_service: None):  # type: ignore[no-untyped-def]
    network.set_offline(False)
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    host = CloudHost(store)
    dlg = SettingsDialog(Settings(), paths)
    qtbot.addWidget(dlg)
    p = CloudSettingsPage(host, store)
    dlg.add_tab(p, "&Cloud", scrollable=True)
    yield dlg, p
    host.shutdown()
    store.close()


def choose(p: CloudSettingsPage, server: LlamaServer) -> None:
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("openai-compatible"))
    p.base_url_edit.setText(server.base_url)
    p.model_combo.setEditText(ALIAS)


def test_defaults_are_local_only(page) -> None:  # type: ignore[no-untyped-def]
    dlg, p = page
    assert p.provider_combo.currentData() == "" and p.mode_combo.currentData() == "local"
    assert not p.save_key_button.isEnabled() and not p.base_url_edit.isVisibleTo(p)
    assert p.key_edit.echoMode() == p.key_edit.EchoMode.Password
    assert p.spend_label.text().startswith("$0.0000")
    for w in (p.provider_combo, p.base_url_edit, p.model_combo, p.key_edit, p.save_key_button, p.test_key_button,
              p.delete_key_button, p.mode_combo, p.redact_check, p.limit_spin, p.models_button):
        assert w.accessibleName()


def test_save_test_list_delete_key(qtbot, page, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    dlg, p = page
    choose(p, server)
    assert p.base_url_edit.isVisibleTo(p)
    p.key_edit.setText(KEY + "\n")
    p.save_key_button.click()
    assert p.key_edit.text() == ""  # the field lets go of the key at once
    assert KEY not in p.key_edit.placeholderText()
    qtbot.waitUntil(lambda: p.save_key_button.isEnabled(), timeout=30_000)
    assert p.key_status.text() == "✓ Saved in the system keyring. The key works."
    assert keys.get_key(key_id(p.cloud_settings())) == KEY

    p.models_button.click()
    qtbot.waitUntil(lambda: p.models_button.isEnabled(), timeout=30_000)
    assert [p.model_combo.itemText(i) for i in range(p.model_combo.count())] == [ALIAS]

    p.key_edit.setText("sk-wrong-key-0000000000000000")
    p.save_key_button.click()
    qtbot.waitUntil(lambda: p.save_key_button.isEnabled(), timeout=30_000)
    assert p.key_status.text().startswith("⚠ The OpenAI-compatible API key was refused (401).")
    assert "sk-wrong" not in p.key_status.text()

    p.delete_key_button.click()
    qtbot.waitUntil(lambda: p.delete_key_button.isEnabled(), timeout=30_000)
    assert "deleted" in p.key_status.text()
    assert keys.get_key(key_id(p.cloud_settings())) is None


def test_routing_limit_and_redaction_reach_the_settings(qtbot, page, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    dlg, p = page
    got: list[Settings] = []
    dlg.settings_changed.connect(got.append)
    choose(p, server)
    p.mode_combo.setCurrentIndex(p.mode_combo.findData("ask"))
    assert "asked first" in p.mode_help.text()
    p.redact_check.setChecked(False)
    p.limit_spin.setValue(5)
    assert dlg.apply_button.isEnabled()
    dlg.apply_button.click()
    assert got[-1].cloud == CloudSettings("openai-compatible", ALIAS, server.base_url, "ask", False, 5.0)
    assert KEY not in repr(got[-1])


def test_offline_key_check_is_refused_in_plain_words(qtbot, page, server: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    dlg, p = page
    choose(p, server)
    network.set_offline(True)
    try:
        p.test_key_button.click()
        qtbot.waitUntil(lambda: p.test_key_button.isEnabled(), timeout=30_000)
    finally:
        network.set_offline(False)
    assert "Offline mode is on" in p.key_status.text()


def test_each_provider_keeps_its_own_address_and_test_key_tests_the_typed_key(qtbot, page) -> None:  # type: ignore[no-untyped-def]
    from support.anthropic_server import AnthropicServer

    from assistant.chat.cloud_route import provider_base_url
    from assistant.chat.dispatch import cloud_engine

    dlg, p = page
    claude_key = "sk-ant-settings-11aa22bb33cc44dd55ee"
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("openai-compatible"))
    p.base_url_edit.setText("http://127.0.0.1:8080/v1")
    p.model_combo.setEditText("/models/very/long/path/of/a-local-model-Q4_K_M.gguf")
    # Anthropic: its own (empty) address field, shown for gateways; Anthropic's endpoint by default
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("anthropic"))
    assert p.base_url_edit.isVisibleTo(p) and p.base_url_edit.text() == "" and p.model_combo.currentText() == ""
    assert "api.anthropic.com" in p.base_url_edit.placeholderText()
    p.model_combo.setEditText("claude-test-1")
    cloud = p.cloud_settings()
    assert provider_base_url(cloud) == "" and cloud.base_url == "http://127.0.0.1:8080/v1"
    assert cloud_engine(cloud, "k").base_url == "https://api.anthropic.com"  # not the other provider's server
    with AnthropicServer(claude_key) as claude:
        p.base_url_edit.setText(claude.base_url)  # a gateway
        assert cloud_engine(p.cloud_settings(), "k").base_url == claude.base_url
        for typed, expected in (("sk-ant-wrong-000000000000000000", "⚠"), (claude_key, "✓ The key you typed works")):
            p.key_edit.setText(typed)  # typed, not saved: no key is in the keyring
            p.test_key_button.click()
            qtbot.waitUntil(lambda: p.test_key_button.isEnabled(), timeout=30_000)
            assert p.key_status.text().startswith(expected), p.key_status.text()
        assert claude.requests and all(path == "/v1/models" for _m, path in claude.requests)  # never /v1/v1
    # back to the OpenAI-compatible server: its own address and model are still there
    p.provider_combo.setCurrentIndex(p.provider_combo.findData("openai-compatible"))
    assert p.base_url_edit.text() == "http://127.0.0.1:8080/v1"
    assert p.model_combo.currentText().endswith("a-local-model-Q4_K_M.gguf")
    saved = p.cloud_settings()
    assert saved.base_urls == {"anthropic": claude.base_url} and saved.models == {"anthropic": "claude-test-1"}
