"""Settings → Server and Settings → Your servers, offscreen: the page's controls, the server
it starts (real uvicorn, real keyring), and a private server's models in the chat's picker
(llama-cpp-python's server with the real Gemma on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx  # what the SDKs here use
import pytest
from PySide6.QtGui import QGuiApplication
from support.llama_server import ALIAS, LlamaServer, running_llama_server
from support.window import close_window, gemma_settings, open_window

from assistant.engines.private import PrivateServer
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.server.host import ServerHost, ServerState
from assistant.ui.settings.dialog import SettingsDialog
from assistant.ui.settings.private_servers_page import PrivateServersPage
from assistant.ui.settings.server_page import ServerSettingsPage


@pytest.fixture(scope="module")
def llama(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    tmp = tmp_path_factory.mktemp("private_llama")
    with running_llama_server(gemma_path, tmp, None, home=tmp / "home") as server:
        yield server


def _dialog(qtbot, settings: Settings, state: ServerState):  # type: ignore[no-untyped-def]
    dlg = SettingsDialog(settings, get_paths())
    page = ServerSettingsPage(state)
    dlg.add_tab(page, "Ser&ver", scrollable=True)
    servers = PrivateServersPage()
    dlg.add_tab(servers, "&Your servers", scrollable=True)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg, page, servers


def test_server_page_is_off_by_default_and_warns_for_the_local_network(qtbot, secret_service: None) -> None:  # type: ignore[no-untyped-def]
    dlg, page, _ = _dialog(qtbot, Settings(), ServerState(False))
    assert not page.enabled.isChecked() and page.port.value() == 8765 and not page.lan.isChecked()
    assert page.status.text() == "Off" and page.lan_warning.isHidden()
    page.lan.setChecked(True)
    assert not page.lan_warning.isHidden() and "anyone on it who has the token" in page.lan_warning.text()
    page.enabled.setChecked(True)
    page.port.setValue(9001)
    assert (page.parallel.value(), page.queue.value(), page.idle.value()) == (4, 16, 10)  # the defaults
    page.parallel.setValue(6)
    page.queue.setValue(0)
    page.idle.setValue(0)
    new = dlg.current_settings()
    assert new.server.enabled and new.server.port == 9001 and new.server.local_network
    assert (new.server.parallel, new.server.queue, new.server.idle_unload_minutes) == (6, 0, 0.0)
    # a token made with the copy button's text
    qtbot.mouseClick(page.renew_token, qtbot_left())
    qtbot.waitUntil(lambda: bool(page.token.text()), timeout=10_000)
    assert page.token.echoMode() == page.token.EchoMode.Password
    page.copy_token.click()
    assert QGuiApplication.clipboard().text() == page.token.text()


def qtbot_left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_the_host_starts_the_server_with_the_keyring_token(qtbot, secret_service: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host = ServerHost(tmp_path)
    states: list[ServerState] = []
    host.state_changed.connect(states.append)
    s = Settings()
    s.server.enabled, s.server.port = True, 0
    host.apply(s)
    qtbot.waitUntil(lambda: bool(states), timeout=20_000)
    assert states[-1].running, states[-1].text
    from assistant import keys
    from assistant.server.auth import KEY_ID

    token = keys.get_key(KEY_ID)
    r = httpx.get(f"{states[-1].url}/models", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["object"] == "list"
    assert httpx.get(f"{states[-1].url}/models").status_code == 401
    s.server.enabled = False
    host.apply(s)
    qtbot.waitUntil(lambda: not states[-1].running, timeout=20_000)
    assert states[-1].text == "Off"
    host.shutdown()


def test_adding_a_server_and_checking_its_health(qtbot, llama: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    dlg, _, page = _dialog(qtbot, Settings(), ServerState(False))
    page.name.setText("bad/name")
    page.url.setText("http://x")
    page.add_button.click()
    assert "must not" in page.message.text() and page.model.rowCount() == 0
    page.name.setText("gpu-box")
    page.url.setText(llama.base_url.removesuffix("/v1"))
    page.add_button.click()
    assert page.model.rowCount() == 1
    idx = page.model.index(0)
    qtbot.waitUntil(lambda: "answers" in page.model.data(idx, page.model.HealthRole), timeout=20_000)
    assert ALIAS in page.model.data(idx, page.model.HealthRole)
    new = dlg.current_settings()
    assert new.private_servers == [{"name": "gpu-box", "base_url": llama.base_url, "has_key": False}]


def test_picker_shows_a_private_servers_models_and_answers_with_one(qtbot, gemma_path: Path, llama: LlamaServer) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    settings = gemma_settings(gemma_path, private_servers=[
        PrivateServer("gpu-box", llama.base_url).as_dict(),
        PrivateServer("old-box", f"http://127.0.0.1:{dead}").as_dict(),
    ])
    w = open_window(qtbot, settings)
    try:
        assert w.session.loaded.model.format == "gguf"  # a server is never chosen unasked
        rows = {w.installed.data(w.installed.index(i)): w.installed.entry_at(i) for i in range(w.installed.rowCount())}
        assert f"gpu-box: {ALIAS}" in rows and rows[f"gpu-box: {ALIAS}"].can_run
        assert "old-box  (not reachable)" in rows and not rows["old-box  (not reachable)"].can_run
        entry = rows[f"gpu-box: {ALIAS}"]
        w.header._on_activated(w.installed.row_of_path(str(entry.ref.path)))
        qtbot.waitUntil(lambda: w.session.loaded is not None and w.session.loaded.model.format == "remote", timeout=90_000)
        assert w.header.status.text().startswith("gpu-box (127.0.0.1:")
        before = llama.chat_requests()
        w.session.send("Hello there")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=120_000)
        last = w.session.messages.messages()[-1]
        assert last.status == "complete" and last.content.strip() and last.engine == "private"
        assert last.origin == "local" and last.cost_usd is None and w.cloud.consent_dialog is None
        assert llama.chat_requests() == before + 1
    finally:
        close_window(w)


def test_offline_mode_keeps_the_server_on_this_computer(qtbot, secret_service: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host = ServerHost(tmp_path)
    states: list[ServerState] = []
    host.state_changed.connect(states.append)
    s = Settings(offline_mode=True)
    s.server.enabled, s.server.port, s.server.local_network = True, 0, True
    host.apply(s)
    qtbot.waitUntil(lambda: bool(states), timeout=20_000)
    assert states[-1].running, states[-1].text
    assert host._server is not None and host._server.config.host == "127.0.0.1"  # not 0.0.0.0
    host.shutdown()
