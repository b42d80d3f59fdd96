"""The collapsed block of an answer's calls, and the cloud consent showing tool results
(the approval dialog's tests are in test_approval_dialog.py)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from assistant.core.types import ToolCall
from assistant.tools.loop import DENIED, DONE, SKIPPED, ToolRecord
from assistant.ui.tools.calls_block import RESULT_CHARS, ToolCallsBlock


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
