"""Asks before a tool call runs: the tool, its server, what it says it does, and the exact
arguments; allow once, always allow this tool (remembered, revocable in Settings → Tools),
or deny. Enter and Escape deny: a call never runs by accident.

`GuiApprover` is the asker the chat's worker thread calls (tools/approval.py's Approver):
it shows the dialog on the GUI thread and waits for the answer; Stop answers "deny" at once
and closes the dialog.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontDatabase, QKeySequence
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from assistant.tools.approval import ApprovalRequest, Decision
from assistant.ui.common.window_size import fit_to_screen

WAIT_STEP_S = 0.05


class ApprovalDialog(QDialog):
    decided = Signal(object)  # Decision

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Allow a tool call?")
        self.setAccessibleName("Allow a tool call?")
        self.request = request
        self.decision = Decision.DENY
        self.question = QLabel(f"The model wants to call <b>{_esc(request.tool)}</b> "
                               f"from the MCP server <b>{_esc(request.server)}</b>.")
        self.question.setWordWrap(True)
        self.about = QLabel(request.description.strip())
        self.about.setWordWrap(True)
        self.about.setAccessibleName("What the tool says it does")
        self.about.setVisible(bool(request.description.strip()))
        label = QLabel("With these arguments, exactly:")
        self.arguments = QPlainTextEdit(request.arguments_text)
        self.arguments.setReadOnly(True)
        self.arguments.setAccessibleName("The call's arguments")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.arguments.setFont(mono)
        self.arguments.setMinimumSize(300, 90)
        self.once = QPushButton("Allow &once")
        self.once.setAccessibleName("Allow this call once")
        self.always = QPushButton("&Always allow this tool")
        self.always.setAccessibleName(f"Always allow {request.tool} from {request.server}")
        self.always.setToolTip("Its calls run without asking from now on; revoke it in Settings → Tools.")
        self.deny = QPushButton("&Deny")
        self.deny.setAccessibleName("Deny: the model is told you declined")
        self.deny.setDefault(True)  # Enter never runs a call by accident
        self.deny.setShortcut(QKeySequence("Escape"))
        self.once.clicked.connect(lambda: self._finish(Decision.ALLOW_ONCE))
        self.always.clicked.connect(lambda: self._finish(Decision.ALWAYS))
        self.deny.clicked.connect(lambda: self._finish(Decision.DENY))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.once, self.always, self.deny):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.question)
        lay.addWidget(self.about)
        lay.addWidget(label)
        lay.addWidget(self.arguments, 1)
        lay.addLayout(buttons)
        fit_to_screen(self, QSize(560, 360))

    def _finish(self, decision: Decision) -> None:
        self.decision = decision
        self.decided.emit(decision)
        self.accept() if decision is not Decision.DENY else self.reject()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class GuiApprover(QObject):
    """Called on the worker thread; asks on the GUI thread. `cancel` (Stop) denies at once.
    Made on the GUI thread: its slots run there."""

    _asked = Signal(object)  # _Waiter
    _dropped = Signal(object)  # _Waiter: Stop while its dialog is open

    def __init__(self, parent: QWidget | None, cancel: threading.Event) -> None:
        super().__init__()
        self._parent = parent
        self._cancel = cancel
        self.dialog: ApprovalDialog | None = None
        self._asked.connect(self._on_asked, Qt.ConnectionType.QueuedConnection)
        self._dropped.connect(self._on_dropped, Qt.ConnectionType.QueuedConnection)

    def __call__(self, request: ApprovalRequest) -> Decision:
        waiter = _Waiter(request)
        self._asked.emit(waiter)
        while not waiter.done.wait(WAIT_STEP_S):
            if self._cancel.is_set():
                waiter.done.set()
                self._dropped.emit(waiter)
                return Decision.DENY
        return waiter.decision

    @Slot(object)
    def _on_asked(self, waiter: "_Waiter") -> None:
        if waiter.done.is_set():
            return
        dialog = ApprovalDialog(waiter.request, self._parent)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog = waiter.dialog = dialog
        dialog.finished.connect(lambda _r: waiter.answer(dialog.decision))
        dialog.open()

    @Slot(object)
    def _on_dropped(self, waiter: "_Waiter") -> None:
        if waiter.dialog is not None:
            waiter.dialog.reject()


class _Waiter:
    """One question and its answer, set on the GUI thread, read on the worker thread."""

    def __init__(self, request: ApprovalRequest) -> None:
        self.request = request
        self.done = threading.Event()
        self.decision = Decision.DENY
        self.dialog: ApprovalDialog | None = None

    def answer(self, decision: Decision) -> None:
        if not self.done.is_set():
            self.decision = decision
        self.done.set()
