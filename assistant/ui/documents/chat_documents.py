"""Documents in a chat, kept out of main_window.py.

- "Documents" beside the message box (Ctrl+Shift+A): attach files, and choose collections
  for this chat. Files come also by drag and drop onto the chat or the box, and a pasted
  path is offered as an attachment.
- Attached files are a collection of the chat's own (`#chat-<id>`, marked with the chat in
  the index), indexed in the background with a progress bar and Stop. What the chat uses is
  shown as removable chips above the box; the chosen collections are kept with the chat
  (chat/store.py `set_documents`).
- A question in such a chat is answered by documents/turn.py on the engine's thread
  (session.documents_for); its status lines are shown here, and its sources under the answer
  (chat_view.sources_for, sources_view.py), again when the chat is reopened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from assistant.chat.store import ChatStore
from assistant.documents.index import Collection
from assistant.documents.service import Documents, documents_dir
from assistant.errors import AssistantError
from assistant.paths import Paths
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.engine_host import DocumentsTurn
from assistant.ui.chat.input_box import PromptEdit
from assistant.ui.chat.session import ChatSession
from assistant.ui.common.actions import add_action
from assistant.ui.common.flow_layout import flow_box
from assistant.ui.documents.model_offer import EmbeddingModelOffer, needs_model
from assistant.ui.documents.worker import DocumentsJob

SHORTCUT = "Ctrl+Shift+A"
FILE_FILTER = "Documents (*.pdf *.docx *.html *.htm *.md *.txt *.csv *.py *.js *.ts *.java *.c *.cpp *.rs *.go);;All files (*)"


def chat_collection(conversation_id: int) -> str:
    """The name of the collection that holds a chat's attached files."""
    return f"#chat-{conversation_id}"


@dataclass(frozen=True)
class ChatDocumentsHost:
    """What the controls need from the window, handed over explicitly."""

    window: QWidget
    paths: Paths
    session: ChatSession
    store: ChatStore
    chat: ChatView
    prompt: PromptEdit
    input_row: QBoxLayout  # "Documents" goes first in it
    chat_layout: QBoxLayout  # the chat above, the input row below: the chips go between
    chat_menu: QMenu
    status_bar: QStatusBar


class ChatDocuments(QObject):
    controls_changed = Signal()  # the chips were made again: their place in the tab order

    def __init__(self, host: ChatDocumentsHost) -> None:
        super().__init__(host.window)
        self.h = host
        self._docs: Documents | None = None
        self._pending: list[str] = []  # collections chosen for a chat not saved yet
        self.job: DocumentsJob | None = None
        self._again = False  # more files came while indexing: index once more after it
        # indexing lasts until its result has been shown, not until the thread ends: the result
        # comes as a queued signal, and a window closed in between must not show it
        self._job_done = True
        self._closed = False
        self._offer: list[Path] = []  # a pasted path, offered as an attachment

        self.button = QToolButton(host.window)
        self.button.setText("Documents")
        self.button.setAccessibleName("Documents for this chat")
        self.button.setToolTip(f"Attach files or choose document collections for this chat ({SHORTCUT})")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.button.setMenu(self.menu)
        host.input_row.insertWidget(0, self.button, 0, Qt.AlignmentFlag.AlignBottom)
        add_action(host.window, host.chat_menu, "&Documents for this chat…", self.button.showMenu, SHORTCUT)

        self.bar = QWidget(host.window)
        self.bar.setAccessibleName("Documents in this chat")
        lay = QVBoxLayout(self.bar)
        lay.setContentsMargins(12, 4, 12, 0)
        lay.setSpacing(2)
        self.chips_box, self.chips = flow_box(self.bar)
        lay.addWidget(self.chips_box)
        # no embedding model yet: the first attachment offers the default (the indexing waits for it)
        self.model_offer = EmbeddingModelOffer(host.paths, self.bar, endpoint=getattr(host.window, "current_hub_endpoint", None))
        self.model_offer.said.connect(self._say)
        self.model_offer.ready.connect(self._on_model_ready)
        self._waiting_for_model: str | None = None  # the collection to index once the model is in
        lay.addWidget(self.model_offer)
        row = QHBoxLayout()
        self.progress = QProgressBar(self.bar)
        self.progress.setAccessibleName("Indexing progress")
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.stop_button = QPushButton("Stop indexing", self.bar)
        self.stop_button.setAccessibleName("Stop indexing the attached files")
        self.stop_button.clicked.connect(self.stop_indexing)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stop_button)
        lay.addLayout(row)
        self.status = QLabel(self.bar)
        self.status.setObjectName("documentsStatus")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Documents status")
        lay.addWidget(self.status)
        self._say("")
        self._busy(False)
        host.chat_layout.insertWidget(1, self.bar)
        host.chat.column_changed.connect(lambda side: lay.setContentsMargins(max(12, side - 4), 4, max(12, side - 4), 0))

        s = host.session
        s.documents_for = self.documents_for
        s.conversation_changed.connect(self._on_conversation_changed)
        s.documents_status.connect(self._on_turn_status)
        s.busy_changed.connect(self._on_chat_busy)
        host.chat.sources_for = self.sources_for
        for w in (host.prompt.viewport(), host.chat.viewport()):
            w.setAcceptDrops(True)
            w.installEventFilter(self)
        host.prompt.paths_pasted.connect(self.offer)
        self.refresh()

    # -- the documents -------------------------------------------------------------------
    def docs(self) -> Documents:
        if self._docs is None:
            self._docs = Documents(self.h.paths)
        return self._docs

    def _index_exists(self) -> bool:
        return self._docs is not None or (documents_dir(self.h.paths) / "index.sqlite3").is_file()

    @property
    def conversation_id(self) -> int:
        return self.h.session.conversation_id

    def chosen(self) -> list[str]:
        """The named collections chosen for the open chat."""
        cid = self.conversation_id
        return self.h.store.documents(cid) if cid else list(self._pending)

    def attached(self) -> list[tuple[str, str]]:
        """(path, state) of the files attached to the open chat; state: "", "indexing", "not read"."""
        col = self._own_collection(self.conversation_id)
        if col is None:
            return []
        files = {f.path: f for f in self.docs().index.files(col.id)}
        out = []
        for root in self.docs().index.roots(col.id):
            f = files.get(root)
            state = "not read" if f is not None and f.status == "failed" else \
                "indexing" if f is None or f.status == "pending" else ""
            out.append((root, state))
        return out

    def documents_for(self, conversation_id: int) -> DocumentsTurn | None:
        """What a question in this chat is asked of (None: no documents, an ordinary turn)."""
        names = self.h.store.documents(conversation_id) if conversation_id else []
        if self._index_exists():
            known = {c.name for c in self.docs().index.collections()}
            names = [n for n in names if n in known]
            own = self._own_collection(conversation_id)
            if own is not None and self.docs().index.roots(own.id):
                names.append(own.name)
        return DocumentsTurn(self.docs(), names) if names else None

    def sources_for(self, message_id: int) -> list[dict[str, Any]]:
        return self.h.store.sources(message_id)

    def _own_collection(self, conversation_id: int) -> Collection | None:
        """The chat's attached files; one older than the chat was a deleted chat's of the same
        id (SQLite gives ids again), and goes."""
        if not conversation_id or not self._index_exists():
            return None
        name = chat_collection(conversation_id)
        rows = self.docs().index.query("SELECT created_at FROM collections WHERE name = ?", (name,))
        conv = self.h.store.get_conversation(conversation_id)
        if not rows or conv is None:
            return None
        if rows[0][0] < conv.created_at - 1.0:
            self.docs().remove(name)
            return None
        return self.docs().collection(name)

    # -- choosing collections --------------------------------------------------------------
    def _fill_menu(self) -> None:
        m = self.menu
        m.clear()
        m.addAction("Attach files…", self.choose_files)
        m.addSeparator()
        names = [c.name for c in self.docs().index.collections()] if self._index_exists() else []
        if names:
            m.addSection("Use collections in this chat")
        chosen = self.chosen()
        for name in names:
            a = m.addAction(name)
            a.setCheckable(True)
            a.setChecked(name in chosen)
            a.toggled.connect(lambda on, name=name: self.choose(name, on))
        m.addSeparator()
        m.addAction("Manage collections…", self._open_documents)

    def _open_documents(self) -> None:
        from assistant.ui.documents.dialog import open_documents

        open_documents(self.h.window)

    def choose(self, name: str, on: bool) -> None:
        names = [n for n in self.chosen() if n != name] + ([name] if on else [])
        if self.conversation_id:
            self.h.store.set_documents(self.conversation_id, names)
        else:
            self._pending = names
        self.refresh()

    def _on_conversation_changed(self, conversation_id: int) -> None:
        if conversation_id and self._pending:  # the new chat was saved: its choice goes with it
            self.h.store.set_documents(conversation_id, self._pending)
        self._pending = []
        if not self.indexing():
            self._say("")  # another chat's note
        self.refresh()

    # -- attaching files -------------------------------------------------------------------
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.h.window, "Attach documents to this chat", "", FILE_FILTER)
        if files:
            self.attach([Path(f) for f in files])

    def attach(self, paths: list[Path]) -> bool:
        """Add files to the chat's own collection and index them in the background."""
        paths = [Path(p) for p in paths]
        if not paths:
            return False
        s = self.h.session
        if not s.conversation_id:  # the files need a chat to belong to
            conv = self.h.store.create_conversation(title=f"About {paths[0].name}"[:60])
            s.open_conversation(conv.id)
        name = chat_collection(s.conversation_id)
        try:
            self.docs().add(name, paths, chat=s.conversation_id)
        except AssistantError as exc:
            self._say(str(exc))
            self.bar.show()
            return False
        self._offer = [p for p in self._offer if p not in paths]
        self.refresh()
        self.start_index(name)
        return True

    def detach(self, path: str) -> None:
        cid = self.conversation_id
        if cid:
            self.docs().detach(chat_collection(cid), Path(path))
            self.refresh()

    def offer(self, paths: list[str]) -> None:
        """A pasted path of a file: offered as an attachment (a chip to click)."""
        self._offer = [Path(p) for p in paths if Path(p).is_file()]
        self.refresh()

    def _accept_offer(self, path: Path) -> None:
        text = self.h.prompt.toPlainText()
        if str(path) in text:  # the path was only a way to say which file
            self.h.prompt.setPlainText(text.replace(str(path), "").strip())
        self.attach([path])

    def start_index(self, name: str) -> None:
        if self.indexing():
            self._again = True
            return
        if needs_model(self.docs()):
            self._waiting_for_model = name
            self.model_offer.offer()
            self._say("The attached files are indexed once an embedding model is installed.")
            self.bar.show()
            return
        self.job = DocumentsJob(lambda cancel, progress: self.docs().sync(name, cancel=cancel, progress=progress), self)
        self.job.progressed.connect(self._on_progressed)
        self.job.succeeded.connect(lambda report: self._on_indexed(name, report))
        self.job.failed.connect(self._on_index_failed)
        job = self.job
        self.job.finished.connect(lambda: self._on_job_finished(job))
        self._job_done = False
        self._busy(True)
        self.progress.setRange(0, 0)
        self._say("Indexing the attached files… (starting the embedding model)")
        self.job.start()

    def _on_model_ready(self, path: Path) -> None:
        self.docs().set_embedding_model(path)  # also when a chosen model had gone missing
        name, self._waiting_for_model = self._waiting_for_model, None
        if name is not None:
            self.start_index(name)

    def _on_job_finished(self, job: DocumentsJob) -> None:
        # also a thread that ended with no result (an unexpected error, already logged)
        if job is self.job and not self._job_done:
            self._job_done = True
            if not self._closed:
                self._busy(False)

    def stop_indexing(self) -> None:
        if self.indexing() and self.job is not None:
            self.job.cancel.set()
            self._again = False
            self._say("Stopping after the current file… what is done is kept.")

    def _on_progressed(self, done: int, total: int, current: str) -> None:
        if self._closed:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if current:
            self._say(f"Reading {current} ({done + 1} of {total})")

    def _on_indexed(self, name: str, report: Any) -> None:
        self._job_done = True
        if self._closed:  # the window closed while the result was on its way
            return
        self._busy(False)
        lines = [report.summary()] + [f"Not read: {Path(p).name}: {why}" for p, why in report.failed[:3]]
        lines += [f"{Path(p).name}: page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))} "
                  f"{'are scans' if len(pages) > 1 else 'is a scan'} with no text layer, not read."
                  for p, pages in report.scanned[:3]]
        self._say("\n".join(lines))
        self.refresh()
        if self._again:
            self._again = False
            self.start_index(name)

    def _on_index_failed(self, message: str) -> None:
        self._job_done = True
        if self._closed:
            return
        self._busy(False)
        self._again = False
        self._say(message)
        self.refresh()

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))  # an empty line takes no room above the box

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.stop_button.setVisible(busy)

    def indexing(self) -> bool:
        return self.job is not None and not self._job_done

    # -- a question's status ------------------------------------------------------------------
    def _on_turn_status(self, text: str) -> None:
        self._say(text)
        self.bar.show()

    def _on_chat_busy(self, busy: bool) -> None:
        if busy and self.documents_for(self.conversation_id) is not None:
            self._say("Searching your documents…")
        elif not busy and not self.indexing() and self.status.text():
            self.h.status_bar.showMessage(self.status.text().splitlines()[0], 8000)  # said once more, there
            self._say("")
        self.refresh()

    # -- chips -------------------------------------------------------------------------------
    def refresh(self) -> None:
        while self.chips.count():
            item = self.chips.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        for name in self.chosen():
            self._chip(f"Collection “{name}”  ✕", f"Stop using the collection {name} in this chat", lambda n=name: self.choose(n, False))
        for path, state in self.attached():
            label = Path(path).name + (f" ({state})" if state else "")
            self._chip(f"{label}  ✕", f"Remove {Path(path).name} from this chat", lambda p=path: self.detach(p))
        for p in self._offer:
            self._chip(f"+ Attach {p.name}", f"Attach {p.name} to this chat", lambda p=p: self._accept_offer(p))
        show = self.chips.count() > 0 or self.indexing() or bool(self.status.text()) or self.model_offer.isVisibleTo(self.bar)
        self.bar.setVisible(show)
        self.controls_changed.emit()
        self.button.setText(f"Documents ({len(self.chosen()) + len(self.attached())})"
                            if self.chosen() or self.attached() else "Documents")

    def _chip(self, text: str, name: str, slot: Any) -> None:
        b = QPushButton(text, self.chips_box)
        b.setAccessibleName(name)
        b.setToolTip(name)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(lambda _c=False: slot())
        self.chips.addWidget(b)

    def focus_order(self) -> list[QWidget]:
        items = (self.chips.itemAt(i) for i in range(self.chips.count()))
        return [w for it in items if it is not None and (w := it.widget()) is not None] + \
            [self.model_offer.download_button, self.model_offer.cancel_button, self.stop_button]

    def chip_texts(self) -> list[str]:
        items = (self.chips.itemAt(i) for i in range(self.chips.count()))
        return [w.text() for it in items if it is not None and isinstance(w := it.widget(), QPushButton)]

    # -- drag and drop -----------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop) and isinstance(event, QDropEvent):
            files = _local_files(event)
            if files:
                event.acceptProposedAction()
                if kind == QEvent.Type.Drop:
                    self.attach(files)
                return True
        return super().eventFilter(obj, event)

    def shutdown(self) -> None:
        self._closed = True
        self.model_offer.shutdown()
        if self.job is not None and self.job.isRunning():
            self.job.cancel.set()
            self.job.wait()
        if self._docs is not None:
            self._docs.close()
            self._docs = None


def _local_files(event: QDropEvent) -> list[Path]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and Path(u.toLocalFile()).exists()]

