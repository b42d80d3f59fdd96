"""The chat: a scrolling column of MessageWidgets that shows a MessageListModel.

Only the newest PAGE messages get widgets when a conversation opens (a chat of
1,000 messages opens in a blink); "Show earlier messages" adds more.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QResizeEvent, QTextCursor
from PySide6.QtWidgets import QPushButton, QScrollArea, QVBoxLayout, QWidget

from assistant.ui.chat.message_widget import MessageWidget
from assistant.ui.chat.models.messages import MessageListModel
from assistant.ui.common.theme import colors

PAGE = 40
COLUMN_CHARS = 92  # the reading column: about this many average characters wide
SIDE_MARGIN = 16


class ChatView(QScrollArea):
    edit_submitted = Signal(int, str)  # row, new text
    regenerate_requested = Signal()
    retry_requested = Signal(str)  # "cloud" / "local": the last answer again, elsewhere
    continue_requested = Signal()  # the last answer, cut off at the length limit: write on
    link_activated = Signal(QUrl)
    message_copied = Signal(int)
    version_requested = Signal(int, int)  # row, -1 / +1: another version of that answer or question
    column_changed = Signal(int)  # the side margin of the reading column, for the input row below
    widgets_added = Signal()  # message widgets were made: the window puts them in its tab order

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Conversation")
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._model = model
        self._first = 0  # model row of the first widget
        self._widgets: list[MessageWidget] = []
        self._busy = False
        self._dark = False
        self._stick_to_bottom = True
        self.cloud_label = ""  # "OpenAI gpt-4o" when a cloud model is set up
        # an answer's document sources, by message id (ui/documents/chat_documents.py sets it)
        self.sources_for: Callable[[int], list[dict[str, Any]]] | None = None
        self.tools_for: Callable[[int], list[dict[str, Any]]] | None = None  # an answer's tool calls (ChatStore.tools)
        # a user message's images, (path, name, note) each (ui/vision/chat_images.py sets it)
        self.images_for: Callable[[Any], list[tuple[str, str, str]]] | None = None

        self._inner = QWidget()
        self._inner.setObjectName("chatColumn")
        self._layout = QVBoxLayout(self._inner)
        self._layout.setContentsMargins(16, 12, 16, 12)
        self._layout.setSpacing(10)
        self._more = QPushButton("Show earlier messages")
        self._more.setAccessibleName("Show earlier messages")
        self._more.clicked.connect(self._on_more_clicked)
        self._layout.addWidget(self._more, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addStretch(1)
        self.setWidget(self._inner)
        self.set_dark(False)

        # shown when the user scrolled up while an answer is written (or far up in a long chat)
        self.jump_button = QPushButton("↓ Latest", self)
        self.jump_button.setAccessibleName("Jump to the latest message")
        self.jump_button.setToolTip("Jump to the latest message")
        self.jump_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.jump_button.clicked.connect(self.scroll_to_bottom)
        self.jump_button.hide()

        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)
        model.modelReset.connect(self._rebuild)
        model.rowsInserted.connect(self._on_rows_inserted)
        model.rowsRemoved.connect(self._on_rows_removed)
        model.dataChanged.connect(self._on_data_changed)
        self._rebuild()

    # -- building ------------------------------------------------------------------
    def _make(self, row: int) -> MessageWidget:
        m = self._model.message_at(row)
        assert m is not None
        w = MessageWidget(m.role, self._inner)
        w.body.set_dark(self._dark)
        w.copy_requested.connect(self._on_copy_requested)
        w.edit_submitted.connect(self._on_edit_submitted)
        w.regenerate_requested.connect(lambda _w: self.regenerate_requested.emit())
        w.retry_requested.connect(lambda _w, target: self.retry_requested.emit(target))
        w.continue_requested.connect(lambda _w: self.continue_requested.emit())
        w.link_activated.connect(self.link_activated)
        w.controls_added.connect(self.widgets_added)
        w.versions.step_requested.connect(lambda step, w=w: self.version_requested.emit(self._row_of(w), step))
        self._fill(w, row)
        return w

    def _fill(self, w: MessageWidget, row: int) -> None:
        idx = self._model.index(row)
        M = MessageListModel
        w.set_origin(idx.data(M.OriginRole), self.cloud_label)
        w.set_content(idx.data(M.ContentRole), idx.data(M.StatusRole), idx.data(M.DetailsRole), idx.data(M.ErrorRole),
                      idx.data(M.ThinkingRole), idx.data(M.ThinkingSecondsRole), cut_off=bool(idx.data(M.CutOffRole)),
                      details_name=idx.data(M.DetailsNameRole) or "")
        w.versions.set_versions(idx.data(M.VersionsRole))
        if w.role == "assistant" and self.sources_for is not None:
            mid = idx.data(M.IdRole)
            w.set_sources(self.sources_for(mid) if mid and mid > 0 and idx.data(M.StatusRole) != "streaming" else [])
        if w.role == "assistant" and self.tools_for is not None:
            mid = idx.data(M.IdRole)
            w.set_tool_calls(self.tools_for(mid) if mid and mid > 0 else [])
        if w.role == "user" and self.images_for is not None:
            w.set_images(self.images_for(self._model.message_at(row)))

    def _insert_widget(self, pos: int, w: MessageWidget) -> None:
        # layout: [more button, widgets..., stretch]
        align = Qt.AlignmentFlag(0)
        self._layout.insertWidget(1 + pos, w, 0, align)
        self._widgets.insert(pos, w)

    def _rebuild(self) -> None:
        for w in self._widgets:
            w.deleteLater()
        self._widgets = []
        n = self._model.rowCount()
        self._first = max(0, n - PAGE)
        self._inner.setUpdatesEnabled(False)
        for row in range(self._first, n):
            self._insert_widget(row - self._first, self._make(row))
        self._inner.setUpdatesEnabled(True)
        self._more.setVisible(self._first > 0)
        self._update_actions()
        self._stick_to_bottom = True
        QTimer.singleShot(0, self.scroll_to_bottom)
        self.widgets_added.emit()

    def _on_more_clicked(self) -> None:
        start = max(0, self._first - PAGE)
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        for row in range(self._first - 1, start - 1, -1):
            self._insert_widget(0, self._make(row))
        self._first = start
        self._more.setVisible(self._first > 0)
        self.widgets_added.emit()
        # keep the message the user was looking at in place
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum() - from_bottom))

    # -- model signals ------------------------------------------------------------------
    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            self._insert_widget(row - self._first, self._make(row))
        self._update_actions()
        self.widgets_added.emit()

    def _on_rows_removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        lo, hi = max(first, self._first), last
        for row in range(hi, lo - 1, -1):
            w = self._widgets.pop(row - self._first)
            self._layout.removeWidget(w)
            w.deleteLater()
        if first < self._first:
            self._first = max(0, self._first - (min(last, self._first - 1) - first + 1))
        self._update_actions()

    def _on_data_changed(self, top: QModelIndex, bottom: QModelIndex, roles: list[int] | None = None) -> None:
        for row in range(top.row(), bottom.row() + 1):
            if row < self._first:
                continue
            w = self._widgets[row - self._first]
            if roles == MessageListModel.STREAMING_ROLES:
                idx = self._model.index(row)
                w.set_streaming_text(idx.data(MessageListModel.ContentRole), idx.data(MessageListModel.ThinkingRole),
                                     idx.data(MessageListModel.ThinkingSecondsRole))
            elif roles == [MessageListModel.VersionsRole]:
                w.versions.set_versions(self._model.index(row).data(MessageListModel.VersionsRole))
            else:
                self._fill(w, row)
        self._update_actions()

    # -- actions ----------------------------------------------------------------------
    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        c = colors(dark)
        # bubbles: the user's tinted and outlined; who wrote what is also said in words
        self._inner.setStyleSheet(
            f"QFrame#userMessage {{ background: {c.user_bubble}; border: 1px solid {c.border}; border-radius: 8px; }}"
            f"QFrame#assistantMessage {{ background: {c.assistant_bubble}; border-radius: 8px; }}"
            f"QLabel#details, QLabel#status, QLabel#thinkingText, QToolButton#thinkingToggle {{ color: {c.muted_text}; }}"
            f"QLabel#thinkingText {{ border-left: 2px solid {c.border}; padding-left: 8px; }}"
            f"QLabel#error {{ color: {c.error_text}; }}"
            "QLabel#who { font-weight: bold; }"
            # the message buttons are flat; a ring shows where the keyboard is
            f"QPushButton[flat=\"true\"] {{ border: 2px solid transparent; border-radius: 4px; padding: 2px 8px; }}"
            f"QPushButton[flat=\"true\"]:hover {{ border-color: {c.border}; }}"
            f"QPushButton[flat=\"true\"]:focus {{ border-color: {c.link}; }}"
            f"QPushButton[flat=\"true\"]:disabled {{ color: {c.muted_text}; }}"
            # a message's text takes the focus too (to select and copy with the keyboard): ring it
            "QTextBrowser { border: 2px solid transparent; border-radius: 4px; }"
            f"QTextBrowser:focus {{ border-color: {c.link}; }}"
        )
        for w in self._widgets:
            w.body.set_dark(dark)

    def set_cloud_label(self, label: str) -> None:
        self.cloud_label = label
        for i, w in enumerate(self._widgets):
            w.set_origin(self._model.index(self._first + i).data(MessageListModel.OriginRole), label)
        self._update_actions()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_actions()
        self._update_jump()

    def _update_actions(self) -> None:
        last = len(self._widgets) - 1
        for i, w in enumerate(self._widgets):
            w.set_can_regenerate(i == last and w.role == "assistant" and not self._busy)
            w.set_actions_enabled(not self._busy)
            w.versions.set_enabled(not self._busy, self._model.index(self._first + i).data(MessageListModel.VersionsRole))

    def _row_of(self, w: MessageWidget) -> int:
        return self._first + self._widgets.index(w)

    def _on_copy_requested(self, w: MessageWidget) -> None:
        QGuiApplication.clipboard().setText(w.text())
        self.message_copied.emit(self._row_of(w))

    def _on_edit_submitted(self, w: MessageWidget, text: str) -> None:
        w.close_editor()
        self.edit_submitted.emit(self._row_of(w), text)

    def focus_order(self) -> list[QWidget]:
        """Its controls top to bottom: Show earlier messages, then each message's own."""
        return [self._more, *[c for w in self._widgets for c in w.focus_order()]]

    def widget_at(self, row: int) -> MessageWidget | None:
        i = row - self._first
        return self._widgets[i] if 0 <= i < len(self._widgets) else None

    # -- the reading column -------------------------------------------------------------
    def column_width(self) -> int:
        """The widest the messages get: a comfortable line length, as chat apps have."""
        return self.fontMetrics().averageCharWidth() * COLUMN_CHARS

    def _update_column(self) -> None:
        side = max(SIDE_MARGIN, (self.viewport().width() - self.column_width()) // 2)
        m = self._layout.contentsMargins()
        if m.left() != side:
            self._layout.setContentsMargins(side, m.top(), side, m.bottom())
            self.column_changed.emit(side)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._update_column()
        self._place_jump()

    def _place_jump(self) -> None:
        b, vp = self.jump_button, self.viewport().geometry()
        b.adjustSize()
        b.move(vp.right() - b.width() - 16, vp.bottom() - b.height() - 12)

    def _update_jump(self) -> None:
        bar = self.verticalScrollBar()
        far = bar.maximum() - bar.value() > self.viewport().height()
        show = not self._stick_to_bottom and (self._busy or far)
        if show != self.jump_button.isVisible():
            self._place_jump()
            self.jump_button.setVisible(show)
            self.jump_button.raise_()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            # the styled column does not follow the application's font by itself: hand it on,
            # so the open chat changes size at once (not only after switching chats)
            self._inner.setFont(self.font())
            sheet = self._inner.styleSheet()
            self._inner.setStyleSheet("")
            self._inner.setStyleSheet(sheet)  # re-polished: the styled widgets take the new font
            self._update_column()

    # -- scrolling -----------------------------------------------------------------------
    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - 24
        self._update_jump()

    def _on_range_changed(self, _lo: int, hi: int) -> None:
        # follow a growing answer only while the user is reading the bottom
        if self._stick_to_bottom:
            self.verticalScrollBar().setValue(hi)
        self._update_jump()

    def show_row(self, row: int, term: str = "") -> None:
        """Scroll to a message (a search result), loading earlier pages as needed; `term`
        (a searched word) is selected in it, so the eye finds the match."""
        while 0 <= row < self._first:
            self._on_more_clicked()
        if self.widget_at(row) is None:
            return
        self._stick_to_bottom = False
        # after the queued scroll to the bottom of a newly opened chat, and after the layout
        QTimer.singleShot(0, lambda: QTimer.singleShot(0, lambda: self._reveal(row, term)))

    def _reveal(self, row: int, term: str) -> None:
        w = self.widget_at(row)
        if w is not None:
            self._stick_to_bottom = False
            self.verticalScrollBar().setValue(max(0, w.y() - self._layout.spacing()))
            if term:
                w.body.moveCursor(QTextCursor.MoveOperation.Start)
                w.body.find(term)

    def scroll_to_bottom(self) -> None:
        self._stick_to_bottom = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        self._update_jump()
