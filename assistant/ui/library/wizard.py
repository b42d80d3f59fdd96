"""The first-run wizard for people who just want to chat: what this computer can run,
one recommended model, its download, then a chat with it. Skippable at every step;
finishing or skipping sets settings.first_run_done (the main window saves it).

Offline it says that downloads need the network and offers a model file instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from assistant import hardware, network
from assistant.core.types import ModelRef
from assistant.core.units import format_bytes
from assistant.library.catalog import load_catalog, offered
from assistant.library.download import DownloadRequest
from assistant.library.fit import recommend
from assistant.library.installed import model_ref_for_path
from assistant.library.speed import load_calibration
from assistant.paths import Paths
from assistant.settings import Settings
from assistant.ui.common.dialogs import choose_model_file
from assistant.ui.common.jobs import Job, run_job
from assistant.ui.common.window_size import fit_to_screen
from assistant.ui.library.models.downloads import eta_text
from assistant.ui.library.widgets import confirm_license

OFFLINE_TEXT = ("Offline mode is on, and downloading a model needs the network. "
                "You can use a model file you already have, or turn Offline mode off in Settings.")


def describe_hardware(hw: Any) -> str:
    """Plain words for non-technical people."""
    ram = format_bytes(hw.ram_total_bytes)
    lines = [f"<b>Memory:</b> {ram} of RAM."]
    if hw.apple_silicon:
        lines.append("<b>Graphics:</b> Apple Silicon: models use its built-in graphics chip.")
    elif hw.gpus:
        g = hw.gpus[0]
        use = "models can use it" if hw.llama_gpu_offload else "this version of the app cannot use it, so models run on the processor"
        lines.append(f"<b>Graphics:</b> {g.name} with {format_bytes(g.vram_total_bytes)} of its own memory; {use}.")
    else:
        lines.append("<b>Graphics:</b> no graphics card the app can use, so models run on the processor. "
                     "Small models still answer at a comfortable pace.")
    engine = "MLX (made for Apple Silicon)" if hw.mlx_available else "llama.cpp"
    lines.append(f"<b>Engine:</b> {engine}, with {hw.physical_cores} processor cores.")
    return "<br>".join(lines)


def _page(title: str, *widgets: QWidget) -> QWidget:
    w = QWidget()
    lay = QVBoxLayout(w)
    head = QLabel(f"<h2>{title}</h2>")
    lay.addWidget(head)
    for x in widgets:
        lay.addWidget(x)
    lay.addStretch(1)
    return w


def _label(name: str) -> QLabel:
    lab = QLabel()
    lab.setWordWrap(True)
    lab.setAccessibleName(name)
    lab.setTextFormat(Qt.TextFormat.RichText)
    return lab


class FirstRunWizard(QDialog):
    model_ready = Signal(object)  # ModelRef: open a chat with it
    model_file_chosen = Signal(str)  # "Use a model file I already have…": the file, checked

    def __init__(self, paths: Paths, settings: Settings, downloads: Callable[[], Any],
                 parent: QWidget | None = None, endpoint: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome")
        fit_to_screen(self, QSize(600, 400))
        self.paths, self.settings, self._downloads, self.endpoint = paths, settings, downloads, endpoint
        self._jobs: list[Job] = []
        self.hw: Any = None
        self.choice: tuple[Any, Any, Any] | None = None  # entry, file, fit
        self.download_id: str | None = None
        self.ready_ref: ModelRef | None = None
        self.license_box: QMessageBox | None = None

        self.hw_label = _label("What this computer can run")
        self.hw_label.setText("Looking at this computer…")
        self.model_label = _label("Recommended model")
        self.offline_label = _label("Offline notice")
        self.offline_label.setText(OFFLINE_TEXT)
        self.download_button = QPushButton("Download")
        self.download_button.setAccessibleName("Download the recommended model")
        self.download_button.clicked.connect(self._on_download)
        self.import_button = QPushButton("Use a model file I already have…")
        self.import_button.setAccessibleName("Use a model file I already have")
        self.import_button.clicked.connect(self._on_import)
        choose = QWidget()
        cl = QHBoxLayout(choose)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.download_button)
        cl.addWidget(self.import_button)
        cl.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Download progress")
        self.progress_label = _label("Download status")
        self.download_note = _label("About the download")
        self.download_note.setText(self._download_note())
        # when the download fails: try again, or use a file instead (never a dead end)
        self.retry_button = QPushButton("&Retry")
        self.retry_button.setAccessibleName("Retry the download")
        self.retry_button.clicked.connect(self._on_retry)
        self.failed_import_button = QPushButton("Use a model file I already have…")
        self.failed_import_button.setAccessibleName("Use a model file I already have instead")
        self.failed_import_button.clicked.connect(self._on_import)
        failed = self.failed_row = QWidget()
        fl = QHBoxLayout(failed)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.retry_button)
        fl.addWidget(self.failed_import_button)
        fl.addStretch(1)
        failed.hide()
        self.ready_label = _label("Ready")

        self.pages = QStackedWidget(self)
        self.pages.addWidget(_page("What this computer can run", self.hw_label))
        self.pages.addWidget(_page("A model for you", self.model_label, self.offline_label, choose))
        self.pages.addWidget(_page("Downloading", self.progress, self.progress_label, failed, self.download_note))
        self.download_title = self.pages.widget(2).findChild(QLabel)
        self.pages.addWidget(_page("Ready", self.ready_label))

        self.skip_button = QPushButton("Skip")
        self.skip_button.setAccessibleName("Skip the introduction")
        self.skip_button.clicked.connect(self.reject)
        self.back_button = QPushButton("Back")
        self.back_button.setAccessibleName("Back")
        self.back_button.clicked.connect(self._on_back)
        self.next_button = QPushButton("Next")
        self.next_button.setAccessibleName("Next")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self._on_next)
        row = QHBoxLayout()
        row.addWidget(self.skip_button)
        row.addStretch(1)
        row.addWidget(self.back_button)
        row.addWidget(self.next_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.pages, 1)
        lay.addLayout(row)
        self._show_page(0)
        self._run(self._look, self._on_looked)

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        job = run_job(fn, done, self._on_failed, owner=self)
        self._jobs.append(job)

    def _look(self) -> tuple[Any, Any]:
        hw = hardware.detect()
        cal = load_calibration(self.paths.data_dir, hw)
        return hw, recommend(offered(load_catalog()), hw, self.settings.context_length, calibration=cal)

    def _on_looked(self, result: tuple[Any, Any]) -> None:
        self.hw, self.choice = result
        self.hw_label.setText(describe_hardware(self.hw))
        self._fill_choice()

    def _fill_choice(self) -> None:
        offline = network.is_offline()
        self.offline_label.setVisible(offline)
        if self.choice is None:
            self.model_label.setText("None of the models in the catalog fits this computer comfortably. "
                                     "You can still use a model file you have.")
            self.download_button.setEnabled(False)
            return
        entry, file, fit = self.choice
        lic = f"Licence: {entry.license_name}. {entry.license_note}"
        if entry.restrictions:
            lic += " Limits: " + "; ".join(entry.restrictions) + "."
        self.model_label.setText(
            f"<b>{entry.name}</b><br>{entry.summary}<br>Download: {format_bytes(file.size_bytes)}. "
            f"On this computer: {fit.label_with_speed}"
            f"{' (a comfortable pace)' if fit.speed and fit.speed.comfortable else ''}.<br>{lic}"
        )
        self.download_button.setEnabled(not offline)

    def _on_failed(self, exc: Exception) -> None:
        self.progress_label.setText(str(exc))
        self.hw_label.setText(self.hw_label.text() if self.hw else str(exc))

    def _show_page(self, i: int) -> None:
        self.pages.setCurrentIndex(i)
        self.next_button.setVisible(i in (0, 3))
        self.next_button.setText("Start chatting" if i == 3 else "Next")
        self.skip_button.setVisible(i != 3)
        # back from the choice to the computer, and from a failed download to the choice
        self.back_button.setVisible(i == 1 or (i == 2 and self.failed_row.isVisible()))

    def _on_back(self) -> None:
        i = self.pages.currentIndex()
        if i in (1, 2):
            self._fill_choice()
            self._show_page(i - 1 if i == 1 else 1)

    def _on_next(self) -> None:
        i = self.pages.currentIndex()
        if i == 0:
            self._fill_choice()
            self._show_page(1)
        elif i == 3 and self.ready_ref is not None:
            self.model_ready.emit(self.ready_ref)
            self.accept()

    def _download_note(self, failed: bool = False) -> str:
        if failed:
            return (f"Nothing is downloading now. What arrived is kept in {self.paths.models_dir}: "
                    "Retry goes on from there.")
        return (f"The model is saved in {self.paths.models_dir}. A paused or broken download resumes from where it "
                "stopped. You can skip this: the download carries on, and the model library (Ctrl+L) shows it.")

    def _on_import(self) -> None:
        """A file chooser for a model file on this computer; a good one finishes the wizard."""
        path = choose_model_file(self, "Use a model file")
        if not path:
            return
        self.model_file_chosen.emit(path)
        self.ready_ref = model_ref_for_path(Path(path))
        self.ready_label.setText(f"{self.ready_ref.display_name} is ready. The file stays where it is, and everything "
                                 "you type stays on this computer.")
        self._show_page(3)

    def _on_download(self) -> None:
        if self.choice is None or network.is_offline():
            self._fill_choice()
            return
        entry, file, _fit = self.choice
        self.license_box = box = confirm_license(self, entry.name, entry.license_name, entry.license_url,
                                                 entry.license_note, entry.restrictions)
        box.exec()
        clicked = box.clickedButton()
        self.license_box = None
        if clicked is None or box.buttonRole(clicked) != QMessageBox.ButtonRole.AcceptRole:
            return
        self._start_download()

    def _start_download(self) -> None:
        assert self.choice is not None
        entry, file, _fit = self.choice
        host = self._downloads()
        if self.download_id is None:  # connected once, for the first try and every retry
            host.progress_changed.connect(self._on_progress)
            host.download_finished.connect(self._on_finished)
            host.download_failed.connect(self._on_download_failed)
        req = DownloadRequest(entry.gguf_repo, entry.download_files(file), catalog_id=entry.id,
                              license_id=entry.license_id, license_name=entry.license_name, quant=file.quant)
        self.download_id = host.enqueue(req)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress_label.setText(f"Getting {entry.name}…")
        self.download_title.setText("<h2>Downloading</h2>")
        self.download_note.setText(self._download_note())
        self.failed_row.hide()
        self._show_page(2)

    def _on_retry(self) -> None:
        if network.is_offline():
            self.progress_label.setText(OFFLINE_TEXT)
            return
        self._start_download()

    def _on_progress(self, dl_id: str, p: Any) -> None:
        if dl_id != self.download_id:
            return
        if p.bytes_total:
            self.progress.setValue(int(100 * p.bytes_done / p.bytes_total))
        speed = f" · {format_bytes(p.speed_bps)}/s · {eta_text(p.eta_s)}" if p.state == "downloading" and p.speed_bps else ""
        self.progress_label.setText(f"{format_bytes(p.bytes_done)} of {format_bytes(p.bytes_total)}{speed}")

    def _on_finished(self, dl_id: str, path: Path) -> None:
        if dl_id != self.download_id:
            return
        self.progress.setValue(100)
        self.ready_ref = model_ref_for_path(Path(path))
        name = self.choice[0].name if self.choice else self.ready_ref.display_name
        self.ready_label.setText(f"{name} is on your computer. Everything you type stays here.")
        self._show_page(3)

    def _on_download_failed(self, dl_id: str, message: str) -> None:
        if dl_id == self.download_id:
            self.download_title.setText("<h2>The download did not finish</h2>")
            self.progress_label.setText(f"{message} Check the connection, then retry, or use a model file you have.")
            self.download_note.setText(self._download_note(failed=True))
            self.failed_row.show()
            self.skip_button.setVisible(True)
            self.back_button.setVisible(True)
            self.retry_button.setFocus()
