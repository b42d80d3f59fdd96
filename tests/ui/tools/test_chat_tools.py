"""Tools through the window (pytest-qt, offscreen), with the real Gemma model and the real
MCP server of tests/support/mcp_server.py: the chat's tools are chosen and kept with it, a
forced call is asked in the dialog, allowed, run by the server, and shown under its answer;
a denied call is not run; Stop while asking withdraws the question."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from support.window import close_window, gemma_settings, open_window

from assistant.paths import get_paths
from assistant.tools.loop import DENIED, DONE, ToolRecord
from assistant.tools.registry import EnabledTools

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_server.py")
ANSWER_TIMEOUT = 90_000


def _config() -> None:
    folder = get_paths().config_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": {"calc": {"command": sys.executable, "args": [SERVER]}}}))


def _window(qtbot, gemma_path: Path):  # type: ignore[no-untyped-def]
    _config()
    settings = gemma_settings(gemma_path, max_tokens=60)
    settings.tools.max_rounds = 1  # a base model shown a call tends to call again: one round is enough here
    w = open_window(qtbot, settings)
    w.tools.host.reload_config()
    return w


def _ask_and_answer(qtbot, w, decide) -> list[dict]:  # type: ignore[no-untyped-def]
    dialogs = []
    w.chat_tools.tool_choice = "calc__add"  # a forced call: a 270M base model calls only under the grammar
    w.prompt.setPlainText("What is 2 + 3?")
    w.prompt.submit()
    qtbot.waitUntil(lambda: w.session.busy, timeout=5_000)
    approver_seen = []

    def on_dialog(d):  # type: ignore[no-untyped-def]
        dialogs.append(d)
        approver_seen.append(d.request)
        decide(d)

    # the approver is made per answer: catch its dialogs through the window's children
    def find() -> bool:
        from assistant.ui.tools.approval_dialog import ApprovalDialog

        for d in w.findChildren(ApprovalDialog):
            if d.isVisible() and d not in dialogs:
                on_dialog(d)
                return True
        return False

    qtbot.waitUntil(find, timeout=ANSWER_TIMEOUT)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=ANSWER_TIMEOUT)
    rows = w.store.messages(w.session.conversation_id)
    assert approver_seen and approver_seen[0].server == "calc" and approver_seen[0].tool == "add"
    return [d for r in rows if r.role == "assistant" for d in w.store.tools(r.id)]


def test_a_chats_tools_a_forced_call_allowed_and_shown(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, gemma_path)
    try:
        b = w.chat_tools
        assert b.button.text() == "Tools" and "Ctrl+Shift+T" in b.button.toolTip()
        b._save(EnabledTools(servers={"calc"}))  # what the picker's OK does (its own tests press it)
        assert b.button.text() == "Tools (1)"
        data = _ask_and_answer(qtbot, w, lambda d: qtbot.mouseClick(d.once_button, Qt.MouseButton.LeftButton))
        cid = w.session.conversation_id
        assert EnabledTools.from_json(w.store.enabled_tools(cid)).servers == {"calc"}  # kept with the saved chat
        record = ToolRecord.from_dict(data[0])
        args = json.loads(record.call.arguments)
        assert record.status == DONE and record.server == "calc" and record.result == str(args["a"] + args["b"])
        first = w.chat.widget_at(1)  # user, the answer that called, (the next answer)
        assert first.tool_calls is not None and first.tool_calls.isVisible()
        assert first.tool_calls.toggle.text() == "Used 1 tool: add" and not first.body.isVisible()
        qtbot.mouseClick(first.tool_calls.toggle, Qt.MouseButton.LeftButton)
        assert f"Result:\n{record.result}" in first.tool_calls.body.text()
    finally:
        close_window(w)


def test_a_denied_call_is_not_run(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, gemma_path)
    try:
        w.chat_tools._save(EnabledTools(servers={"calc"}))
        data = _ask_and_answer(qtbot, w, lambda d: qtbot.keyClick(d, Qt.Key.Key_Escape))
        record = ToolRecord.from_dict(data[0])
        assert record.status == DENIED and "declined" in record.result
    finally:
        close_window(w)
