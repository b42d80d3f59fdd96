"""Asking before a call, in the window: the loop's worker thread asks through GuiApprover, the
dialog shows the tool, its server and the exact arguments, and the answer goes back to the
worker; calls of the real SDK test server run (or not) accordingly, "always" is saved, Stop
withdraws the question."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from assistant.core.types import ToolCall
from assistant.settings import Settings
from assistant.tools.approval import ApprovalPolicy, ApprovalRequest, Decision
from assistant.tools.manager import CallOutcome, McpTools
from assistant.tools.mcp_config import McpConfig, ServerConfig
from assistant.ui.tools.approval_dialog import ApprovalDialog, GuiApprover

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_server.py")
LEFT = Qt.MouseButton.LeftButton


def _in_thread(fn):  # type: ignore[no-untyped-def]
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    return t, box


def test_calls_are_asked_on_the_gui_thread_and_answered_to_the_worker(qtbot) -> None:  # type: ignore[no-untyped-def]
    saved: list[int] = []
    settings = Settings()
    config = McpConfig({"tests": ServerConfig("tests", command=sys.executable, args=[SERVER])})
    mcp = McpTools(config, ApprovalPolicy(settings, lambda: saved.append(1)), settings.tools)
    parent = QWidget()
    qtbot.addWidget(parent)
    approver = GuiApprover(parent)
    shown: list[ApprovalDialog] = []
    approver.dialog_opened.connect(shown.append)
    try:
        mcp.refresh()
        t, out = _in_thread(lambda: mcp.run(ToolCall("tests__echo", '{"text": "hello <b>"}'), approver))
        qtbot.waitUntil(lambda: bool(shown), timeout=5000)
        dlg = shown[0]
        assert dlg.isVisible() and "echo" in dlg.question.text() and "tests" in dlg.question.text()
        assert dlg.arguments.toPlainText() == '{\n  "text": "hello <b>"\n}'
        assert dlg.description.text() == "Return the text unchanged."
        assert dlg.focusWidget() is dlg.deny_button  # a stray Enter never allows
        qtbot.mouseClick(dlg.always_button, LEFT)
        t.join(15)
        outcome = out[0]
        assert isinstance(outcome, CallOutcome) and (outcome.status, outcome.text) == ("ok", "hello <b>")
        assert settings.tools.always_allowed == [{"server": "tests", "tool": "echo"}] and saved

        # always allowed now: no dialog
        t, out = _in_thread(lambda: mcp.run(ToolCall("tests__echo", '{"text": "again"}'), approver))
        t.join(15)
        assert out[0].text == "again" and len(shown) == 1  # type: ignore[attr-defined]

        # Escape denies: the model reads that the user declined
        t, out = _in_thread(lambda: mcp.run(ToolCall("tests__add", '{"a": 1, "b": 2}'), approver))
        qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)
        qtbot.keyClick(shown[1], Qt.Key.Key_Escape)
        t.join(15)
        assert out[0].status == "declined" and out[0].text.startswith("The user declined this call of add")  # type: ignore[attr-defined]
    finally:
        mcp.close()


def test_stop_withdraws_the_question(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    cancel = threading.Event()
    approver = GuiApprover(parent, cancel)
    shown: list[ApprovalDialog] = []
    approver.dialog_opened.connect(shown.append)
    t, out = _in_thread(lambda: approver(ApprovalRequest("files", "delete", {"path": "/"})))
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    cancel.set()
    t.join(5)
    assert out == [Decision.DENY]
    import shiboken6

    qtbot.waitUntil(lambda: not shiboken6.isValid(shown[0]) or not shown[0].isVisible(), timeout=5000)  # closed


def test_once_allows_and_the_gui_thread_may_not_wait(qtbot) -> None:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    approver = GuiApprover(parent)
    shown: list[ApprovalDialog] = []
    approver.dialog_opened.connect(shown.append)
    t, out = _in_thread(lambda: approver(ApprovalRequest("files", "read", {"path": "a.txt"})))
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    qtbot.mouseClick(shown[0].once_button, LEFT)
    t.join(5)
    assert out == [Decision.ALLOW_ONCE]
    # Enter denies (the button box would make "Allow once" the default)
    t, out = _in_thread(lambda: approver(ApprovalRequest("files", "write", {"path": "a.txt"})))
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5000)
    shown[1].activateWindow()
    qtbot.keyClick(shown[1], Qt.Key.Key_Return)
    t.join(5)
    assert out == [Decision.DENY]
    try:
        approver(ApprovalRequest("files", "read", {}))
    except RuntimeError as exc:
        assert "worker thread" in str(exc)
    else:
        raise AssertionError("the GUI thread waited on itself")
