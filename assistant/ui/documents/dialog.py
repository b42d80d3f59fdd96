"""Documents (Models → Documents…, Ctrl+Shift+D): collections kept in the library, indexed
in the background with a progress bar and Stop, and a search that lists the passages a
question finds with their keyword and vector ranks ("Why these passages?")."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from assistant.documents.service import Documents
from assistant.errors import AssistantError
from assistant.ui.documents.model_offer import EmbeddingModelOffer, needs_model
from assistant.ui.documents.models import CollectionsModel, PassagesModel
from assistant.ui.documents.worker import DocumentsJob


class DocumentsDialog(QDialog):
    def __init__(self, docs: Documents, parent: Any = None, *, endpoint: Callable[[], str | None] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Documents")
        self.docs = docs
        self.job: DocumentsJob | None = None
        self._after_model: Callable[[], None] | None = None  # what waited for the embedding model
        self.collections = CollectionsModel(self)
        self.passages = PassagesModel(self)
        lay = QVBoxLayout(self)
        intro = QLabel("Ask questions about your own files. They are read and searched on this computer; "
                       "only the passages you choose to send ever reach a cloud model.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.model_offer = EmbeddingModelOffer(docs.paths, self, endpoint=endpoint)
        self.model_offer.ready.connect(self._on_model_ready)
        lay.addWidget(self.model_offer)
        self.table = self._table(self.collections)
        lay.addWidget(self.table, 2)
        row = QHBoxLayout()
        self.add_folder = QPushButton("New from folder…")
        self.add_files = QPushButton("New from files…")
        self.index_button = QPushButton("Index now")
        self.stop_button = QPushButton("Stop")
        self.remove_button = QPushButton("Remove")
        self.never_cloud = QCheckBox("Never send to the cloud")
        for w in (self.add_folder, self.add_files, self.index_button, self.stop_button, self.remove_button):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.never_cloud)  # its own line: the buttons fit 800 px at a 14 pt font
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self.model_offer.said.connect(self.status.setText)
        search = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("Search the selected collection…")
        self.search_button = QPushButton("Why these passages?")
        search.addWidget(self.query, 1)
        search.addWidget(self.search_button)
        lay.addLayout(search)
        self.results = self._table(self.passages)
        lay.addWidget(self.results, 3)
        self.stop_button.setEnabled(False)
        self.add_folder.clicked.connect(self._on_add_folder)
        self.add_files.clicked.connect(self._on_add_files)
        self.index_button.clicked.connect(self._on_index)
        self.stop_button.clicked.connect(self._on_stop)
        self.remove_button.clicked.connect(self._on_remove)
        self.never_cloud.toggled.connect(self._on_never_cloud)
        self.search_button.clicked.connect(self._on_search)
        self.query.returnPressed.connect(self._on_search)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._sync_checkbox())
        self.resize(900, 600)
        self.refresh()
        if needs_model(self.docs):  # the first use: offer the default embedding model
            self.model_offer.offer()

    def _table(self, model: Any) -> QTableView:
        t = QTableView()
        t.setModel(model)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.verticalHeader().setVisible(False)
        t.horizontalHeader().setStretchLastSection(True)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        t.setWordWrap(False)
        return t

    # -- state ---------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.selected()
        self.collections.set_rows(self.docs.infos())
        names = [c.name for c in self.collections.rows()]
        if names:
            self.table.selectRow(names.index(current) if current in names else 0)
        self._sync_checkbox()

    def selected(self) -> str | None:
        i = self.table.currentIndex().row()
        row = self.collections.row_at(i) if i >= 0 else None
        return row.name if row is not None else None

    def _sync_checkbox(self) -> None:
        i = self.table.currentIndex().row()
        row = self.collections.row_at(i) if i >= 0 else None
        self.never_cloud.blockSignals(True)
        self.never_cloud.setChecked(bool(row and row.never_cloud))
        self.never_cloud.setEnabled(row is not None)
        self.never_cloud.blockSignals(False)

    def _busy(self, busy: bool) -> None:
        for w in (self.add_folder, self.add_files, self.index_button, self.remove_button, self.search_button):
            w.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.progress.setVisible(busy)

    # -- actions -------------------------------------------------------------------------
    def _ask_name(self, default: str) -> str | None:
        name, ok = QInputDialog.getText(self, "New collection", "Name of the collection:", text=default)
        return name.strip() if ok and name.strip() else None

    def _on_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of documents")
        if folder:
            self.add_collection(Path(folder).name, [Path(folder)])

    def _on_add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Choose documents", "",
                                                "Documents (*.pdf *.docx *.html *.htm *.md *.txt *.csv);;All files (*)")
        if files:
            self.add_collection(Path(files[0]).stem, [Path(f) for f in files])

    def add_collection(self, default_name: str, paths: list[Path], *, ask: bool = True) -> None:
        name = self._ask_name(default_name) if ask else default_name
        if not name:
            return
        try:
            self.docs.add(name, paths)
        except AssistantError as exc:
            self.status.setText(str(exc))
            return
        self.refresh()
        self.table.selectRow([c.name for c in self.collections.rows()].index(name))
        self.start_index(name)

    def _on_index(self) -> None:
        name = self.selected()
        if name:
            self.start_index(name)

    def _model_or_offer(self, then: Callable[[], None]) -> bool:
        """True when an embedding model is installed; else offer the download, and `then` after it."""
        if not needs_model(self.docs):
            return True
        self._after_model = then
        self.model_offer.offer()
        self.status.setText("An embedding model is needed first: download it above.")
        return False

    def _on_model_ready(self, path: Path) -> None:
        self.docs.set_embedding_model(path)  # also when a chosen model had gone missing
        then, self._after_model = self._after_model, None
        self.status.setText("The embedding model is installed.")
        if then is not None:
            then()

    def start_index(self, name: str) -> None:
        if not self._model_or_offer(lambda: self.start_index(name)):
            return
        self.job = DocumentsJob(lambda cancel, progress: self.docs.sync(name, cancel=cancel, progress=progress), self)
        self.job.progressed.connect(self._on_progressed)
        self.job.succeeded.connect(self._on_indexed)
        self.job.failed.connect(self._on_failed)
        self._busy(True)
        self.progress.setRange(0, 0)
        self.status.setText(f"Indexing “{name}”… (starting the embedding model)")
        self.job.start()

    def _on_progressed(self, done: int, total: int, current: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if current:
            self.status.setText(f"Reading {current} ({done + 1} of {total})")

    def _on_indexed(self, report: Any) -> None:
        self._busy(False)
        lines = [report.summary()]
        lines += [f"Not read: {Path(p).name}: {why}" for p, why in report.failed[:5]]
        lines += [f"{Path(p).name}: page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))} "
                  f"{'are scans' if len(pages) > 1 else 'is a scan'} with no text layer, not read." for p, pages in report.scanned[:5]]
        lines += report.notes[:3]
        self.status.setText("\n".join(lines))
        self.refresh()

    def _on_failed(self, message: str) -> None:
        self._busy(False)
        self.status.setText(message)
        self.refresh()

    def _on_stop(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self.status.setText("Stopping after the current file… what is done is kept.")

    def _on_remove(self) -> None:
        name = self.selected()
        if name:
            self.docs.remove(name)
            self.passages.set_rows([])
            self.refresh()
            self.status.setText(f"“{name}” removed. Your files were not touched.")

    def _on_never_cloud(self, checked: bool) -> None:
        name = self.selected()
        if name:
            self.docs.set_never_cloud(name, checked)
            self.refresh()

    def _on_search(self) -> None:
        name, text = self.selected(), self.query.text().strip()
        if not name or not text:
            return
        if not self._model_or_offer(self._on_search):
            return
        self.job = DocumentsJob(lambda cancel, progress: self.docs.search(text, [name], top_k=8), self)
        self.job.succeeded.connect(self._on_found)
        self.job.failed.connect(self._on_failed)
        self._busy(True)
        self.progress.setRange(0, 0)
        self.job.start()

    def _on_found(self, retrieval: Any) -> None:
        self._busy(False)
        self.passages.set_rows(retrieval.candidates[:8])
        self.status.setText("No passage matched well: the collection does not seem to contain this." if retrieval.weak
                            else "Ranked by reciprocal rank fusion of the keyword (FTS5) and vector searches.")

    def done(self, r: int) -> None:  # closing while indexing stops the run; what is done is kept
        if self.job is not None and self.job.isRunning():
            self.job.cancel.set()
            self.job.wait()
        self.model_offer.shutdown()
        super().done(r)


def open_documents(window: Any) -> DocumentsDialog:
    """The window's one Documents dialog (made on first use; its embedding engine ends with it)."""
    dialog = getattr(window, "_documents_dialog", None)
    if dialog is None:
        endpoint = getattr(window, "current_hub_endpoint", None)
        dialog = DocumentsDialog(Documents(window.paths), window, endpoint=endpoint)
        dialog.finished.connect(lambda _r: _closed(window, dialog))
        window._documents_dialog = dialog
    dialog.show()
    dialog.raise_()
    return dialog


def _closed(window: Any, dialog: DocumentsDialog) -> None:
    dialog.docs.close()
    window._documents_dialog = None
    dialog.deleteLater()
