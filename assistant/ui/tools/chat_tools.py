"""A chat's tools in the window: the **Tools** button beside the message box (and Chat →
Tools for this chat…, Ctrl+Shift+T) opens the picker; the choice is stored with the chat
(a new chat's waits until it is saved). When the chat has tools switched on, each answer
runs with them (chat/tool_turn.py on the engine's thread), every MCP call asked in a
dialog over the window (Stop withdraws the question); the calls show under their answer
and the status bar says which tool runs. The chat's documents are then a tool too
(search_documents, the app's own: it runs without asking)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QBoxLayout, QMenu, QStatusBar, QToolButton, QWidget

from assistant.chat.store import ChatStore
from assistant.errors import AssistantError
from assistant.tools.builtin import DocumentsTool
from assistant.tools.loop import ToolSession
from assistant.tools.registry import EnabledTools
from assistant.tools.toolbox import ChatTools
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.engine_host import DocumentsTurn
from assistant.ui.chat.session import ChatSession
from assistant.ui.common.actions import add_action
from assistant.ui.tools.approval_dialog import GuiApprover
from assistant.ui.tools.controls import ToolsControls

SHORTCUT = "Ctrl+Shift+T"


@dataclass
class ChatToolsHost:
    """What the binding needs from the window, handed over explicitly."""

    window: QWidget
    session: ChatSession
    store: ChatStore
    chat: ChatView
    input_row: QBoxLayout
    chat_menu: QMenu
    status_bar: QStatusBar
    collections: Callable[[int], list[str]]  # the chat's document collections (for the picker's note)


class ChatToolsBinding(QObject):
    def __init__(self, host: ChatToolsHost, controls: ToolsControls) -> None:
        super().__init__(host.window)
        self.h, self.controls = host, controls
        self._pending: EnabledTools | None = None  # chosen for a chat not saved yet
        self.tool_choice = "auto"  # the first answer's (chat/tool_turn.py forces a call once at most)
        self._approver: GuiApprover | None = None
        self.button = QToolButton(host.window)
        self.button.setAccessibleName("Tools for this chat")
        self.button.setToolTip(f"Choose the tools (MCP servers) this chat's model may call ({SHORTCUT})")
        self.button.clicked.connect(self.open_picker)
        host.input_row.insertWidget(1, self.button, 0, Qt.AlignmentFlag.AlignBottom)
        add_action(host.window, host.chat_menu, "&Tools for this chat…", self.open_picker, SHORTCUT)
        s = host.session
        s.tools_for = self.session_for
        s.conversation_changed.connect(self._on_conversation_changed)
        s.tool_status.connect(self._on_tool_status)
        host.chat.tools_for = host.store.tools
        self._show_count()

    # -- the chat's choice ------------------------------------------------------------------
    def enabled(self, conversation_id: int) -> EnabledTools:
        if not conversation_id:
            return self._pending or EnabledTools()
        return EnabledTools.from_json(self.h.store.enabled_tools(conversation_id))

    def _save(self, enabled: EnabledTools) -> None:
        cid = self.h.session.conversation_id
        empty = not (enabled.servers or enabled.tools)
        if not cid:
            self._pending = None if empty else enabled
        else:
            try:
                self.h.store.set_enabled_tools(cid, None if empty else enabled.to_json())
            except AssistantError as exc:
                self.h.status_bar.showMessage(f"The chat's tools were not saved: {exc.message}", 8000)
        self._show_count()

    def open_picker(self) -> None:
        cid = self.h.session.conversation_id
        self.controls.open_picker(self.h.window, self.enabled(cid), self.h.collections(cid), self._save)

    def _on_conversation_changed(self, conversation_id: int) -> None:
        if conversation_id and self._pending is not None:  # the new chat was saved: its choice goes with it
            pending, self._pending = self._pending, None
            try:
                self.h.store.set_enabled_tools(conversation_id, pending.to_json())
            except AssistantError as exc:
                self.h.status_bar.showMessage(f"The chat's tools were not saved: {exc.message}", 8000)
        self._show_count()

    def _show_count(self) -> None:
        e = self.enabled(self.h.session.conversation_id)
        n = len(e.servers) + len({s for s, _ in e.tools} - e.servers)
        self.button.setText(f"Tools ({n})" if n else "Tools")
        self.button.setAccessibleDescription(f"{n} MCP servers' tools switched on" if n else "No tools switched on")

    # -- a turn ---------------------------------------------------------------------------------
    def session_for(self, conversation_id: int, documents: DocumentsTurn | None = None) -> ToolSession | None:
        """The turn's tools, made on the GUI thread when an answer starts (None: no tools on).
        The servers are started and listed by the engine's thread, when the turn asks. The
        chat's documents join as the app's own search_documents tool."""
        enabled = self.enabled(conversation_id)
        if not (enabled.servers or enabled.tools):
            return None
        host = self.controls.host
        builtins = [DocumentsTool(lambda: nullcontext(documents.docs), documents.names)] if documents is not None else []
        box = ChatTools(host.mcp, enabled, builtins)  # the host's McpTools now: mcp.json may have changed since
        if self._approver is None:  # one for the window: the worker's Stop event does not change
            self._approver = self.controls.approver(self.h.window, self.h.session.host.worker.cancel)
        approver = self._approver
        return ToolSession(box, box.approval(host.policy, approver), max_rounds=host.settings.tools.max_rounds,
                           tool_choice=self.tool_choice)

    def _on_tool_status(self, text: str) -> None:
        if text:
            self.h.status_bar.showMessage(text, 0)
        else:
            self.h.status_bar.clearMessage()
