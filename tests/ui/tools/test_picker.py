"""The chat's Tools dialog, offscreen, over the real SDK test server (tests/support/mcp_server.py)
started as a process of its own: its tools listed off the GUI thread, switched on and off
per chat, a server that fails said in words, an HTTP server blocked in Offline mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from assistant import network
from assistant.settings import AllowedTool, Settings
from assistant.tools.registry import EnabledTools, ToolInfo
from assistant.ui.tools.host import FAILED, OFFLINE, READY, ToolsHost
from assistant.ui.tools.picker import BUILTIN, DOCUMENTS_TOOL, ToolsDialog, ToolsModel

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_server.py")


def _write(path: Path, servers: dict) -> Path:  # type: ignore[type-arg]
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


@pytest.fixture
def host(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "mcp.json", {
        "tests": {"command": sys.executable, "args": [SERVER]},
        "ghost": {"command": "no-such-mcp-command"},
        "remote": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer abcdef123456abcdef"}},
    })
    settings = Settings()
    settings.tools.always_allowed = [AllowedTool(server="tests", tool="add")]
    h = ToolsHost(settings, path=path)
    yield h
    h.close()


def _rows(model: ToolsModel, parent=None) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QModelIndex
    parent = parent or QModelIndex()
    return {model.index(r, 0, parent).data(): model.index(r, 0, parent) for r in range(model.rowCount(parent))}


def test_the_picker_lists_real_tools_and_switches_them_for_the_chat(qtbot, host: ToolsHost) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)
    saved: list[EnabledTools] = []
    dlg = ToolsDialog(host, EnabledTools(), ["Lease"])
    qtbot.addWidget(dlg)
    dlg.tools_chosen.connect(saved.append)
    dlg.show()
    assert host.state("remote").state == OFFLINE
    qtbot.waitUntil(lambda: host.state("tests").state == READY and host.state("ghost").state == FAILED, timeout=15_000)
    model = dlg.model
    top = _rows(model)
    assert list(top) == ["tests", "ghost", "remote", DOCUMENTS_TOOL]
    tools = _rows(model, top["tests"])
    assert {"echo", "sleep", "big", "crash", "picture", "connect", "add  (always allowed)"} <= set(tools)
    add = tools["add  (always allowed)"]
    assert add.data(ToolsModel.AlwaysAllowedRole) is True and add.data(ToolsModel.ToolRole) == "add"
    echo = tools["echo"]
    assert echo.siblingAtColumn(1).data() == "Return the text unchanged."
    assert echo.data(ToolsModel.DescriptionRole) == "Return the text unchanged."
    assert model.index(0, 1).data().startswith("ready, ") and top["tests"].data(ToolsModel.StateRole).startswith("ready")
    assert "'no-such-mcp-command' was not found" in dlg.problems.text()
    assert "remote: blocked: Offline mode is on" in dlg.problems.text()
    assert "abcdef123456" not in dlg.problems.text()
    builtin = top[DOCUMENTS_TOOL]
    assert builtin.data(ToolsModel.KindRole) == BUILTIN and builtin.data(ToolsModel.OnRole)
    assert not (model.flags(builtin) & Qt.ItemFlag.ItemIsUserCheckable)

    # a single tool on: the server partly checked
    assert model.setData(echo, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert top["tests"].data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.PartiallyChecked.value
    assert echo.data(ToolsModel.OnRole) and not tools["big"].data(ToolsModel.OnRole)
    # the whole server on, then one tool off: it stays off, the server partly checked
    model.setData(top["tests"], Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert all(i.data(ToolsModel.OnRole) for i in _rows(model, top["tests"]).values())
    assert top["tests"].data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked.value
    model.setData(tools["crash"], Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert top["tests"].data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.PartiallyChecked.value

    # a server that failed can be switched on as a whole (its tools come when it starts), and off
    model.setData(top["ghost"], Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert "ghost" in model.enabled.servers and top["ghost"].data(ToolsModel.OnRole)
    model.setData(top["ghost"], Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert "ghost" not in model.enabled.servers and not top["ghost"].data(ToolsModel.OnRole)

    # the keyboard: Space on the selected row switches it
    dlg.tree.setFocus()
    dlg.tree.setCurrentIndex(tools["big"])
    qtbot.keyClick(dlg.tree, Qt.Key.Key_Space)
    assert not model.enabled.is_on(ToolInfo("tests", "big"))

    qtbot.mouseClick(dlg.buttons.button(dlg.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert len(saved) == 1
    chosen = saved[0]
    assert chosen.servers == {"tests"} and chosen.off == {("tests", "crash"), ("tests", "big")}
    on = [t.name for t in host.mcp.registry.tools() if chosen.is_on(t)]
    assert "echo" in on and "crash" not in on and "big" not in on
    assert EnabledTools.from_json(chosen.to_json()) == chosen
