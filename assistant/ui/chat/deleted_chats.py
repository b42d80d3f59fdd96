"""Deleting chats with Undo: each deleted chat waits in the history's trash until the app
quits (a crash leaves it for the next start-up to purge), so any number of deletions can be
undone, newest first, with Ctrl+Z, Edit → Undo delete, or the bar's Undo button. The bar
hides itself after a while; the deletions stay undoable until quit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QWidget

from assistant.chat.store import ChatStore
from assistant.ui.common.actions import add_action

BAR_SECONDS = 10  # the bar's time on screen; Undo lasts until the app quits


class DeletedChats(QObject):
    restored = Signal(int)  # the conversation an undo brought back

    def __init__(self, store: ChatStore, window: QWidget, edit_menu: QMenu) -> None:
        super().__init__(window)
        self.store = store
        self._deleted: list[tuple[int, str]] = []  # (conversation id, title), oldest first
        self.bar = QWidget(window)
        self.bar.setAccessibleName("Deleted chats")
        row = QHBoxLayout(self.bar)
        row.setContentsMargins(12, 4, 12, 4)
        self.label = QLabel(self.bar)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # a title is the user's words
        self.undo_button = QPushButton("Undo", self.bar)
        self.undo_button.setAccessibleName("Undo delete")
        self.undo_button.setToolTip("Bring the chat back (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self.close_button = QToolButton(self.bar)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setAccessibleName("Hide this note")
        self.close_button.setToolTip("Hide this note (the deletion can still be undone with Ctrl+Z)")
        self.close_button.clicked.connect(self.bar.hide)
        row.addWidget(self.label, 1)
        row.addWidget(self.undo_button)
        row.addWidget(self.close_button)
        self.bar.hide()
        self.timer = QTimer(self, singleShot=True, interval=BAR_SECONDS * 1000)
        self.timer.timeout.connect(self.bar.hide)
        self.action: QAction = add_action(window, edit_menu, "&Undo delete", self.undo, QKeySequence.StandardKey.Undo)
        self.action.setEnabled(False)

    @property
    def pending(self) -> list[int]:
        return [cid for cid, _t in self._deleted]

    def delete(self, conversation_id: int) -> bool:
        conv = self.store.get_conversation(conversation_id)
        if conv is None:
            return False
        self.store.trash_conversation(conversation_id)
        self._deleted.append((conversation_id, conv.title))
        self._show()
        return True

    def undo(self) -> int:
        """Bring back the newest deletion; its id (0: nothing to undo)."""
        if not self._deleted:
            return 0
        cid, _title = self._deleted.pop()
        self.store.restore_conversation(cid)
        if self._deleted:
            self._show()
        else:
            self.bar.hide()
            self.timer.stop()
        self.action.setEnabled(bool(self._deleted))
        self.restored.emit(cid)
        return cid

    def purge(self) -> None:
        """At quit: the trash is emptied for good."""
        if self._deleted:
            self.store.purge_trash()
            self._deleted.clear()
        self.action.setEnabled(False)
        self.bar.hide()

    def _show(self) -> None:
        title = self._deleted[-1][1]
        more = len(self._deleted) - 1
        self.label.setText(f"Deleted “{title}”." + (f" ({more} more can be undone.)" if more else ""))
        self.action.setEnabled(True)
        self.action.setText(f"&Undo delete of “{title[:40]}”")
        self.bar.show()
        self.timer.start()
