"""About: version, the app's license, third-party licenses, and the installed models' licenses."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from assistant.core.types import ModelRef
from assistant.licenses import APP_LICENSE, app_version, components, model_license
from assistant.ui.common.icons import icon_path
from assistant.ui.common.window_size import fit_to_screen

Index = QModelIndex | QPersistentModelIndex


class LicenseTableModel(QAbstractTableModel):
    """Rows of (name, version or format, license)."""

    NameRole = Qt.ItemDataRole.UserRole + 1
    LicenseRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, headers: tuple[str, str, str], rows: list[tuple[str, str, str]], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers, self._rows = headers, rows

    def roleNames(self) -> dict[int, bytes]:
        return {self.NameRole: b"name", self.LicenseRole: b"license"}

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else 3

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row[index.column()]
        if role == self.NameRole:
            return row[0]
        if role == self.LicenseRole:
            return row[2]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < 3:
            return self._headers[section]
        return None


def _table(model: LicenseTableModel, name: str, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setAccessibleName(name)
    view.verticalHeader().hide()
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    return view


class AboutDialog(QDialog):
    def __init__(self, models: list[ModelRef], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Assistant")
        logo = QLabel(self)
        path = icon_path(128)
        if path.exists():
            logo.setPixmap(QPixmap(str(path)).scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.SmoothTransformation))
        logo.setAccessibleName("Assistant icon")
        title = QLabel(
            f"<h2>Assistant {app_version()}</h2>"
            "<p>A private AI assistant that runs on your computer.</p>"
            f"<p>Licensed under the {APP_LICENSE} license.</p>",
            self,
        )
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head = QHBoxLayout()
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(title, 1)

        self.components = LicenseTableModel(
            ("Component", "Version", "License"), [(c.name, c.version, c.license) for c in components()], self
        )
        self.models = LicenseTableModel(
            ("Model", "Format", "License"),
            [(m.display_name, m.format.upper(), model_license(m)) for m in models],
            self,
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(QLabel("<b>Third-party components</b>", self))
        lay.addWidget(_table(self.components, "Third-party licenses", self), 3)
        lay.addWidget(QLabel("<b>Your models</b> (their licenses say how you may use them)", self))
        if models:
            lay.addWidget(_table(self.models, "Model licenses", self), 1)
        else:
            lay.addWidget(QLabel("No models installed yet.", self))
        lay.addWidget(buttons)
        fit_to_screen(self, QSize(640, 560))


