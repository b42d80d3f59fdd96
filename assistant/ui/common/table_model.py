"""A read-only table model over a list of rows: columns with display functions and
named roles. The library's item models (catalog, Hub results, downloads, installed)
and the network activity model are small subclasses of it."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
T = TypeVar("T")
RowRole = Qt.ItemDataRole.UserRole + 1


class RowTableModel(QAbstractTableModel, Generic[T]):
    columns: tuple[str, ...] = ()
    extra_roles: dict[int, bytes] = {}

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[T] = []

    # subclasses: the text of a cell, and any extra role values
    def cell(self, row: T, column: int) -> str:
        raise NotImplementedError

    def role_value(self, row: T, column: int, role: int) -> Any:
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = dict(super().roleNames())
        names[RowRole] = b"row"
        names.update(self.extra_roles)
        return names

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.columns):
            return self.columns[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < len(self.columns):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, index.column())
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.role_value(row, index.column(), role) or self.cell(row, index.column())
        if role == RowRole:
            return row
        return self.role_value(row, index.column(), role)

    def set_rows(self, rows: list[T]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[T]:
        return list(self._rows)

    def row_at(self, i: int) -> T | None:
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def update_row(self, i: int, row: T) -> None:
        self._rows[i] = row
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))

    def append_row(self, row: T) -> int:
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.append(row)
        self.endInsertRows()
        return n

    def find(self, pred: Callable[[T], bool]) -> int:
        return next((i for i, r in enumerate(self._rows) if pred(r)), -1)
