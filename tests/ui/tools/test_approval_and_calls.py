"""Asking before a tool call (the dialog, and the asker the worker thread calls) and the
collapsed block of an answer's calls."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from assistant.core.types import ToolCall
from assistant.tools.approval import ApprovalRequest, Decision
from assistant.tools.loop import DENIED, DONE, SKIPPED, ToolRecord
from assistant.ui.tools.approval_dialog import ApprovalDialog, GuiApprover
from assistant.ui.tools.calls_block import RESULT_CHARS, ToolCallsBlock

REQ = ApprovalRequest("files", "write_file", {"path": "/tmp/x.txt", "text": "héllo"}, "Write a file.")


def test_the_dialog_shows_the_exact_call_and_enter_denies(qtbot: QtBot) -> None:
    d = ApprovalDialog(REQ)
    qtbot.addWidget(d)
    d.show()
    assert "write_file" in d.question.text() and "files" in d.question.text() and d.about.text() == "Write a file."
    assert d.arguments.toPlainText() == '{\n  "path": "/tmp/x.txt",\n  "text": "héllo"\n}'
    assert d.deny.isDefault() and not d.once.isDefault()
    qtbot.keyClick(d, Qt.Key.Key_Return)
    assert d.decision is Decision.DENY and not d.isVisible()
    d2 = ApprovalDialog(REQ)
    qtbot.addWidget(d2)
    d2.show()
    qtbot.mouseClick(d2.always, Qt.MouseButton.LeftButton)
    assert d2.decision is Decision.ALWAYS


def _ask_on_a_thread(approver: GuiApprover) -> tuple[threading.Thread, list[Decision]]:
    out: list[Decision] = []
    t = threading.Thread(target=lambda: out.append(approver(REQ)))
    t.start()
    return t, out


def test_the_worker_threads_question_is_answered_on_the_gui_thread(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    approver = GuiApprover(parent, threading.Event())
    t, out = _ask_on_a_thread(approver)
    qtbot.waitUntil(lambda: approver.dialog is not None and approver.dialog.isVisible(), timeout=3000)
    assert approver.dialog is not None
    qtbot.mouseClick(approver.dialog.once, Qt.MouseButton.LeftButton)
    t.join(3)
    assert out == [Decision.ALLOW_ONCE]


def test_stop_while_asking_denies_at_once_and_closes_the_dialog(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    cancel = threading.Event()
    approver = GuiApprover(parent, cancel)
    t, out = _ask_on_a_thread(approver)
    qtbot.waitUntil(lambda: approver.dialog is not None and approver.dialog.isVisible(), timeout=3000)
    cancel.set()
    t.join(3)
    assert out == [Decision.DENY]
    qtbot.waitUntil(lambda: approver.dialog is not None and not approver.dialog.isVisible(), timeout=3000)


def test_the_calls_block_is_one_line_until_opened(qtbot: QtBot) -> None:
    block = ToolCallsBlock()
    qtbot.addWidget(block)
    block.show()
    records = [ToolRecord(ToolCall("add", '{"a": 2, "b": 3}', "c1"), "calc", DONE, "5", 0.25),
               ToolRecord(ToolCall("write_file", '{"path": "x"}', "c2"), "files", DENIED, "declined"),
               ToolRecord(ToolCall("add", "{}", "c3"), "calc", SKIPPED, "not run"),
               ToolRecord(ToolCall("search_documents", '{"query": "q"}', "c4"), "", DONE, "x" * (RESULT_CHARS + 50))]
    block.set_records([r.to_dict() for r in records])
    assert block.isVisible() and not block.body.isVisible()
    assert block.toggle.text() == "Used 4 tools: add, write_file, search_documents (2 not run or failed)"
    qtbot.mouseClick(block.toggle, Qt.MouseButton.LeftButton)
    text = block.body.text()
    assert block.body.isVisible() and "add (MCP server calc) — 0.2 s" in text and '"a": 2' in text
    assert "write_file (MCP server files) — declined" in text and "not run (round limit)" in text
    assert "search_documents (built into the app)" in text and "… (50 more characters)" in text
    block.set_records([])
    assert not block.isVisible()


def test_the_cloud_consent_shows_the_tool_results_that_would_be_sent(qtbot: QtBot) -> None:
    from assistant.core.types import Message
    from assistant.ui.cloud.consent_dialog import ConsentDialog

    call = ToolCall("read_file", '{"path": "notes.txt"}', "c1")
    msgs = [Message("user", "Summarise my notes"), Message("assistant", "", tool_calls=[call]),
            Message("tool", "SECRET-PLAN-42: buy a boat", tool_call_id="c1", name="read_file"), Message("user", "Now shorter")]
    d = ConsentDialog("Send to the cloud?", "It is hard.", msgs, redacted=False)
    qtbot.addWidget(d)
    shown = d.preview.toPlainText()
    assert "── Tool result (read_file) ──\nSECRET-PLAN-42: buy a boat" in shown
    assert '[calls read_file with {"path": "notes.txt"}]' in shown
