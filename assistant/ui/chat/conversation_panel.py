"""The left side: search, new chat, and the list of conversations."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from assistant.chat.snippets import MARKS
from assistant.chat.store import ChatStore
from assistant.ui.chat.list_delegates import HitDelegate, SectionDelegate
from assistant.ui.chat.models.conversations import ConversationListModel, SearchResultsModel
from assistant.ui.common.dialogs import ask_text

SEARCH_DELAY_MS = 200


class ConversationPanel(QWidget):
    conversation_selected = Signal(int)
    search_hit_selected = Signal(int, int)  # conversation id, message id
    new_chat_requested = Signal()
    delete_requested = Signal(int)
    export_requested = Signal(int, str)  # conversation id, "md" / "json"
    conversation_renamed = Signal(int, str)  # conversation id, new title

    def __init__(self, store: ChatStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.selecting = False  # True while the list's current row is set from outside
        self.model = ConversationListModel(self)
        self.results = SearchResultsModel(self)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search all chats (Ctrl+F)")
        self.search.setAccessibleName("Search all conversations")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._on_search_timeout)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.new_button = QPushButton("New chat", self)
        self.new_button.setAccessibleName("New chat")
        self.new_button.setToolTip("New chat (Ctrl+N)")
        self.new_button.clicked.connect(self.new_chat_requested)

        self.list = QListView(self)
        self.list.setModel(self.model)
        self.list.setAccessibleName("Conversations")
        self.list.setItemDelegate(SectionDelegate(self.list))  # "Today", "Yesterday", ... above the chats
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # titles are elided
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.activated.connect(self._on_activated)
        self.list.clicked.connect(self._on_activated)

        self.hits = QListView(self)
        self.hits.setModel(self.results)
        self.hits.setAccessibleName("Search results")
        self.hits.setWordWrap(True)
        self.hits.setItemDelegate(HitDelegate(self.hits))  # plain text, the match marked
        self.hits.setResizeMode(QListView.ResizeMode.Adjust)
        self.hits.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hits.activated.connect(self._on_hit_activated)
        self.hits.clicked.connect(self._on_hit_activated)
        self._no_hits = QLabel("No messages match.", self)
        self._no_hits.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._no_hits.setWordWrap(True)
        hits_box = QWidget(self)
        hb = QVBoxLayout(hits_box)
        hb.setContentsMargins(0, 0, 0, 0)
        hb.addWidget(self._no_hits)
        hb.addWidget(self.hits, 1)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.list)
        self.stack.addWidget(hits_box)

        top = QHBoxLayout()
        top.addWidget(self.new_button)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 16)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 4, 8)
        lay.addLayout(top)
        lay.addWidget(self.search)
        lay.addWidget(self.stack, 1)

        # F2 (Rename) is the window's Chat menu action: bound here too, it would be ambiguous
        for text, shortcut, slot in (
            ("Delete", QKeySequence(QKeySequence.StandardKey.Delete), self._on_delete_current),
        ):
            act = QAction(text, self.list)
            act.setShortcut(shortcut)
            act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            act.triggered.connect(slot)
            self.list.addAction(act)

    # -- data ----------------------------------------------------------------------
    def reload(self, select_id: int = 0) -> None:
        self.selecting = True
        try:
            self.model.set_conversations(self.store.list_conversations())
        finally:
            self.selecting = False
        self.select(select_id)
        if self.search.text().strip():
            self._on_search_timeout()

    def select(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id) if conversation_id else -1
        if row < 0:
            self.list.clearSelection()
            return
        idx = self.model.index(row)
        self.selecting = True
        try:
            self.list.setCurrentIndex(idx)
        finally:
            self.selecting = False
        self.list.scrollTo(idx)

    def current_id(self) -> int:
        idx = self.list.currentIndex()
        return int(idx.data(ConversationListModel.IdRole)) if idx.isValid() else 0

    # -- events --------------------------------------------------------------------
    def _on_activated(self, index: QModelIndex) -> None:
        self.conversation_selected.emit(int(index.data(ConversationListModel.IdRole)))

    def _on_hit_activated(self, index: QModelIndex) -> None:
        self.search_hit_selected.emit(
            int(index.data(SearchResultsModel.ConversationIdRole)), int(index.data(SearchResultsModel.MessageIdRole))
        )

    def _on_search_timeout(self) -> None:
        query = self.search.text().strip()
        if not query:
            self.stack.setCurrentIndex(0)
            return
        hits = self.store.search(query, limit=100, marks=MARKS)
        self.results.set_hits(hits)
        self._no_hits.setVisible(not hits)
        self.stack.setCurrentIndex(1)

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _on_context_menu(self, pos: QPoint) -> None:
        idx = self.list.indexAt(pos)
        if not idx.isValid():
            return
        self.list.setCurrentIndex(idx)
        cid = int(idx.data(ConversationListModel.IdRole))
        menu = QMenu(self)
        menu.addAction("Rename…", self.rename_current)
        menu.addAction("Export as Markdown…", lambda: self.export_requested.emit(cid, "md"))
        menu.addAction("Export as JSON…", lambda: self.export_requested.emit(cid, "json"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(cid))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def rename_current(self) -> None:
        cid = self.current_id()
        conv = self.store.get_conversation(cid) if cid else None
        if conv is None:
            return
        title, ok = ask_text(self, "Rename conversation", "New name:", text=conv.title)
        if ok and title.strip():
            self.store.rename_conversation(cid, title.strip())
            self.reload(cid)
            self.conversation_renamed.emit(cid, title.strip())

    def _on_delete_current(self) -> None:
        cid = self.current_id()
        if cid:
            self.delete_requested.emit(cid)
