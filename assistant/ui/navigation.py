"""The window's keyboard paths and narrow-window behaviour, kept out of main_window.py.

- Tab order, as the window reads: New chat -> search -> chat list -> model picker -> ⚙ ->
  Add file -> More models -> the conversation, message by message -> the chat's document chips ->
  Documents -> message box -> its buttons.
- Focus goes back to the message box when an answer starts or ends (sending hides Send,
  editing closes the editor: Qt would move the focus to the next widget, the search box).
- The chat list follows the arrow keys (the chat opens as the selection moves).
- Down or Enter in the search box goes to the results; Enter on one opens it; Esc clears it
  (the window's Esc, Stop, waits until the box is empty).
- The chat list collapses in a narrow window (View -> Show the chat list, Ctrl+B, too).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QWidget

from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.conversation_panel import ConversationPanel
from assistant.ui.chat.header import ChatHeader
from assistant.ui.chat.input_box import PromptEdit
from assistant.ui.chat.session import ChatSession
from assistant.ui.common.actions import add_action

NARROW_WIDTH = 720  # below this the chat list folds away (unless the user asked for it)


class Navigation(QObject):
    def __init__(self, window: QMainWindow, view_menu: QMenu, session: ChatSession, panel: ConversationPanel,
                 header: ChatHeader, chat: ChatView, prompt: PromptEdit, send_button: QWidget) -> None:
        super().__init__(window)
        self.window, self.session, self.panel = window, session, panel
        self.header, self.chat, self.prompt, self.send_button = header, chat, prompt, send_button
        self._auto_hidden = False  # folded by a narrow window, not by the user
        self.sidebar_action: QAction = add_action(window, view_menu, "Show the chat &list", self._on_sidebar_toggled, "Ctrl+B")
        self.sidebar_action.setCheckable(True)
        self.sidebar_action.setChecked(True)

        self.apply_tab_order()
        chat.widgets_added.connect(self.apply_tab_order)  # new messages join the chain in their place
        documents = getattr(window, "documents", None)  # the chat's document chips come and go too
        if documents is not None:
            documents.controls_changed.connect(self.apply_tab_order)

        session.busy_changed.connect(self._on_busy_changed)
        # after the send or edit started (these run after the window's own slots): Send is
        # hidden and the editor closed by then, and the focus went wherever Qt put it
        prompt.prompt_submitted.connect(lambda _text: self.focus_prompt())
        chat.edit_submitted.connect(lambda _row, _text: self.focus_prompt())
        chat.regenerate_requested.connect(self.focus_prompt)
        chat.retry_requested.connect(lambda _target: self.focus_prompt())
        panel.list.selectionModel().selectionChanged.connect(self._on_list_selection_changed)
        panel.search.installEventFilter(self)
        panel.search.returnPressed.connect(self._on_search_return_pressed)
        window.installEventFilter(self)

    # -- focus ------------------------------------------------------------------------
    def apply_tab_order(self) -> None:
        """Reading order: the chat list's side top to bottom, the header left to right, the
        conversation message by message, the message box and its buttons."""
        p, h = self.panel, self.header
        row = getattr(self.window, "input_row", None)  # Documents, the box, Ask <cloud>, Send, Stop, in the row's order
        items = [row.itemAt(i).widget() for i in range(row.count())] if row is not None else [self.prompt, self.send_button]
        row_widgets = [b for b in items if b is not None]
        documents = getattr(self.window, "documents", None)
        chips = documents.focus_order() if documents is not None else []
        chain = [p.new_button, p.search, p.hits, p.list, h.picker, h.settings_button, h.add_button, h.library_button,
                 self.chat, *self.chat.focus_order(), *chips, *row_widgets]
        for a, b in zip(chain, chain[1:]):
            QWidget.setTabOrder(a, b)

    def _focus_in_chat(self) -> bool:
        """The focus is where it was when the user sent or edited (or nowhere): the message
        box may take it back; a user who moved to the list or search keeps it there."""
        w = QApplication.focusWidget()
        if w is None or w is self.prompt or w is self.send_button:
            return True
        return w is self.chat or self.chat.isAncestorOf(w) or not w.isVisible()

    def _on_busy_changed(self, _busy: bool) -> None:
        if self._focus_in_chat():
            self.focus_prompt()

    def focus_prompt(self) -> None:
        self.prompt.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- the chat list and search -----------------------------------------------------
    def _on_list_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        # moving with the arrow keys opens the chat (not while the list is being reloaded).
        # The selection, not the current row: focus arriving in the list (Tab, or a disabled
        # model picker handing it on) makes a row current without selecting it, and that
        # must not open a chat over the new one the user is looking at
        rows = selected.indexes()
        if rows and self.panel.list.hasFocus() and not self.panel.selecting:
            self.panel.conversation_selected.emit(int(rows[0].data(self.panel.model.IdRole)))

    def _on_search_return_pressed(self) -> None:
        if self.panel.stack.currentIndex() == 1 and self.panel.results.rowCount():
            self.panel.hits.activated.emit(self.panel.results.index(0))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self.panel.search and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape and self.panel.search.text():
            event.accept()  # claimed before the window's Esc (Stop) sees it
            if event.type() == QEvent.Type.KeyPress:
                self.panel.search.clear()
            return True
        if obj is self.panel.search and event.type() == QEvent.Type.KeyPress:
            if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down:
                view = self.panel.hits if self.panel.stack.currentIndex() == 1 else self.panel.list
                if view.model().rowCount():
                    view.setFocus(Qt.FocusReason.TabFocusReason)
                    if not view.currentIndex().isValid():
                        view.setCurrentIndex(view.model().index(0, 0))
                    return True
        elif obj is self.window and event.type() == QEvent.Type.Resize:
            self._fit_sidebar()
        return False

    # -- the sidebar --------------------------------------------------------------------
    def _fit_sidebar(self) -> None:
        narrow = self.window.width() < NARROW_WIDTH
        if narrow and not self.panel.isHidden() and not self._auto_hidden and self.sidebar_action.isChecked():
            self._auto_hidden = True
            self._set_sidebar(False)
        elif not narrow and self._auto_hidden:
            self._auto_hidden = False
            self._set_sidebar(True)

    def _set_sidebar(self, shown: bool) -> None:
        self.panel.setVisible(shown)
        self.sidebar_action.setChecked(shown)

    def _on_sidebar_toggled(self) -> None:
        shown = self.sidebar_action.isChecked()
        self._auto_hidden = False
        self.panel.setVisible(shown)
        if shown:
            self.panel.list.setFocus()
        elif self.panel.isAncestorOf(QApplication.focusWidget() or self.window):
            self.focus_prompt()
