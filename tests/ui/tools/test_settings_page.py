"""Settings → Tools, offscreen: the servers of a real mcp.json with their secrets masked,
add / remove / import / no network written to the file and read again by the host, a
revoke saved through the approval policy, the limits applied on OK."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl

from assistant.paths import get_paths
from assistant.settings import AllowedTool, Settings
from assistant.tools.mcp_config import ImportSource, load_config
from assistant.tools.mcp_sandbox import sandbox_available
from assistant.tools.registry import EnabledTools
from assistant.ui.settings.dialog import SettingsDialog
from assistant.ui.tools.controls import ToolsControls
from assistant.ui.tools.host import ToolsHost
from assistant.ui.tools.models import McpServersModel
from assistant.ui.tools.settings_page import ToolsSettingsPage

LEFT = Qt.MouseButton.LeftButton
API_KEY = "sk-abcdef1234567890XYZ"
GH_TOKEN = "ghp_Zq8v1Kd7Yw3Lm5Np0Rs2Tt"
BEARER = "bearer-secret-0123456789"
SHORT = "hunter2pass"  # after a secret flag: not like a token by itself


@pytest.fixture
def mcp_json(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "mcp.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "server-files", "--password", SHORT, f"--token={SHORT}",
                                                    API_KEY, f"--gh={GH_TOKEN}"],
                  "env": {"GITHUB_TOKEN": GH_TOKEN}},
        "remote": {"url": f"https://mcp.example.com/mcp?key={API_KEY}", "headers": {"Authorization": f"Bearer {BEARER}"}},
    }, "otherKey": 1}), encoding="utf-8")
    return path


@pytest.fixture
def saved() -> list[int]:
    return []


@pytest.fixture
def host(mcp_json: Path, saved: list[int]):  # type: ignore[no-untyped-def]
    settings = Settings()
    settings.tools.always_allowed = [AllowedTool(server="files", tool="read"), AllowedTool(server="remote", tool="search")]
    h = ToolsHost(settings, lambda: saved.append(1), mcp_json)
    yield h
    h.close()


def _page(qtbot, host: ToolsHost, **kw) -> ToolsSettingsPage:  # type: ignore[no-untyped-def]
    page = ToolsSettingsPage(host, **kw)
    qtbot.addWidget(page)
    page.show()
    return page


def _texts(page: ToolsSettingsPage) -> list[str]:
    m = page.servers_model
    return [m.index(r).data() for r in range(m.rowCount())] + [m.index(r).data(Qt.ItemDataRole.ToolTipRole) for r in range(m.rowCount())]


def test_servers_are_listed_with_every_secret_masked(qtbot, host: ToolsHost) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot, host)
    m = page.servers_model
    assert [m.index(r).data(McpServersModel.NameRole) for r in range(m.rowCount())] == ["files", "remote"]
    shown = "\n".join(_texts(page))
    for secret in (API_KEY, GH_TOKEN, BEARER, SHORT, API_KEY[4:]):
        assert secret not in shown
    files = m.index(0).data(McpServersModel.TargetRole)
    assert files == "npx -y server-files --password •••• --token=•••• sk-a•••• --gh=ghp_••••  (env: GITHUB_TOKEN=••••)"
    assert m.index(1).data(McpServersModel.TargetRole) == "https://mcp.example.com/mcp  (headers: Authorization: ••••)"
    assert m.index(1).data(McpServersModel.TransportRole) == "http"


def test_add_remove_and_the_file_read_again(qtbot, host: ToolsHost, mcp_json: Path) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot, host)
    changed: list[int] = []
    host.config_changed.connect(lambda: changed.append(1))
    qtbot.mouseClick(page.add_button, LEFT)
    dlg = page.add_dialog
    assert dlg is not None and dlg.isVisible()
    dlg.name.setText("files")  # taken
    dlg.command.setText(f"{sys.executable} -m 'my server'")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    assert dlg.isVisible() and "There is a server called 'files' already" in dlg.error.text()
    dlg.name.setText("local")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    assert not dlg.isVisible()
    on_disk = json.loads(mcp_json.read_text())
    assert on_disk["mcpServers"]["local"] == {"command": sys.executable, "args": ["-m", "my server"]}
    assert on_disk["otherKey"] == 1 and on_disk["mcpServers"]["files"]["env"] == {"GITHUB_TOKEN": GH_TOKEN}
    assert changed and "local" in host.mcp.servers and page.servers_model.row_of("local") == 2
    assert page._selected().name == "local" and page.note.text().startswith("Added local.")

    # an address that is not one: said in words, nothing written
    qtbot.mouseClick(page.add_button, LEFT)
    dlg = page.add_dialog
    dlg.name.setText("web")
    dlg.http.setChecked(True)
    assert not dlg.command.isEnabled() and dlg.url.isEnabled()
    dlg.url.setText("ftp://example.com")
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    assert "should start with http:// or https://" in dlg.error.text() and "web" not in load_config(mcp_json).servers
    dlg.url.setText("http://127.0.0.1:9/mcp")
    dlg.token.setText(BEARER)
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    assert load_config(mcp_json).servers["web"].headers == {"Authorization": f"Bearer {BEARER}"}
    assert BEARER not in "\n".join(_texts(page))

    page.servers.setCurrentIndex(page.servers_model.index(page.servers_model.row_of("files")))
    qtbot.mouseClick(page.remove_button, LEFT)
    assert list(load_config(mcp_json).servers) == ["remote", "local", "web"]
    assert "files" not in host.mcp.servers and page.servers_model.row_of("files") == -1


def test_import_from_another_app_merges_the_ticked_servers(qtbot, host: ToolsHost, mcp_json: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cursor = tmp_path / "cursor.json"
    cursor.write_text(json.dumps({"mcpServers": {
        "files": {"command": "uvx", "args": ["other-files"]},  # a different server of a taken name
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
        "skip": {"command": "uvx", "args": ["unwanted"]},
        "broken": {"args": []},
    }}), encoding="utf-8")
    source = ImportSource("Cursor", cursor)
    page = _page(qtbot, host, find_sources=lambda: [source], looked_at=lambda: [source])
    qtbot.mouseClick(page.import_button, LEFT)
    dlg = page.import_dialog
    assert dlg is not None and dlg.tree.isVisible()
    top = dlg.model.item(0)
    rows = {top.child(r).data(dlg.model.ServerRole): top.child(r) for r in range(top.rowCount())}
    assert "Left out: The MCP server \"broken\" was left out" in top.child(top.rowCount() - 1).text()
    rows["skip"].setCheckState(Qt.CheckState.Unchecked)
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    servers = load_config(mcp_json).servers
    assert list(servers) == ["files", "remote", "files-cursor", "time"]
    assert servers["files-cursor"].args == ("other-files",) and servers["files"].args[1] == "server-files"
    assert page.note.text() == "From Cursor: added time, files (as files-cursor)."
    assert "time" in host.mcp.servers


def test_import_says_where_it_looked_when_nothing_is_found(qtbot, host: ToolsHost, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    looked = [ImportSource("Claude Desktop", tmp_path / "nope.json")]
    page = _page(qtbot, host, find_sources=lambda: [], looked_at=lambda: looked)
    qtbot.mouseClick(page.import_button, LEFT)
    dlg = page.import_dialog
    assert not dlg.tree.isVisible() and not dlg.buttons.button(dlg.buttons.StandardButton.Ok).isEnabled()
    assert str(tmp_path / "nope.json") in dlg.intro.text()


def test_no_network_follows_what_the_system_allows(qtbot, host: ToolsHost, mcp_json: Path) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot, host)
    qtbot.waitUntil(lambda: page.sandbox is not None, timeout=15_000)
    possible, why = sandbox_available()
    page.servers.setCurrentIndex(page.servers_model.index(1))  # the HTTP server: never
    assert not page.no_network.isEnabled()
    page.servers.setCurrentIndex(page.servers_model.index(0))
    assert page.no_network.isEnabled() == possible
    if not possible:
        assert why in page.no_network.toolTip() and why in page.sandbox_note.text()
        return
    page.no_network.setChecked(True)
    assert load_config(mcp_json).servers["files"].no_network
    assert page.servers_model.index(0).data(McpServersModel.NoNetworkRole) is True
    page.no_network.setChecked(False)
    assert not load_config(mcp_json).servers["files"].no_network


def test_revoke_asks_again_and_is_saved(qtbot, host: ToolsHost, saved: list[int]) -> None:  # type: ignore[no-untyped-def]
    page = _page(qtbot, host)
    m = page.allowed_model
    assert [m.index(r).data() for r in range(m.rowCount())] == ["read (MCP server files)", "search (MCP server remote)"]
    assert not page.revoke_button.isEnabled()
    page.allowed.setCurrentIndex(m.index(1))
    qtbot.mouseClick(page.revoke_button, LEFT)
    assert host.policy.always_allowed() == [("files", "read")] and saved
    assert m.rowCount() == 1 and page.note.text() == "search (remote) will ask again before each call."


def test_limits_go_through_ok_into_the_live_settings(qtbot, host: ToolsHost, saved: list[int]) -> None:  # type: ignore[no-untyped-def]
    controls = ToolsControls(host.settings, lambda: saved.append(1), lambda: None, host.config_path)
    dlg = SettingsDialog(host.settings, get_paths())
    qtbot.addWidget(dlg)
    controls.add_settings_tab(dlg)
    page = controls.settings_page
    assert page is not None and dlg.tabs.tabText(dlg.tabs.count() - 1) == "&Tools"
    assert (page.rounds.value(), page.timeout.value(), page.result_kb.value()) == (8, 60, 1024)
    page.rounds.setValue(3)
    page.timeout.setValue(5)
    page.result_kb.setValue(16)
    assert dlg.apply_button.isEnabled()
    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), LEFT)
    t = controls.host.settings.tools
    assert (t.max_rounds, t.call_timeout_s, t.max_result_kb) == (3, 5.0, 16) and saved
    assert all(s.max_result_bytes == 16 * 1024 for s in controls.host.mcp.servers.values())
    assert controls.host.mcp.settings is t  # the McpTools reads the live limits
    controls.shutdown()


def test_open_mcp_json_makes_the_file_and_hands_it_over(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fresh" / "mcp.json"
    host = ToolsHost(Settings(), path=path)
    opened: list[QUrl] = []
    page = _page(qtbot, host, open_url=lambda u: opened.append(u) or True)
    assert "No servers yet" in page.note.text() and not page.remove_button.isEnabled()
    qtbot.mouseClick(page.open_button, LEFT)
    assert opened == [QUrl.fromLocalFile(str(path))] and json.loads(path.read_text()) == {"mcpServers": {}}


def test_a_broken_file_is_said_and_not_overwritten(qtbot, mcp_json: Path) -> None:  # type: ignore[no-untyped-def]
    mcp_json.write_text('{"mcpServers": {"a": {"command": "x"},}}', encoding="utf-8")
    host = ToolsHost(Settings(), path=mcp_json)
    page = _page(qtbot, host)
    assert "is not valid JSON" in page.note.text() and "line 1" in page.note.text()
    assert not page.add_button.isEnabled() and not page.import_button.isEnabled()
    assert page.open_button.isEnabled()


def _mnemonic(text: str) -> str:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else ""


def test_the_pickers_settings_link_saves_and_opens_the_tools_tab(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

    dialogs: list[SettingsDialog] = []
    saved: list[object] = []

    def open_settings() -> None:
        dlg = SettingsDialog(controls.host.settings, get_paths())
        qtbot.addWidget(dlg)
        dlg.add_tab(QWidget(), "&Cloud")
        controls.add_settings_tab(dlg)
        dlg.show()
        dialogs.append(dlg)

    controls = ToolsControls(Settings(), lambda: None, open_settings, tmp_path / "mcp.json")
    parent = QWidget()
    qtbot.addWidget(parent)
    picker = controls.open_picker(parent, EnabledTools(servers={"gone"}), [], saved.append)
    assert picker.empty_note.isVisible() and not picker.refresh_button.isEnabled()
    qtbot.mouseClick(picker.settings_button, LEFT)
    assert saved and saved[0].servers == {"gone"}  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: bool(dialogs))
    dlg = dialogs[0]
    assert dlg.tabs.tabText(dlg.tabs.currentIndex()) == "&Tools"
    # no mnemonic is used twice while the Tools tab shows
    texts = [dlg.tabs.tabText(i) for i in range(dlg.tabs.count())]
    texts += [w.text() for w in dlg.findChildren(QAbstractButton) + dlg.findChildren(QLabel) if w.isVisible()]
    keys = [m for m in map(_mnemonic, texts) if m]
    assert len(keys) == len(set(keys)), sorted(keys)
    controls.shutdown()
