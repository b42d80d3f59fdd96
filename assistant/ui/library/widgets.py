"""Small pieces of the model library window: table set-up, the licence confirmation
shown before every download, and the Downloads tab's progress-bar delegate."""

from __future__ import annotations

import html
import itertools
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt
from PySide6.QtGui import QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QMessageBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from assistant.ui.common.table_model import RowRole
from assistant.ui.library.models.downloads import DownloadsModel


def _table(model: Any, name: str, stretch: int = 0) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.setAccessibleName(name)
    v.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    v.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    v.setAlternatingRowColors(True)
    v.setWordWrap(False)
    v.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a name keeps its quantization at the end
    v.verticalHeader().hide()
    v.setShowGrid(False)
    h = v.horizontalHeader()
    h.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    h.setTextElideMode(Qt.TextElideMode.ElideRight)  # a header cut for its column shows "…"
    # every column as wide as its contents (watch_columns), the last one takes what is left,
    # and a horizontal scrollbar when they cannot all fit (`stretch`: kept for the callers)
    h.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    h.setStretchLastSection(True)
    watch_columns(v)
    return v


MAX_COLUMN_CHARS = 46  # wider cells are elided, in full in their tooltip
MIN_NAME_CHARS = 12
_TOKENS = itertools.count(1)  # the first column is cut to this before a horizontal scrollbar appears


def fit_columns(view: QTableView) -> None:
    """Each column as wide as its contents (at most MAX_COLUMN_CHARS), still resizable by hand;
    the stretch column takes the rest, and a horizontal scrollbar appears when all cannot fit."""
    h = view.horizontalHeader()
    cap = view.fontMetrics().averageCharWidth() * MAX_COLUMN_CHARS
    for col in range(h.count() - 1):  # the last one stretches
        if h.sectionResizeMode(col) == QHeaderView.ResizeMode.Stretch:
            continue
        view.resizeColumnToContents(col)
        pad = view.fontMetrics().averageCharWidth() * 2  # cells do not run into each other
        h.resizeSection(col, min(cap, max(h.sectionSize(col), h.sectionSizeHint(col)) + pad))
    last = h.count() - 1
    want = 0
    if last >= 0:  # the stretch column fills what is left, but never clips its contents below the cap
        want = min(cap, view.sizeHintForColumn(last) + view.fontMetrics().averageCharWidth() * 2)
        if h.sectionSize(last) < want:
            h.resizeSection(last, want)

    # too wide for the view: first the headers wider than their cells give way (cut, the
    # cells whole), then the first column (the model's name), cut in the middle with the
    # full name in its tooltip, so the figures and licences stay in sight
    def over() -> int:  # what the columns need (the last one's stretch is not a need) past the view
        return sum(h.sectionSize(c) for c in range(last)) + min(h.sectionSize(last), want) - view.viewport().width()

    pad = view.fontMetrics().averageCharWidth() * 2
    for col in range(1, h.count()):
        if over() <= 0:
            break
        cells = view.sizeHintForColumn(col) + pad
        if h.sectionSize(col) > cells:
            h.resizeSection(col, max(cells, h.sectionSize(col) - over()))
    floor = view.fontMetrics().averageCharWidth() * MIN_NAME_CHARS
    if 0 < over() <= h.sectionSize(0) - floor and h.count() > 1:  # the name alone can make room: it does
        h.resizeSection(0, h.sectionSize(0) - over())
    # else: too many columns for the view whatever the name does: the name stays readable and
    # the horizontal scrollbar shows the rest
    if last > 0:  # the last one fills what is left (Qt keeps an earlier, wider stretch otherwise)
        h.resizeSection(last, max(want, view.viewport().width() - sum(h.sectionSize(c) for c in range(last))))


def watch_columns(view: QTableView) -> None:
    """fit_columns whenever the view's model gets new rows (also after setModel)."""
    model = view.model()
    # a token of the view's own, not id(): a new view may get the id of one since deleted
    token = view.property("fit_token") or f"view-{next(_TOKENS)}"
    view.setProperty("fit_token", token)
    if model is None or model.property("fitted_view") == token:
        return
    model.setProperty("fitted_view", token)
    model.modelReset.connect(lambda: fit_columns(view))
    model.rowsInserted.connect(lambda *_: fit_columns(view))
    model.dataChanged.connect(lambda *_: fit_columns(view) if model.rowCount() < 64 else None)
    view._refit = _Refit(view)  # type: ignore[attr-defined]  # held: its Python side must live with the view
    view.viewport().installEventFilter(view._refit)  # type: ignore[attr-defined]  # a narrower window: fit again


class _Refit(QObject):
    """fit_columns again when the view's width changes."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self._view = view

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Resize and isinstance(event, QResizeEvent) and event.size().width() != event.oldSize().width():
            fit_columns(self._view)
        return False


def _selected_row(view: QTableView) -> Any:
    idx = view.selectionModel().currentIndex() if view.selectionModel() else QModelIndex()
    return idx.siblingAtColumn(0).data(RowRole) if idx.isValid() else None


def confirm_license(parent: QWidget, model_name: str, license_name: str, url: str, note: str,
                    restrictions: tuple[str, ...]) -> QMessageBox:
    """The licence, shown before a download starts; restrictions flagged in plain words."""
    box = QMessageBox(parent)
    box.setWindowTitle("Before you download")
    box.setIcon(QMessageBox.Icon.Warning if restrictions else QMessageBox.Icon.Information)
    # names and notes may come from the Hub: escaped, since the box shows rich text
    esc = html.escape
    link = f' (<a href="{esc(url)}">read it</a>)' if url.startswith(("https://", "http://")) else ""
    word = "" if "licen" in license_name.lower() else " licence"
    text = f"<b>{esc(model_name)}</b> comes under the <b>{esc(license_name)}</b>{word}{link}."
    if note:
        text += f"<p>{esc(note)}</p>"
    if restrictions:
        items = "".join(f"<li>{esc(r)}</li>" for r in restrictions)
        text += f"<p><b>This licence restricts how you may use the model:</b></p><ul>{items}</ul>"
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(text)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    box.setStandardButtons(QMessageBox.StandardButton.Cancel)
    ok = box.addButton("Download", QMessageBox.ButtonRole.AcceptRole)
    ok.setAccessibleName("Accept the licence and download")
    box.setDefaultButton(ok)
    return box


class ProgressDelegate(QStyledItemDelegate):
    """Draws the Downloads "Progress" column as a progress bar with its text on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(index.data(DownloadsModel.PercentRole) or 0)
        bar.text = str(index.data() or "")
        bar.textVisible = True
        bar.state = option.state
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
