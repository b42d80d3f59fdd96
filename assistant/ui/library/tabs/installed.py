"""The library's Installed tab: the models on this computer (scanned on the thread pool),
with Use this model, Settings…, Delete… and importing a GGUF file or an MLX folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QVBoxLayout, QWidget

from assistant.core.units import format_bytes
from assistant.library import usage
from assistant.library.importer import import_model
from assistant.library.installed import InstalledModel, delete_model, freed_bytes, list_installed
from assistant.ui.common.buttons import dialog_button
from assistant.ui.library.context import LibraryContext
from assistant.ui.library.models.installed import LibraryInstalledModel
from assistant.ui.library.widgets import _selected_row, _table


def installed_summary(rows: list[InstalledModel], models_dir: Path) -> str:
    """'2 models, 1.2 GB in ~/models; 1 used from elsewhere on disk (241.0 MB)'."""
    if not rows:
        return "No models yet: download one under Recommended, or import a file you have."
    inside = [r for r in rows if r.in_models_dir]
    outside = [r for r in rows if not r.in_models_dir]
    text = f"{len(rows)} model{'' if len(rows) == 1 else 's'}"
    parts = []
    if inside:
        parts.append(f"{format_bytes(sum(r.size_bytes for r in inside))} in {models_dir}")
    if outside:
        parts.append(f"{len(outside)} used from elsewhere on disk ({format_bytes(sum(r.size_bytes for r in outside))})")
    return text + ": " + "; ".join(parts)


class InstalledTab(QWidget):
    model_use_requested = Signal(object)  # ModelRef
    model_settings_requested = Signal(object)  # ModelRef
    models_changed = Signal()  # imported or deleted: the picker should rescan
    import_started = Signal()  # the window shows this tab

    def __init__(self, context: LibraryContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = context
        self.installed = LibraryInstalledModel(self)
        self.installed_view = _table(self.installed, "Installed models")
        for col, width in ((1, 110), (2, 70), (3, 110), (4, 150), (5, 110)):
            self.installed_view.horizontalHeader().resizeSection(col, width)
        self.installed_view.doubleClicked.connect(lambda _i: self._on_use())
        self.installed_view.selectionModel().currentRowChanged.connect(lambda *_: self._update_buttons())
        self.use_button = dialog_button("Use this model", "Use this model in the chat")
        self.settings_button = dialog_button("Settings…", "Settings of this model")
        self.delete_button = dialog_button("Delete…", "Delete this model")
        self.import_button = dialog_button("Import a model file…", "Import a GGUF model file")
        self.import_folder_button = dialog_button("Import an MLX folder…", "Import an MLX model folder")
        self.use_button.clicked.connect(self._on_use)
        self.settings_button.clicked.connect(self._on_model_settings)
        self.delete_button.clicked.connect(self._on_delete)
        self.import_button.clicked.connect(self._on_import_file)
        self.import_folder_button.clicked.connect(self._on_import_folder)
        self.installed_status = QLabel()
        self.installed_status.setAccessibleName("Installed models status")
        self.installed_status.setWordWrap(True)
        # two rows, so the tab fits a narrow window: what to do with the selected model
        # below the table; the status and bringing a model in above it
        top = QHBoxLayout()
        top.addWidget(self.installed_status, 1)
        top.addWidget(self.import_button)
        top.addWidget(self.import_folder_button)
        row = QHBoxLayout()
        for b in (self.use_button, self.settings_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.installed_view, 1)
        lay.addLayout(row)

    def refresh_installed(self) -> None:
        paths = self._ctx.paths
        models_dir, extra = paths.models_dir, list(self._ctx.settings.extra_models)
        usage_file = usage.usage_path(paths.data_dir)
        self._ctx.run(lambda: list_installed(models_dir, extra, usage.load_usage(usage_file)), self._on_installed)

    def _on_installed(self, rows: list[InstalledModel]) -> None:
        self.installed.set_rows(rows)
        self.installed_status.setText(installed_summary(rows, self._ctx.paths.models_dir))
        if rows:  # a row is current, so the buttons work on it at once
            self.installed_view.setCurrentIndex(self.installed.index(0, 0))
        self._update_buttons()

    def _update_buttons(self) -> None:
        m = self._current_installed()
        for b in (self.use_button, self.settings_button, self.delete_button):
            b.setEnabled(m is not None)
        # a file added from elsewhere is only taken off the list; the file stays where it is
        outside = m is not None and not m.in_models_dir
        self.delete_button.setText("Remove from list" if outside else "Delete…")
        self.delete_button.setAccessibleName("Remove this model from the list" if outside else "Delete this model")

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
        m = self._current_installed()
        if m is None:
            return
        if not m.in_models_dir:
            extra = self._ctx.settings.extra_models
            for p in [p for p in extra if Path(p) == m.path]:
                extra.remove(p)
            if self._ctx.settings.default_model == str(m.path):
                self._ctx.settings.default_model = ""
            self.installed_status.setText(f"Removed {m.name} from the list. The file stays at {m.path}.")
            self.refresh_installed()
            self.models_changed.emit()  # the window saves the settings and rescans
            return
        freed = freed_bytes(m)
        answer = QMessageBox.question(
            self, "Delete this model?",
            f"Delete {m.name}? This frees {format_bytes(freed)} of disk space. You can download it again later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        models_dir, usage_file = self._ctx.paths.models_dir, usage.usage_path(self._ctx.paths.data_dir)

        def work() -> int:
            n = delete_model(m, models_dir)
            usage.forget(usage_file, m.path)
            return n

        self._ctx.run(work, self._on_deleted)

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
        """Copy a GGUF file (with its shards) or an MLX folder into the models folder."""

        models_dir = self._ctx.paths.models_dir
        self.installed_status.setText(f"Importing {src.name}…")
        self.import_started.emit()
        self._ctx.run(lambda: import_model(src, models_dir), self._on_imported, self._on_import_failed)

    def _on_imported(self, path: Path) -> None:
        self.installed_status.setText(f"Imported {path.name}.")
        self.refresh_installed()
        self.models_changed.emit()

    def _on_import_failed(self, exc: Exception) -> None:
        self.installed_status.setText("The import failed.")
        QMessageBox.warning(self, "This model cannot be imported", str(exc))
