"""Network activity: the record of `assistant.network` as a table, and the dialog that shows it.

The record is written from any thread (downloads, cloud calls, the audit hook); the model
hears about new lines through a queued signal, so it only ever changes on the GUI thread.
"""

from __future__ import annotations

import bisect
import time
import weakref
from typing import Any

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from assistant import network
from assistant.core.units import format_bytes
from assistant.network import NetworkEntry
from assistant.ui.common.table_model import RowRole, RowTableModel
from assistant.ui.common.window_size import fit_to_screen

INTRO = "Every connection this app has made to another computer. Nothing is sent anywhere else."
EMPTY = "No connections yet. This app has not contacted any other computer."
NOT_MEASURED = "Not measured: this connection was opened outside the app's own network client."


def _host(e: NetworkEntry) -> str:
    return e.host if e.port in (None, 80, 443) else f"{e.host}:{e.port}"


def _size(n: int | None) -> str:
    return "—" if n is None else format_bytes(n)


def _outcome(e: NetworkEntry) -> str:
    if e.outcome == network.OK:
        if e.status and e.status >= 400:  # the server answered, but with an error
            return f"Error (HTTP {e.status})"
        return f"OK (HTTP {e.status})" if e.status else "OK"
    if e.outcome == network.BLOCKED:
        return "Blocked (Offline mode)"
    if e.outcome == network.ATTEMPTED:
        return "Connection attempted"
    outcome = network.reword(e.outcome)  # records written before errors were put in words
    return outcome[:1].upper() + outcome[1:]


def _details(e: NetworkEntry) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
    target = f"{e.method} {e.path}".strip() or ("UDP datagram" if e.method == "UDP" else "Raw connection")
    # an incoming request (the API server) names the client it came from
    where = "from" if e.direction == "in" else "on"
    lines = [f"{when}: {e.purpose}", f"{target} {where} {e.host}" + (f", port {e.port}" if e.port else ""), _outcome(e)]
    if e.bytes_sent is None:
        lines.append(NOT_MEASURED)
    return "\n".join(lines)


class NetworkActivityModel(RowTableModel[NetworkEntry]):
    """The record, newest first. Column order: Time, Host, Purpose, Sent, Received, Outcome."""

    EntryRole = RowRole  # the NetworkEntry
    SortRole = Qt.ItemDataRole.UserRole + 2  # raw value to sort by (epoch, bytes, text)
    extra_roles = {EntryRole: b"entry", SortRole: b"sortKey"}

    TIME, HOST, PURPOSE, SENT, RECEIVED, OUTCOME = range(6)
    HEADERS = columns = ("Time", "Host", "Purpose", "Sent", "Received", "Outcome")

    entries_changed = Signal()  # after a reload or a new row
    _entry_recorded = Signal(object)  # NetworkEntry | None, from any thread

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entry_recorded.connect(self._on_entry_recorded, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = network.subscribe(self._listener(weakref.ref(self)))
        self.reload()

    @staticmethod
    def _listener(ref: weakref.ReferenceType[NetworkActivityModel]) -> Any:
        # holds the model weakly: the record must not keep a closed dialog's model alive
        def on_record(entry: NetworkEntry | None) -> None:
            model = ref()
            if model is None:
                return
            try:
                model._entry_recorded.emit(entry)  # queued: the slot runs on the GUI thread
            except RuntimeError:  # its C++ side is gone
                model.detach()

        return on_record

    def detach(self) -> None:
        """Stop listening to the record (the dialog closed)."""
        self._unsubscribe()

    def reload(self) -> None:
        self.set_rows(network.entries())
        self.entries_changed.emit()

    def _on_entry_recorded(self, entry: NetworkEntry | None) -> None:
        if entry is None:
            self.reload()
            return
        row = bisect.bisect_left(self._rows, -entry.time, key=lambda e: -e.time)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.insert(row, entry)
        self.endInsertRows()
        self.entries_changed.emit()

    def entry_at(self, row: int) -> NetworkEntry | None:
        return self.row_at(row)

    # -- cells (RowTableModel) ----------------------------------------------------------
    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section in (self.SENT, self.RECEIVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return super().headerData(section, orientation, role)

    def cell(self, e: NetworkEntry, col: int) -> str:
        if col == self.TIME:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.time))
        if col == self.HOST:
            return _host(e)
        if col == self.PURPOSE:
            return e.purpose
        if col == self.SENT:
            return _size(e.bytes_sent)
        if col == self.RECEIVED:
            return _size(e.bytes_received)
        return _outcome(e)

    def role_value(self, e: NetworkEntry, col: int, role: int) -> Any:
        if role == self.SortRole:
            return self._sort_key(e, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (self.SENT, self.RECEIVED) and e.bytes_sent is None:
                return NOT_MEASURED
            return _details(e)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{self.HEADERS[col]}: {self.cell(e, col)}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (self.SENT, self.RECEIVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _sort_key(self, e: NetworkEntry, col: int) -> Any:
        if col == self.TIME:
            return e.time
        if col == self.SENT:
            return -1 if e.bytes_sent is None else e.bytes_sent
        if col == self.RECEIVED:
            return -1 if e.bytes_received is None else e.bytes_received
        return self.cell(e, col).casefold()


class NetworkActivityDialog(QDialog):
    """The record, reachable from Settings: what was contacted, when, why, how much."""

    record_cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Network activity")
        self.setAccessibleName("Network activity")
        fit_to_screen(self, QSize(820, 440))

        self.model = NetworkActivityModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(NetworkActivityModel.SortRole)

        title = QLabel("<h3>Network activity</h3>")
        title.setAccessibleName("Network activity")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setAccessibleName("What is listed")

        self.table = QTableView()
        self.table.setAccessibleName("Connections")
        self.table.setAccessibleDescription(INTRO)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NetworkActivityModel.TIME, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NetworkActivityModel.PURPOSE, QHeaderView.ResizeMode.Stretch)

        self.empty_label = QLabel(EMPTY)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAccessibleName("No connections")

        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.table)

        buttons = QDialogButtonBox()
        self.clear_button = QPushButton("Clear…")
        self.clear_button.setAccessibleName("Clear network activity")
        self.clear_button.setToolTip("Forget the connections listed here")
        buttons.addButton(self.clear_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setAccessibleName("Close")
        self.clear_button.setAutoDefault(False)  # Enter closes the dialog; it never clears the list
        self.close_button.setDefault(True)
        buttons.rejected.connect(self.reject)
        self.clear_button.clicked.connect(self._on_clear_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.stack, 1)
        layout.addWidget(buttons)

        self.model.entries_changed.connect(self._on_entries_changed)
        self.finished.connect(self._on_finished)
        self._on_entries_changed()

    def is_empty(self) -> bool:
        return self.model.rowCount() == 0

    def _on_entries_changed(self) -> None:
        empty = self.is_empty()
        self.stack.setCurrentWidget(self.empty_label if empty else self.table)
        self.clear_button.setEnabled(not empty)

    def _on_clear_clicked(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Clear network activity",
            "Clear the list of connections?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setInformativeText("New connections will still be recorded.")
        box.setAccessibleName("Clear network activity")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        confirm = box.button(QMessageBox.StandardButton.Yes)
        confirm.setText("Clear")
        confirm.setAccessibleName("Clear")
        box.button(QMessageBox.StandardButton.Cancel).setAccessibleName("Cancel")
        box.exec()
        if box.clickedButton() is confirm:
            network.clear()  # the model reloads when the record says so
            self.record_cleared.emit()

    def _on_finished(self, _result: int) -> None:
        self.model.detach()
