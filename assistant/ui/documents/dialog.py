"""Documents (Models → Documents…, Ctrl+Shift+D): collections kept in the library, indexed
in the background with a progress bar and Stop, and a search that lists the passages a
question finds with their keyword and vector ranks ("Why these passages?"). The embedding
model is chosen here too (catalog models, or a GGUF file); a change says what re-embedding
costs before it re-embeds the collections, with the same progress and Stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize
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
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from assistant.documents.errors import EmbeddingModelMissingError
from assistant.documents.model_choice import catalog_choices, plan_model_change
from assistant.documents.service import Documents
from assistant.errors import AssistantError
from assistant.library.catalog import CatalogEntry
from assistant.ui.common.window_size import fit_to_screen
from assistant.ui.documents.model_offer import EmbeddingModelOffer, needs_model
from assistant.ui.documents.model_picker import ModelPicker
from assistant.ui.documents.models import CollectionsModel, PassagesModel
from assistant.ui.documents.worker import DocumentsJob


class DocumentsDialog(QDialog):
    def __init__(self, docs: Documents, parent: Any = None, *, endpoint: Callable[[], str | None] | None = None) -> None:
        super().__init__(parent)
        self._ended = False
        self.setWindowTitle("Documents")
        self.docs = docs
        self.job: DocumentsJob | None = None
        self._after_model: Callable[[], None] | None = None  # what waited for the embedding model
        self._chosen: CatalogEntry | None = None  # a chosen model being downloaded: used once it is in
        self._queue: list[str] = []  # collections still to embed again after a model change
        self._left: list[str] = []  # those Stop left for their next indexing (said once the run ends)
        self.collections = CollectionsModel(self)
        self.passages = PassagesModel(self)
        lay = QVBoxLayout(self)
        intro = QLabel("Ask questions about your own files. They are read and searched on this computer; "
                       "only the passages you choose to send ever reach a cloud model.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.model_picker = ModelPicker(self)
        self.model_picker.combo.activated.connect(self._on_model_chosen)
        lay.addWidget(self.model_picker)
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
        fit_to_screen(self, QSize(900, 600))  # never past a small screen's edge
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
        self.sync_models()

    def current_model(self) -> Path | None:
        try:
            return self.docs.embedding_model_path().resolve()
        except EmbeddingModelMissingError:
            return None

    def sync_models(self) -> None:
        """The model list (installed or not) with the model in use shown."""
        self.model_picker.show_models(catalog_choices(self.docs.paths), self.current_model())

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
        for w in (self.add_folder, self.add_files, self.index_button, self.remove_button, self.search_button,
                  self.model_picker.combo):
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
        if self._chosen is not None:  # a model chosen in the list has come: change to it
            self._chosen = None
            then, self._after_model = self._after_model, None
            busy = self.job is not None and self.job.isRunning()
            if self.change_model(path) and then is not None and not self._queue and not busy:
                then()  # what waited for a model (the first use) runs with the chosen one
            return
        self.docs.set_embedding_model(path)  # also when a chosen model had gone missing
        self.sync_models()
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
        if self._ended:  # a result queued before the dialog closed: its store is closed now
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if current:
            self.status.setText(f"Reading {current} ({done + 1} of {total})")

    def _on_indexed(self, report: Any) -> None:
        if self._ended:  # a result queued before the dialog closed: its store is closed now
            return
        self._busy(False)
        if self._queue and not report.cancelled:
            self._reembed_next(report.summary())
            return
        self._queue = []
        lines = [report.summary()]
        lines += [f"Not read: {Path(p).name}: {why}" for p, why in report.failed[:5]]
        lines += [f"{Path(p).name}: page{'s' if len(pages) > 1 else ''} {', '.join(map(str, pages))} "
                  f"{'are scans' if len(pages) > 1 else 'is a scan'} with no text layer, not read." for p, pages in report.scanned[:5]]
        lines += report.notes[:3]
        if self._left:
            names = ", ".join(f"“{n}”" for n in self._left)
            lines.append(f"Not embedded again yet: {names}; the new model embeds it when next indexed."
                         if len(self._left) == 1 else
                         f"Not embedded again yet: {names}; the new model embeds them when next indexed.")
            self._left = []
        self.status.setText("\n".join(lines))
        self.refresh()

    def _on_failed(self, message: str) -> None:
        if self._ended:  # a result queued before the dialog closed: its store is closed now
            return
        self._queue = []
        self._busy(False)
        self.status.setText(message)
        self.refresh()

    def _on_stop(self) -> None:
        if self.job is not None:
            self.job.cancel.set()
            self._left, self._queue = self._queue, []
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
        if self._ended:  # a result queued before the dialog closed: its store is closed now
            return
        self._busy(False)
        self.passages.set_rows(retrieval.candidates[:8])
        self.status.setText("No passage matched well: the collection does not seem to contain this." if retrieval.weak
                            else "Ranked by reciprocal rank fusion of the keyword (FTS5) and vector searches.")

    # -- the embedding model -----------------------------------------------------------
    def _on_model_chosen(self, i: int) -> None:
        row = self.model_picker.models.row_at(i)
        self.sync_models()  # the list shows the model in use until a change is made
        if row is None:
            return
        if row.kind == "browse":
            name, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF embedding model", "",
                                                  "GGUF models (*.gguf);;All files (*)")
            if name:
                self.change_model(Path(name))
        elif row.path is not None:
            self.change_model(row.path)
        elif row.choice is not None:  # not installed: offer its download, then change to it
            if not self.model_offer.offer_choice(row.choice.entry):
                self.status.setText("Another embedding model is downloading: wait for it or cancel it first.")
                return
            self._chosen = row.choice.entry
            self.status.setText(f"Download {row.choice.entry.name} above to use it; nothing changes until it is in.")

    def change_model(self, path: Path, *, confirm: bool = True) -> bool:
        """Use the embedding model at `path`: say what re-embedding costs, ask, then re-embed."""
        path = Path(path).expanduser().resolve()
        if path == self.current_model():
            self.status.setText(f"{path.name} is already the embedding model.")
            return False
        plan = plan_model_change(self.docs, path)
        if plan.needed and confirm and not self._confirm_change(path, plan.describe()):
            self.status.setText("The embedding model was not changed.")
            return False
        try:
            self.docs.set_embedding_model(path)
        except AssistantError as exc:
            self.status.setText(str(exc))
            return False
        self.sync_models()
        self.status.setText(f"The embedding model is now {path.name}. " + ("" if plan.needed else plan.describe()))
        self._queue = list(plan.collections)
        if self._queue:
            self._reembed_next("")
        return True

    def _confirm_change(self, path: Path, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Change the embedding model?",
                          f"Use {path.name} to search your documents by meaning?\n\n{text}",
                          QMessageBox.StandardButton.Cancel, self)
        go = box.addButton("Change and embed again", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(go)
        box.exec()
        return box.clickedButton() is go

    def _reembed_next(self, done: str) -> None:
        name = self._queue.pop(0)
        self.refresh()
        self.start_index(name)
        self.status.setText((done + "\n" if done else "") + f"Embedding “{name}” again with the new model…")

    def done(self, r: int) -> None:  # closing while indexing stops the run; what is done is kept
        self._ended = True
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
