"""The first use of documents offers the embedding model: "Download bge-small-en-v1.5 (about
35.0 MB)", with a progress bar and Cancel. Choosing another catalog model that is not
installed yet (Documents → Embedding model) offers that one the same way (`offer(entry)`).

The download is the library's own (DownloadHost: DownloadQueue on its worker thread, ranged
GETs, SHA-256 checked, moved in only when whole) into the documents' embedding models
folder, where `Documents.embedding_model_path` finds it. Offline mode is said at once and
nothing connects. `ready` fires once the model is in place; the caller then does what
needed it (index, search).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from assistant import network
from assistant.core.units import format_bytes
from assistant.documents.errors import EmbeddingModelMissingError
from assistant.documents.service import Documents, embedding_models_dir
from assistant.errors import AssistantError
from assistant.library.catalog import CatalogEntry, default_embedding_model
from assistant.library.download_support import DownloadRequest
from assistant.library.hub_access import endpoint_from_setting, stored_token
from assistant.paths import Paths
from assistant.settings import load_settings

log = logging.getLogger(__name__)

OFFLINE_TEXT = ("Offline mode is on, so the embedding model is not downloaded. Turn Offline mode off "
                "(Settings → Privacy) and try again, or choose a GGUF embedding model you already have "
                "with `assistant docs model PATH`.")


def default_request(entry: CatalogEntry) -> DownloadRequest:
    """The catalog entry's default file, as `assistant models pull` asks for it."""
    file = entry.default_file()
    return DownloadRequest(entry.gguf_repo, list(file.filenames), catalog_id=entry.id, license_id=entry.license_id,
                           license_name=entry.license_name, quant=file.quant)


def needs_model(docs: Documents) -> bool:
    """True when no embedding model is installed (or the chosen one is gone)."""
    try:
        docs.embedding_model_path()
    except EmbeddingModelMissingError:
        return True
    return False


class EmbeddingModelOffer(QWidget):
    ready = Signal(object)  # Path of the downloaded model
    said = Signal(str)  # a line for the caller's status

    def __init__(self, paths: Paths, parent: Any = None, *, endpoint: Callable[[], str | None] | None = None,
                 entry: CatalogEntry | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Download an embedding model")
        self.paths = paths
        self._endpoint = endpoint or (lambda: endpoint_from_setting(load_settings(paths.settings_file).settings.hub_endpoint))
        self.entry = entry or default_embedding_model()
        self.host: Any = None  # DownloadHost, made on the first download (no thread, no network before)
        self.dl_id: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        self.download_button = QPushButton(self._button_text(), self)
        self.download_button.setEnabled(self.entry is not None)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel the embedding model download")
        self.progress = QProgressBar(self)
        self.progress.setAccessibleName("Embedding model download")
        row.addWidget(self.download_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)
        self.download_button.clicked.connect(self.download)
        self.cancel_button.clicked.connect(self.cancel)
        self._downloading(False)
        self.hide()

    def _button_text(self) -> str:
        size = f" (about {format_bytes(self.entry.default_file().size_bytes)})" if self.entry else ""
        return f"Download {self.entry.id if self.entry else 'a model'}{size}"

    def set_entry(self, entry: CatalogEntry) -> bool:
        """Offer `entry` from now on; False (and nothing changes) while a download runs."""
        if self.busy():
            return False
        self.entry = entry
        self.download_button.setText(self._button_text())
        self._downloading(False)
        return True

    def offer_choice(self, entry: CatalogEntry) -> bool:
        """Show the offer of a model the user chose that is not installed yet."""
        if not self.set_entry(entry):
            return False
        self.text.setText(f"{entry.name} ({entry.id}, {entry.license_name}) is not installed yet: download it "
                          f"(about {format_bytes(entry.default_file().size_bytes)}) to use it."
                          + ("\n" + OFFLINE_TEXT if network.is_offline() else ""))
        self.show()
        return True

    def offer(self) -> None:
        """Show the offer (the caller found no embedding model)."""
        if self.entry is None:
            self.text.setText("No embedding model is installed, and the catalog lists none to download. "
                              "Choose a GGUF embedding model with `assistant docs model PATH`.")
        else:
            e = self.entry
            self.text.setText(f"Documents need an embedding model to be searched by meaning, and none is installed. "
                              f"{e.name} ({e.id}, {e.license_name}) is small and runs on this computer."
                              + ("\n" + OFFLINE_TEXT if network.is_offline() else ""))
        if not self.busy():
            self._downloading(False)
        self.show()

    def busy(self) -> bool:
        return self.dl_id is not None

    def _downloading(self, on: bool) -> None:
        self.download_button.setVisible(not on)
        self.download_button.setEnabled(self.entry is not None and not on)
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)

    # -- the download ----------------------------------------------------------------------
    def download(self) -> None:
        if self.entry is None or self.busy():
            return
        if network.is_offline():  # said here, before any thread or connection
            self.text.setText(OFFLINE_TEXT)
            self.said.emit(OFFLINE_TEXT)
            return
        if self.host is None:
            from assistant.ui.library.download_host import DownloadHost

            self.host = DownloadHost(embedding_models_dir(self.paths), self._endpoint(), self,
                                     token_source=stored_token)
            self.host.progress_changed.connect(self._on_progress)
        self.progress.setRange(0, 0)
        self._downloading(True)
        self.text.setText(f"Downloading {self.entry.name}…")
        self.dl_id = self.host.enqueue(default_request(self.entry))
        self.host.resume(self.dl_id)  # a part left paused by an earlier run goes on from where it stopped

    def cancel(self) -> None:
        if self.host is not None and self.dl_id is not None:
            self.host.cancel(self.dl_id)

    def _on_progress(self, dl_id: str, p: Any) -> None:
        if dl_id != self.dl_id:
            return
        if p.bytes_total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(p.bytes_done, p.bytes_total) / p.bytes_total))
        if p.state in ("checking", "downloading", "verifying") and p.message:
            done = f" ({format_bytes(p.bytes_done)} of {format_bytes(p.bytes_total)})" if p.bytes_total else ""
            self.text.setText(p.message + done)
        if p.state == "done" and p.result_path is not None:
            self.dl_id = None
            self._downloading(False)
            self.hide()
            self.said.emit(f"{self.entry.name if self.entry else 'The embedding model'} is installed.")
            self.ready.emit(Path(p.result_path))
        elif p.state in ("failed", "cancelled", "paused"):
            self.dl_id = None
            self._downloading(False)
            if p.state == "cancelled":
                text = "Download cancelled: nothing was kept. Documents need an embedding model to be searched."
            elif p.state == "paused":
                text = "Download paused: what was downloaded is kept, and Download goes on from there."
            else:
                err = p.error
                text = str(err) if isinstance(err, AssistantError) else (p.message or "The download failed.")
            self.text.setText(text)
            self.said.emit(text)

    def shutdown(self) -> None:
        """Pause a running download (its part stays) and end the queue's thread."""
        if self.host is not None:
            self.host.shutdown()
            self.host = None
            self.dl_id = None
