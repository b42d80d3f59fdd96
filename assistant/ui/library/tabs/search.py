"""The library's Search Hugging Face tab: GGUF repositories matching a query, the files
of the selected one by quantization with a fit label each, and Download…. In Offline
mode it says so and makes no call."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from assistant import hardware, network
from assistant.library.catalog import license_restrictions
from assistant.library.download import DownloadRequest
from assistant.library.fit import estimate_fit_bytes
from assistant.library.hub import HubClient, SearchPage
from assistant.library.hub_access import stored_token
from assistant.library.speed import load_calibration
from assistant.ui.common.buttons import dialog_button
from assistant.ui.library.context import LibraryContext
from assistant.ui.library.models.hub_results import HubFilesModel, HubResultsModel, QuantRow
from assistant.ui.library.widgets import _selected_row, _table

OFFLINE_SEARCH = "Offline mode is on: searching Hugging Face is off."
PAGE_SIZE = 30


class SearchTab(QWidget):
    def __init__(self, context: LibraryContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = context
        self._hw: Any = None  # from the Recommended tab's catalog load; detected here if it is not in yet
        self._repo_license: str | None = None
        self._query = ""
        self._next_url: str | None = None  # the Hub's next page of results (Link rel="next")
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search GGUF models on Hugging Face")
        self.search_box.setAccessibleName("Search Hugging Face")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.returnPressed.connect(self.search)
        self.search_button = dialog_button("Search", "Search")
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
        for col, width in ((0, 110), (1, 100), (2, 200)):
            self.files_view.horizontalHeader().resizeSection(col, width)
        self.hub_download = dialog_button("Download…", "Download the selected file")
        self.hub_download.clicked.connect(self._on_hub_download)
        self.more_button = dialog_button("More results", "Show more search results")
        self.more_button.clicked.connect(self._on_more_clicked)
        self.more_button.setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.search_box, 1)
        top.addWidget(self.search_button)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.hub_download)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.search_status)
        lay.addWidget(self.results_view, 3)
        more = QHBoxLayout()
        more.addStretch(1)
        more.addWidget(self.more_button)
        lay.addLayout(more)
        files_label = QLabel("Files (each quantization is one version of the model):")
        files_label.setWordWrap(True)
        lay.addWidget(files_label)
        lay.addWidget(self.files_view, 2)
        lay.addLayout(bottom)

    def set_hardware(self, hw: Any) -> None:
        self._hw = hw

    def refresh_offline(self) -> None:
        off = network.is_offline()
        self.search_box.setEnabled(not off)
        self.search_button.setEnabled(not off)
        self.search_status.setText(OFFLINE_SEARCH if off else "Type a model name, for example “qwen 0.6b”.")

    def _hub(self) -> Any:
        """A client for the Hub with the user's token (call it off the GUI thread: keyring)."""
        return HubClient(self._ctx.endpoint, stored_token())

    def search(self) -> None:
        query = self.search_box.text().strip()
        if network.is_offline():
            self.search_status.setText(OFFLINE_SEARCH)
            return
        if not query:
            return
        self._query, self._next_url = query, None
        self.more_button.setVisible(False)
        self.search_status.setText(f"Searching for “{query}”…")
        self.hub_files.set_rows([])
        self.hub_results.set_rows([])
        self._ctx.run(lambda: self._hub().search_page(query, limit=PAGE_SIZE), self._on_search_done,
                      self._on_search_failed)

    def _on_more_clicked(self) -> None:
        url, query = self._next_url, self._query
        if url is None or network.is_offline():
            return
        self.more_button.setEnabled(False)
        self.search_status.setText(f"Fetching more results for “{query}”…")
        self._ctx.run(lambda: self._hub().search_page(query, limit=PAGE_SIZE, next_url=url), self._on_search_done,
                      self._on_search_failed)

    def _on_search_done(self, page: SearchPage) -> None:
        for repo in page.repos:
            self.hub_results.append_row(repo)
        self._next_url = page.next_url
        self.more_button.setVisible(page.next_url is not None)
        self.more_button.setEnabled(True)
        n = self.hub_results.rowCount()
        more = " More are on the next page." if page.next_url else ""
        self.search_status.setText(f"{n} repositories found.{more}" if n else "Nothing found: try other words.")

    def _on_search_failed(self, exc: Exception) -> None:
        self.more_button.setEnabled(True)
        self.search_status.setText(str(exc).replace("\n", " "))

    def _on_result_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        repo = self.hub_results.row_at(current.row())
        if repo is None or network.is_offline():
            return
        ctx, hw, data_dir = self._ctx.settings.context_length, self._hw, self._ctx.paths.data_dir
        self._repo_license = repo.license_id

        def work() -> tuple[list[QuantRow], str]:
            h = hw or hardware.detect()
            cal = load_calibration(data_dir, h)
            quants, note = self._hub().quants_and_note(repo.repo_id)  # note: what the vision projectors are
            # unknown architecture: counted as a dense model, so a mixture of experts is faster than shown
            # a vision model's projector downloads with it and is in memory beside the weights
            return [QuantRow(q, estimate_fit_bytes(q.size, None, h, ctx, calibration=cal,
                                                    projector_bytes=q.total_size - q.size)) for q in quants], note

        self.search_status.setText(f"Listing the files of {repo.repo_id}…")
        self._ctx.run(work, self._on_files_done, self._on_search_failed)

    def _on_files_done(self, result: tuple[list[QuantRow], str]) -> None:
        rows, note = result
        self.hub_files.set_rows(rows)
        self.search_status.setText(f"{len(rows)} versions. Pick one and press Download. {note}".strip())
        if rows:
            self.files_view.selectRow(0)

    def _on_hub_download(self) -> None:
        repo = _selected_row(self.results_view)
        q: QuantRow | None = _selected_row(self.files_view)
        if repo is None or q is None:
            return
        lic = repo.license_id or "not stated"
        if not self._ctx.license_ok(repo.repo_id, lic, f"https://huggingface.co/{repo.repo_id}", "",
                                    license_restrictions(repo.license_id)):
            return
        req = DownloadRequest(repo.repo_id, q.quant.download_files, license_id=repo.license_id,
                              quant=q.quant.quant)
        self._ctx.enqueue(req)
