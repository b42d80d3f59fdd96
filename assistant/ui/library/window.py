"""The model library (Ctrl+L): Recommended, Search Hugging Face, Downloads, Installed.

Views only show the item models in ui/models; catalog loading, fit estimates, Hub
calls, scans, imports and deletes run on the thread pool (ui/jobs.py). Nothing here
touches the network while Offline mode is on: the Search tab says so and makes no call.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from assistant import network
from assistant.core.units import format_bytes
from assistant.library import usage
from assistant.library.installed import InstalledModel, delete_model, list_installed
from assistant.paths import Paths
from assistant.settings import Settings
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.library.models.catalog import CatalogModel, CatalogRow
from assistant.ui.library.models.downloads import DownloadsModel
from assistant.ui.library.models.hub_results import HubFilesModel, HubResultsModel, QuantRow
from assistant.ui.library.models.installed import LibraryInstalledModel
from assistant.ui.library.widgets import ProgressDelegate, _button, _selected_row, _table, confirm_license

log = logging.getLogger(__name__)

OFFLINE_SEARCH = "Offline mode is on: searching Hugging Face is off."
OFFLINE_BANNER = "Offline mode is on: the library shows what is on this computer and makes no network call."


class LibraryWindow(QDialog):
    model_use_requested = Signal(object)  # ModelRef
    model_settings_requested = Signal(object)  # ModelRef
    models_changed = Signal()  # installed, imported or deleted: the picker should rescan

    def __init__(self, paths: Paths, settings: Settings, downloads: Callable[[], Any],
                 parent: QWidget | None = None, endpoint: str | None = None) -> None:
        super().__init__(parent)
        self.endpoint = endpoint  # the Hub's address; None: huggingface_hub's default (tests: a local one)
        self.setWindowTitle("Model library")
        self.setObjectName("library")
        self.resize(1000, 640)
        self.paths, self.settings = paths, settings
        self._downloads_host = downloads  # () -> DownloadHost, created on first use
        self._jobs: list[Job] = []
        self.license_box: QMessageBox | None = None
        self.hw: Any = None

        self.banner = QLabel(OFFLINE_BANNER, self)
        self.banner.setAccessibleName("Offline notice")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("padding: 6px; border-radius: 4px; background: palette(alternate-base);")
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Library sections")
        self.tabs.addTab(self._build_recommended(), "&Recommended")
        self.tabs.addTab(self._build_search(), "&Search Hugging Face")
        self.tabs.addTab(self._build_downloads(), "&Downloads")
        self.tabs.addTab(self._build_installed(), "&Installed")
        lay = QVBoxLayout(self)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        close = _button("Close", "Close the library")
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        QShortcut(QKeySequence.StandardKey.Close, self, activated=self.close)
        self.refresh_offline()
        self.load_catalog()
        self.refresh_installed()

    # -- background work ---------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[Any], None] | None = None) -> None:
        def finish(job: Job) -> None:
            if job in self._jobs:
                self._jobs.remove(job)

        self._jobs.append(run_job(fn, done, failed or self._on_job_failed, on_end=finish))

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def _on_job_failed(self, exc: Exception) -> None:
        QMessageBox.warning(self, "Something went wrong", str(exc))

    def refresh_offline(self) -> None:
        off = network.is_offline()
        self.banner.setVisible(off)
        self.search_box.setEnabled(not off)
        self.search_button.setEnabled(not off)
        self.search_status.setText(OFFLINE_SEARCH if off else "Type a model name, for example “qwen 0.6b”.")

    # -- Recommended ------------------------------------------------------------------------
    def _build_recommended(self) -> QWidget:
        w = QWidget()
        self.catalog = CatalogModel(self)
        self.catalog_view = _table(self.catalog, "Recommended models", stretch=0)
        h = self.catalog_view.horizontalHeader()
        for col, width in ((1, 140), (2, 175), (3, 120), (4, 215)):
            h.resizeSection(col, width)
        self.catalog_view.selectionModel().currentRowChanged.connect(self._on_catalog_row_changed)
        self.catalog_detail = QLabel("Loading the catalog…")
        self.catalog_detail.setWordWrap(True)
        self.catalog_detail.setAccessibleName("About the selected model")
        self.quant_combo = QComboBox()
        self.quant_combo.setAccessibleName("Quantization")
        self.quant_combo.setMinimumContentsLength(36)
        self.catalog_download = _button("Download…", "Download the selected model")
        self.catalog_download.clicked.connect(self._on_catalog_download)
        self.catalog_download.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("Version:"))
        row.addWidget(self.quant_combo, 1)
        row.addWidget(self.catalog_download)
        lay = QVBoxLayout(w)
        lay.addWidget(self.catalog_view, 1)
        lay.addWidget(self.catalog_detail)
        lay.addLayout(row)
        return w

    def load_catalog(self) -> None:
        ctx = self.settings.context_length

        def work() -> tuple[Any, list[CatalogRow]]:
            from assistant import hardware
            from assistant.library.catalog import load_catalog
            from assistant.library.fit import estimate_fit, recommend

            hw = hardware.detect()
            entries = load_catalog()
            best = recommend(entries, hw, ctx)
            rows = [
                CatalogRow(e, tuple((f, estimate_fit(e, f, hw, ctx)) for f in e.files),
                           recommended=best is not None and best[0].id == e.id)
                for e in entries
            ]
            rows.sort(key=lambda r: (not r.recommended, not r.entry.good_first, r.entry.params_b))
            return hw, rows

        self._run(work, self._on_catalog_loaded)

    def _on_catalog_loaded(self, result: tuple[Any, list[CatalogRow]]) -> None:
        self.hw, rows = result
        self.catalog.set_rows(rows)
        if rows:
            self.catalog_view.selectRow(0)

    def _on_catalog_row_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        row: CatalogRow | None = self.catalog.row_at(current.row())
        self.quant_combo.clear()
        if row is None:
            return
        e = row.entry
        restr = f"<br><b>Licence limits:</b> {'; '.join(e.restrictions)}" if e.restrictions else ""
        self.catalog_detail.setText(f"<b>{e.name}</b> — {e.summary}<br>Licence: {e.license_name}. {e.license_note}{restr}")
        default = e.default_file()
        for f, fit in row.fits:
            self.quant_combo.addItem(f"{f.quant} · {format_bytes(f.size_bytes)} · {fit.label}", f.quant)
            self.quant_combo.setItemData(self.quant_combo.count() - 1, fit.detail, Qt.ItemDataRole.ToolTipRole)
            if f == default:
                self.quant_combo.setCurrentIndex(self.quant_combo.count() - 1)
        self.catalog_download.setEnabled(not network.is_offline())

    def _on_catalog_download(self) -> None:
        row: CatalogRow | None = _selected_row(self.catalog_view)
        if row is None:
            return
        file = row.entry.file(self.quant_combo.currentData() or "") or row.entry.default_file()
        self.download_catalog_file(row.entry, file)

    def download_catalog_file(self, entry: Any, file: Any) -> str | None:
        from assistant.library.download import DownloadRequest

        if not self._license_ok(entry.name, entry.license_name, entry.license_url, entry.license_note, entry.restrictions):
            return None
        req = DownloadRequest(entry.gguf_repo, list(file.filenames), catalog_id=entry.id,
                              license_id=entry.license_id, license_name=entry.license_name, quant=file.quant)
        return self._enqueue(req)

    def _license_ok(self, name: str, lic: str, url: str, note: str, restrictions: tuple[str, ...]) -> bool:
        self.license_box = confirm_license(self, name, lic, url, note, restrictions)
        self.license_box.exec()
        clicked = self.license_box.clickedButton()
        ok = clicked is not None and self.license_box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole
        self.license_box = None
        return ok

    def _enqueue(self, request: Any) -> str | None:
        if network.is_offline():
            QMessageBox.information(self, "Offline", "Offline mode is on: downloads are off.")
            return None
        host = self._downloads_host()
        self._connect_host(host)
        dl_id = host.enqueue(request)
        self.tabs.setCurrentIndex(2)
        return dl_id

    # -- Search ----------------------------------------------------------------------------
    def _build_search(self) -> QWidget:
        w = QWidget()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search GGUF models on Hugging Face")
        self.search_box.setAccessibleName("Search Hugging Face")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.search_button = _button("Search", "Search")
        self.search_button.clicked.connect(self.search)
        self.search_status = QLabel()
        self.search_status.setAccessibleName("Search status")
        self.search_status.setWordWrap(True)
        self.hub_results = HubResultsModel(self)
        self.results_view = _table(self.hub_results, "Search results")
        for col, width in ((1, 110), (2, 70), (3, 130)):
            self.results_view.horizontalHeader().resizeSection(col, width)
        self.results_view.selectionModel().currentRowChanged.connect(self._on_result_changed)
        self.hub_files = HubFilesModel(self)
        self.files_view = _table(self.hub_files, "Files of the repository", stretch=1)
        for col, width in ((0, 110), (2, 100), (3, 160)):
            self.files_view.horizontalHeader().resizeSection(col, width)
        self.hub_download = _button("Download…", "Download the selected file")
        self.hub_download.clicked.connect(self._on_hub_download)
        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.search_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.hub_download)
        lay = QVBoxLayout(w)
        lay.addLayout(top)
        lay.addWidget(self.search_status)
        lay.addWidget(self.results_view, 3)
        lay.addWidget(QLabel("Files (each quantization is one version of the model):"))
        lay.addWidget(self.files_view, 2)
        lay.addLayout(bottom)
        self._repo_license: str | None = None
        return w

    def _hub(self) -> Any:
        from assistant.library.hub import HubClient

        return HubClient(self.endpoint)

    def search(self) -> None:
        query = self.search_box.text().strip()
        if network.is_offline():
            self.search_status.setText(OFFLINE_SEARCH)
            return
        if not query:
            return
        self.search_status.setText(f"Searching for “{query}”…")
        self.hub_files.set_rows([])
        self._run(lambda: self._hub().search(query), self._on_search_done, self._on_search_failed)

    def _on_search_done(self, repos: list[Any]) -> None:
        self.hub_results.set_rows(repos)
        self.search_status.setText(f"{len(repos)} repositories found." if repos else "Nothing found: try other words.")

    def _on_search_failed(self, exc: Exception) -> None:
        self.search_status.setText(str(exc).replace("\n", " "))

    def _on_result_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        repo = self.hub_results.row_at(current.row())
        if repo is None or network.is_offline():
            return
        ctx, hw = self.settings.context_length, self.hw
        self._repo_license = repo.license_id

        def work() -> tuple[list[QuantRow], str]:
            from assistant import hardware
            from assistant.library.fit import estimate_fit_bytes

            h = hw or hardware.detect()
            quants, note = self._hub().quants_and_note(repo.repo_id)
            return [QuantRow(q, estimate_fit_bytes(q.size, None, h, ctx)) for q in quants], note

        self.search_status.setText(f"Listing the files of {repo.repo_id}…")
        self._run(work, self._on_files_done, self._on_search_failed)

    def _on_files_done(self, result: tuple[list[QuantRow], str]) -> None:
        rows, note = result
        self.hub_files.set_rows(rows)
        self.search_status.setText(f"{len(rows)} versions. Pick one and press Download. {note}".strip())
        if rows:
            self.files_view.selectRow(0)

    def _on_hub_download(self) -> None:
        from assistant.library.catalog import license_restrictions
        from assistant.library.download import DownloadRequest

        repo = _selected_row(self.results_view)
        q: QuantRow | None = _selected_row(self.files_view)
        if repo is None or q is None:
            return
        lic = repo.license_id or "not stated"
        if not self._license_ok(repo.repo_id, lic, f"https://huggingface.co/{repo.repo_id}", "",
                                license_restrictions(repo.license_id)):
            return
        req = DownloadRequest(repo.repo_id, [f.filename for f in q.quant.files], license_id=repo.license_id,
                              quant=q.quant.quant)
        self._enqueue(req)

    # -- Downloads -------------------------------------------------------------------------
    def _build_downloads(self) -> QWidget:
        w = QWidget()
        self.downloads = DownloadsModel(self)  # replaced by the host's model on first use
        self.downloads_view = _table(self.downloads, "Downloads")
        self.downloads_view.setItemDelegateForColumn(1, ProgressDelegate(self.downloads_view))
        for col, width in ((1, 230), (2, 170), (3, 220)):
            self.downloads_view.horizontalHeader().resizeSection(col, width)
        self.pause_button = _button("Pause", "Pause the download")
        self.resume_button = _button("Resume", "Resume the download")
        self.cancel_button = _button("Cancel", "Cancel the download")
        self.pause_button.clicked.connect(lambda: self._on_download_action("pause"))
        self.resume_button.clicked.connect(lambda: self._on_download_action("resume"))
        self.cancel_button.clicked.connect(lambda: self._on_download_action("cancel"))
        self.downloads_empty = QLabel("Nothing is downloading. Pick a model under Recommended or Search.")
        row = QHBoxLayout()
        row.addWidget(self.downloads_empty, 1)
        for b in (self.pause_button, self.resume_button, self.cancel_button):
            row.addWidget(b)
        lay = QVBoxLayout(w)
        lay.addWidget(self.downloads_view, 1)
        lay.addLayout(row)
        self._host: Any = None
        return w

    def _connect_host(self, host: Any) -> None:
        if self._host is host:
            return
        self._host = host
        self.downloads = host.model
        self.downloads_view.setModel(host.model)
        self.downloads_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        host.download_finished.connect(self._on_download_finished)
        host.progress_changed.connect(lambda *_: self.downloads_empty.setText(""))

    def _on_download_action(self, action: str) -> None:
        row = _selected_row(self.downloads_view)
        if row is None or self._host is None:
            return
        getattr(self._host, action)(row.download_id)

    def _on_download_finished(self, _dl_id: str, _path: Path) -> None:
        self.refresh_installed()
        self.models_changed.emit()

    # -- Installed ---------------------------------------------------------------------------
    def _build_installed(self) -> QWidget:
        w = QWidget()
        self.installed = LibraryInstalledModel(self)
        self.installed_view = _table(self.installed, "Installed models")
        for col, width in ((1, 110), (2, 70), (3, 110), (4, 150), (5, 110)):
            self.installed_view.horizontalHeader().resizeSection(col, width)
        self.installed_view.doubleClicked.connect(lambda _i: self._on_use())
        self.use_button = _button("Use this model", "Use this model in the chat")
        self.settings_button = _button("Settings…", "Settings of this model")
        self.delete_button = _button("Delete…", "Delete this model")
        self.import_button = _button("Import a model file…", "Import a GGUF model file")
        self.import_folder_button = _button("Import an MLX folder…", "Import an MLX model folder")
        self.use_button.clicked.connect(self._on_use)
        self.settings_button.clicked.connect(self._on_model_settings)
        self.delete_button.clicked.connect(self._on_delete)
        self.import_button.clicked.connect(self._on_import_file)
        self.import_folder_button.clicked.connect(self._on_import_folder)
        self.installed_status = QLabel()
        self.installed_status.setAccessibleName("Installed models status")
        row = QHBoxLayout()
        for b in (self.use_button, self.settings_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.import_button)
        row.addWidget(self.import_folder_button)
        lay = QVBoxLayout(w)
        lay.addWidget(self.installed_view, 1)
        lay.addWidget(self.installed_status)
        lay.addLayout(row)
        return w

    def refresh_installed(self) -> None:
        models_dir, extra = self.paths.models_dir, list(self.settings.extra_models)
        usage_file = usage.usage_path(self.paths.data_dir)
        self._run(lambda: list_installed(models_dir, extra, usage.load_usage(usage_file)), self._on_installed)

    def _on_installed(self, rows: list[InstalledModel]) -> None:
        self.installed.set_rows(rows)
        total = sum(r.size_bytes for r in rows if r.in_models_dir)
        self.installed_status.setText(
            f"{len(rows)} model{'' if len(rows) == 1 else 's'}, {format_bytes(total)} in {self.paths.models_dir}" if rows
            else "No models yet: download one under Recommended, or import a file you have."
        )

    def _current_installed(self) -> InstalledModel | None:
        return _selected_row(self.installed_view)

    def _on_use(self) -> None:
        m = self._current_installed()
        if m is not None:
            self.model_use_requested.emit(m.ref)

    def _on_model_settings(self) -> None:
        m = self._current_installed()
        if m is not None:
            self.model_settings_requested.emit(m.ref)

    def _on_delete(self) -> None:
        from assistant.library.installed import freed_bytes

        m = self._current_installed()
        if m is None:
            return
        if not m.in_models_dir:
            QMessageBox.information(self, "Not in the library folder",
                                    f"{m.path} was added from elsewhere on disk; it is not deleted.")
            return
        freed = freed_bytes(m)
        answer = QMessageBox.question(
            self, "Delete this model?",
            f"Delete {m.name}? This frees {format_bytes(freed)} of disk space. You can download it again later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        models_dir, usage_file = self.paths.models_dir, usage.usage_path(self.paths.data_dir)

        def work() -> int:
            n = delete_model(m, models_dir)
            usage.forget(usage_file, m.path)
            return n

        self._run(work, self._on_deleted)

    def _on_deleted(self, freed: int) -> None:
        self.installed_status.setText(f"Deleted. {format_bytes(freed)} freed.")
        self.refresh_installed()
        self.models_changed.emit()

    def _on_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a model file", str(Path.home()),
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self.import_path(Path(path))

    def _on_import_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import an MLX model folder", str(Path.home()))
        if path:
            self.import_path(Path(path))

    def import_path(self, src: Path) -> None:
        from assistant.library.importer import import_model

        models_dir = self.paths.models_dir
        self.installed_status.setText(f"Importing {src.name}…")
        self.tabs.setCurrentIndex(3)
        self._run(lambda: import_model(src, models_dir), self._on_imported, self._on_import_failed)

    def _on_imported(self, path: Path) -> None:
        self.installed_status.setText(f"Imported {path.name}.")
        self.refresh_installed()
        self.models_changed.emit()

    def _on_import_failed(self, exc: Exception) -> None:
        self.installed_status.setText("The import failed.")
        QMessageBox.warning(self, "This model cannot be imported", str(exc))
