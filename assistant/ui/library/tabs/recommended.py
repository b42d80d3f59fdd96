"""The library's Recommended tab: the curated catalog with a fit label per model and per
quantization (catalog and fit estimates computed on the thread pool), and Download…."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from assistant import hardware, network
from assistant.core.units import format_bytes
from assistant.library.catalog import load_catalog, offered
from assistant.library.download import DownloadRequest
from assistant.library.fit import estimate_fit, recommend
from assistant.library.speed import load_calibration
from assistant.ui.common.buttons import dialog_button
from assistant.ui.common.elided import ElidedComboBox
from assistant.ui.library.context import LibraryContext
from assistant.ui.library.models.catalog import CatalogModel, CatalogRow
from assistant.ui.library.widgets import _selected_row, _table


class RecommendedTab(QWidget):
    hardware_detected = Signal(object)  # hardware.Hardware, found while the catalog loaded

    def __init__(self, context: LibraryContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = context
        self.hw: Any = None
        self.catalog = CatalogModel(self)
        self.catalog_view = _table(self.catalog, "Recommended models", stretch=0)
        h = self.catalog_view.horizontalHeader()
        for col, width in ((1, 215), (2, 140), (3, 175), (4, 120)):
            h.resizeSection(col, width)
        self.catalog_view.selectionModel().currentRowChanged.connect(self._on_catalog_row_changed)
        self.catalog_detail = QLabel("Loading the catalog…")
        self.catalog_detail.setWordWrap(True)
        self.catalog_detail.setAccessibleName("About the selected model")
        self.quant_combo = ElidedComboBox()  # "Q4_K_M · 3.9 GB · CPU only, …": cut with an ellipsis
        self.quant_combo.setAccessibleName("Quantization")
        self.quant_combo.setMinimumContentsLength(20)  # "Q4_K_M · 4.7 GB · CPU only" (wider when there is room)
        self.quant_combo.setSizeAdjustPolicy(ElidedComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.catalog_download = dialog_button("Download…", "Download the selected model")
        self.catalog_download.clicked.connect(self._on_catalog_download)
        self.catalog_download.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(QLabel("Version:"))
        row.addWidget(self.quant_combo, 1)
        row.addWidget(self.catalog_download)
        lay = QVBoxLayout(self)
        lay.addWidget(self.catalog_view, 1)
        lay.addWidget(self.catalog_detail)
        lay.addLayout(row)

    def load_catalog(self) -> None:
        ctx, data_dir = self._ctx.settings.context_length, self._ctx.paths.data_dir

        def work() -> tuple[Any, list[CatalogRow]]:
            hw = hardware.detect()
            entries = offered(load_catalog())  # only what this llama.cpp build can run
            cal = load_calibration(data_dir, hw)
            best = recommend(entries, hw, ctx, calibration=cal)
            rows = [
                CatalogRow(e, tuple((f, estimate_fit(e, f, hw, ctx, calibration=cal)) for f in e.files),
                           recommended=best is not None and best[0].id == e.id)
                for e in entries
            ]
            rows.sort(key=lambda r: (not r.recommended, not r.good_first, r.entry.params_b))
            return hw, rows

        self._ctx.run(work, self._on_catalog_loaded)

    def _on_catalog_loaded(self, result: tuple[Any, list[CatalogRow]]) -> None:
        self.hw, rows = result
        self.hardware_detected.emit(self.hw)
        self.catalog.set_rows(rows)
        if rows:  # the highlighted row is the current one: Download works on it at once
            first = self.catalog.index(0, 0)
            self.catalog_view.setCurrentIndex(first)
            self.catalog_view.selectRow(0)
            self._on_catalog_row_changed(first, QModelIndex())

    def _on_catalog_row_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        row: CatalogRow | None = self.catalog.row_at(current.row())
        self.quant_combo.clear()
        if row is None:
            self.catalog_download.setEnabled(False)
            return
        e = row.entry
        restr = f"<br><b>Licence limits:</b> {'; '.join(e.restrictions)}" if e.restrictions else ""
        d = row.default_fit
        speed = f"<br><b>Here:</b> {d[1].label_with_speed}." if d else ""
        self.catalog_detail.setText(f"<b>{e.name}</b> — {e.summary}<br>{describe_abilities(e)}{speed}"
                                    f"<br>Licence: {e.license_name}. {e.license_note}{restr}")
        default = e.default_file()
        for f, fit in row.fits:
            self.quant_combo.addItem(f"{f.quant} · {format_bytes(f.size_bytes)} · {fit.label_with_speed}", f.quant)
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
        """Show the entry's licence, then queue `file` of it; the download id, or None."""

        if not self._ctx.license_ok(entry.name, entry.license_name, entry.license_url, entry.license_note, entry.restrictions):
            return None
        req = DownloadRequest(entry.gguf_repo, entry.download_files(file), catalog_id=entry.id,
                              license_id=entry.license_id, license_name=entry.license_name, quant=file.quant)
        return self._ctx.enqueue(req)


UNVERIFIED_WORDS = {"arch": "layer counts", "files": "file names and sizes", "projector": "the projector file",
                    "params_b": "the parameter count", "mlx_repo": "the Mac (MLX) version",
                    "context_length": "the context length"}


def describe_abilities(e: Any) -> str:
    """Thinking, tools and pictures in one plain line."""
    bits = [e.reasoning_text + "."]
    if e.tools:
        bits.append("Can use tools.")
    if e.vision and e.projector is not None:
        bits.append(f"Reads pictures: its projector file ({e.projector.filenames[0]}, "
                    f"{format_bytes(e.projector.size_bytes)}) downloads with it.")
    if not e.verified:
        what = [UNVERIFIED_WORDS.get(u, u) for u in e.unverified] or ["file sizes"]
        bits.append("Not checked against the model's page yet: " + ", ".join(dict.fromkeys(what)) + ".")
    return " ".join(bits)
