"""The sources under an answer from documents: [1], [2] with the file, the page or lines and
a snippet (as documents/answer.py's `sources_payload` stored them). Clicking one shows the
passage, highlighted, in a preview that can open the file: at the cited page or line when
a viewer or editor that can be told so is installed (documents/open_at.py), else in the
system's default app."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from assistant.documents.open_at import Opener, open_at
from assistant.ui.common.jobs import run_job
from assistant.ui.common.window_size import fit_to_screen


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
        self.buttons: list[QLabel] = []  # one per source, in the tab order
        self._sources: list[dict[str, Any]] = []

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        if sources == self._sources:
            return
        self._sources = sources
        for b in self.buttons:
            self._lay.removeWidget(b)
            b.hide()
            b.deleteLater()
        self.buttons = []
        for i, s in enumerate(sources):
            # a wrapping label with a link: a long snippet never widens the message
            where, snippet = html.escape(str(s.get("where", ""))), html.escape(str(s.get("snippet", "")))
            label = QLabel(f'<a href="{i}">[{s.get("n", i + 1)}] {where}</a> — {snippet}', self)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                          | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
            label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            label.setAccessibleName(f"Source {s.get('n', i + 1)}: {s.get('where', '')}")
            label.setToolTip("Show the passage")
            label.linkActivated.connect(lambda _href, s=s: self.preview(s))
            self._lay.addWidget(label)
            self.buttons.append(label)
        self.setVisible(bool(sources))

    def texts(self) -> list[str]:
        return [f"[{s.get('n', i + 1)}] {s.get('where', '')} — {s.get('snippet', '')}" for i, s in enumerate(self._sources)]

    def activate(self, i: int) -> SourcePreview:
        """What clicking source i does."""
        return self.preview(self._sources[i])

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
        self.path = Path(str(source.get("path", "")))
        name = self.path.name
        self.open_button.setAccessibleName(f"Open {name}")
        self.open_button.setEnabled(self.path.is_file())
        self.opener: Opener | None = None
        self.opener_checked = not self.open_button.isEnabled()
        self.open_button.setToolTip(f"Open {name} in the app this computer uses for it")
        if self.open_button.isEnabled():  # which viewer can show the page: asks xdg-mime, off the GUI thread
            self._lookup = run_job(self._opener, self._on_opener_found, self._on_opener_found, owner=self)
        self.open_button.clicked.connect(self.open_file)
        buttons.rejected.connect(self.reject)
        self.said = QLabel("", self)  # which app opened the file
        self.said.setWordWrap(True)
        lay.addWidget(self.said)
        lay.addWidget(buttons)
        fit_to_screen(self, QSize(560, 380))

    def url(self) -> QUrl:
        return QUrl.fromLocalFile(str(self.path))

    def _opener(self) -> Opener | None:
        s = self.source
        page, line = s.get("page"), s.get("line_start")
        return open_at(self.path, kind=str(s.get("kind") or ""),
                       page=page if isinstance(page, int) else None, line=line if isinstance(line, int) else None)

    def _on_opener_found(self, opener: Any) -> None:
        self.opener = opener if isinstance(opener, Opener) else None  # a failed lookup: the default app
        self.opener_checked = True
        if self.opener is not None:
            self.open_button.setToolTip(f"Open {self.path.name} in {self.opener.app} at {self.opener.where}")

    def open_file(self) -> bool:
        """The file at the cited page or line in a viewer that can be told so, else in the
        app the system opens it with (the page is then named in the title)."""
        name = self.path.name
        if self.opener is not None:
            started, _pid = QProcess.startDetached(self.opener.argv[0], self.opener.argv[1:])
            if started:
                self.said.setText(f"Opened {name} in {self.opener.app} at {self.opener.where}.")
                return True
        ok = QDesktopServices.openUrl(self.url())
        self.said.setText(f"Opened {name} in the app this computer uses for it." if ok
                          else f"{name} could not be opened: no app for it was found.")
        return ok
