"""Asking before a tool call, in the window: the tool, its server and the exact arguments,
with Allow once / Always allow this tool / Deny (Escape and closing the dialog deny).

The tool loop runs on a worker thread and asks through an `Approver` (tools/approval.py),
a plain call that returns a Decision. `GuiApprover` is that call for the window: made on
the GUI thread, called on the worker, it shows an `ApprovalDialog` (window-modal, no
nested event loop) and waits for the answer; Stop (its `cancel` event) withdraws the
question and answers Deny.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QSize, Qt, QThread, Signal
from PySide6.QtGui import QCloseEvent, QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from assistant.tools.approval import ApprovalRequest, Decision
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.window_size import fit_to_screen

_POLL_S = 0.05


class ApprovalDialog(QDialog):
    decided = Signal(object)  # Decision, once

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Allow this tool call?")
        self.request = request
        self._sent = False
        layout = QVBoxLayout(self)
        self.question = QLabel(f"The model wants to call <b>{_html(request.tool)}</b> "
                               f"of the MCP server <b>{_html(request.server)}</b>.")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.question)
        self.description = QLabel(request.description.strip())
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setVisible(bool(request.description.strip()))
        layout.addWidget(self.description)
        label = QLabel("With these &arguments (exactly as it will get them):")
        layout.addWidget(label)
        self.arguments = QPlainTextEdit(request.arguments_text)
        self.arguments.setReadOnly(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(self.font().pointSizeF())  # the app's size (14 pt when the user chose it)
        self.arguments.setFont(mono)
        self.arguments.setAccessibleName("Arguments of the call")
        self.arguments.setTabChangesFocus(True)
        self.arguments.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        label.setBuddy(self.arguments)
        layout.addWidget(self.arguments, 1)
        self.buttons = QDialogButtonBox()
        self.once_button = dialog_button("Allow &once", "Allow this call once")
        self.always_button = dialog_button("Al&ways allow this tool", "Always allow this tool")
        self.always_button.setToolTip("Its calls run without asking from now on; Settings → Tools can revoke this")
        self.deny_button = dialog_button("&Deny", "Deny this call")
        self.deny_button.setToolTip("The model is told that you declined the call")
        self.buttons.addButton(self.once_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.always_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.deny_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.once_button.clicked.connect(lambda: self._decide(Decision.ALLOW_ONCE))
        self.always_button.clicked.connect(lambda: self._decide(Decision.ALWAYS))
        self.deny_button.clicked.connect(lambda: self._decide(Decision.DENY))
        layout.addWidget(self.buttons)
        # the button box would make "Allow once" (its first accept button) the default: Enter
        # must never allow a call, so Deny is the default and has the focus
        self.deny_button.setDefault(True)
        self.deny_button.setFocus()
        fm = self.fontMetrics()
        fit_to_screen(self, QSize(fm.averageCharWidth() * 72, fm.lineSpacing() * 20))

    def _decide(self, decision: Decision) -> None:
        if not self._sent:
            self._sent = True
            self.decided.emit(decision)
        if decision is Decision.DENY:
            self.reject()
        else:
            self.accept()

    def reject(self) -> None:  # Escape
        if not self._sent:
            self._sent = True
            self.decided.emit(Decision.DENY)
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.reject()
        super().closeEvent(event)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(eq=False)
class _Question:
    request: ApprovalRequest
    answered: threading.Event = field(default_factory=threading.Event)
    decision: Decision = Decision.DENY


class GuiApprover(QObject):
    """An Approver for the tool loop's worker thread that asks in a dialog on the GUI
    thread. Make it on the GUI thread; call it from any other thread."""

    _asked = Signal(object)  # _Question, queued to the GUI thread
    _withdrawn = Signal(object)
    dialog_opened = Signal(object)  # ApprovalDialog (the window may raise itself, tests press its buttons)

    def __init__(self, parent_widget: QWidget | None, cancel: threading.Event | None = None) -> None:
        super().__init__(parent_widget)
        self._parent = parent_widget
        self.cancel = cancel
        self._dialogs: dict[_Question, ApprovalDialog] = {}
        self._asked.connect(self._on_asked, Qt.ConnectionType.QueuedConnection)
        self._withdrawn.connect(self._on_withdrawn, Qt.ConnectionType.QueuedConnection)

    def __call__(self, request: ApprovalRequest) -> Decision:
        if QThread.currentThread() is self.thread():  # waiting here would freeze the window for good
            raise RuntimeError("GuiApprover is called from the tool loop's worker thread, not the GUI thread")
        question = _Question(request)
        self._asked.emit(question)
        while not question.answered.wait(_POLL_S):
            if self.cancel is not None and self.cancel.is_set():  # Stop: no answer, no call
                self._withdrawn.emit(question)
                return Decision.DENY
        return question.decision

    def _on_asked(self, question: _Question) -> None:
        if self.cancel is not None and self.cancel.is_set():
            question.answered.set()
            return
        dialog = ApprovalDialog(question.request, self._parent)
        self._dialogs[question] = dialog

        def answered(decision: Decision) -> None:
            question.decision = decision
            question.answered.set()

        dialog.decided.connect(answered)
        dialog.finished.connect(lambda _r: self._dialogs.pop(question, None))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.dialog_opened.emit(dialog)

    def _on_withdrawn(self, question: _Question) -> None:
        dialog = self._dialogs.pop(question, None)
        if dialog is not None:
            dialog.reject()
