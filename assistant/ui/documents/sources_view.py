"""The sources under an answer from documents: [1], [2] with the file, the page or lines and
a snippet (as documents/answer.py's `sources_payload` stored them). Clicking one shows the
passage, highlighted, in a preview that can open the file."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.ui.common.elided import ElidedButton


class SourcesView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Sources of this answer")
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 4, 0, 0)
        self._lay.setSpacing(0)
        self._title = QLabel("Sources")
        self._title.setObjectName("details")
        self._lay.addWidget(self._title)
        self.buttons: list[QPushButton] = []
        self._sources: list[dict[str, Any]] = []

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        if sources == self._sources:
            return
        self._sources = sources
        for b in self.buttons:
            self._lay.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        for s in sources:
            text = f"[{s.get('n', len(self.buttons) + 1)}] {s.get('where', '')} — {s.get('snippet', '')}"
            b = ElidedButton(text, self, max_chars=120)
            b.setFlat(True)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setAccessibleName(f"Source {s.get('n', '')}: {s.get('where', '')}")
            b.set_tooltip(f"{s.get('where', '')}\n{s.get('snippet', '')}\n(click to see the passage)")
            b.setStyleSheet("text-align: left;")
            b.clicked.connect(lambda _c=False, s=s: self.preview(s))
            self._lay.addWidget(b)
            self.buttons.append(b)
        self.setVisible(bool(sources))

    def texts(self) -> list[str]:
        return [b.text() for b in self.buttons]

    def preview(self, source: dict[str, Any]) -> SourcePreview:
        dlg = SourcePreview(source, self.window())
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        return dlg


class SourcePreview(QDialog):
    """The passage an answer cited, highlighted, with where it is and "Open file"."""

    def __init__(self, source: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        where = str(source.get("where", ""))
        self.setWindowTitle(f"Source [{source.get('n', '')}]: {where}")
        lay = QVBoxLayout(self)
        head = QLabel(f"<b>[{source.get('n', '')}] {html.escape(where)}</b><br>{html.escape(str(source.get('path', '')))}")
        head.setWordWrap(True)
        head.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(head)
        self.text = QTextBrowser(self)
        self.text.setAccessibleName("The passage")
        passage = html.escape(str(source.get("text") or source.get("snippet") or "")).replace("\n", "<br>")
        self.text.setHtml(f'<p><span style="background-color: #fff3a3; color: #000;">{passage}</span></p>')
        lay.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.open_button = buttons.addButton("Open file", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setAccessibleName(f"Open {Path(str(source.get('path', ''))).name}")
        self.open_button.setEnabled(Path(str(source.get("path", ""))).is_file())
        self.open_button.clicked.connect(self.open_file)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(560, 380)

    def url(self) -> QUrl:
        return QUrl.fromLocalFile(str(self.source.get("path", "")))

    def open_file(self) -> bool:
        """The file in the app the system opens it with (a PDF's page is named in the title)."""
        return QDesktopServices.openUrl(self.url())
