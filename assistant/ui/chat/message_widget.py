"""One message in the chat: who wrote it, its Markdown, its details and actions."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from assistant.ui.chat.thinking_block import ThinkingBlock
from assistant.ui.chat.version_bar import VersionBar
from assistant.ui.common.elided import ElidedButton, ElidedLabel
from assistant.ui.common.flow_layout import flow_box
from assistant.ui.common.markdown_view import MarkdownView
from assistant.ui.documents.sources_view import SourcesView
from assistant.ui.tools.calls_block import ToolCallsBlock
from assistant.ui.vision.thumbnails import ThumbnailStrip

STATUS_TEXT = {"stopped": "Stopped", "failed": "Failed", "streaming": "Writing…"}


class MessageWidget(QFrame):
    copy_requested = Signal(object)  # self
    edit_submitted = Signal(object, str)  # self, new text
    regenerate_requested = Signal(object)
    retry_requested = Signal(object, str)  # self, "cloud" / "local"
    continue_requested = Signal(object)  # an answer cut off at the length limit: write on
    link_activated = Signal(QUrl)
    controls_added = Signal()  # the editor was made: its place in the window's tab order

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.StyledPanel if role == "user" else QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setAccessibleName("Your message" if role == "user" else "Assistant's answer")

        self._who = QLabel("You" if role == "user" else "Assistant")
        self._who.setObjectName("who")  # bold by the chat's style sheet: it follows the font size
        self._status = QLabel()
        self._status.setObjectName("status")
        self._details = ElidedLabel()  # a long model id is cut in the middle, in full in the tooltip
        self._details.setObjectName("details")
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self._who)
        head.addWidget(self._status)
        head.addStretch(1)

        self.thinking = ThinkingBlock(self)
        self.thinking.hide()
        self.body = MarkdownView(self)
        self.body.link_activated.connect(self.link_activated)
        self._error = QLabel()
        self._error.setTextFormat(Qt.TextFormat.PlainText)  # an error may quote what a model wrote
        self._error.setWordWrap(True)
        self._error.setObjectName("error")
        self._error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._error.hide()

        self._copy = self._button("Copy", "Copy this message", lambda: self.copy_requested.emit(self))
        self._edit = self._button("Edit", "Edit this message and send it again", self._on_edit_clicked)
        self._regen = self._button("Regenerate", "Write this answer again", lambda: self.regenerate_requested.emit(self))
        self._retry_cloud = self._button("Retry with cloud", "Retry with the cloud model", lambda: self.retry_requested.emit(self, "cloud"), ElidedButton)
        self._retry_local = self._button("Retry locally", "Retry with the local model", lambda: self.retry_requested.emit(self, "local"))
        self._continue = self._button("Continue", "Continue the answer where it was cut off", lambda: self.continue_requested.emit(self))
        self._continue.setVisible(False)
        self._cut_off = False
        self._origin = ""
        self._cloud_label = ""
        self._edit.setVisible(role == "user")
        self._regen.setVisible(False)
        self._retry_cloud.setVisible(False)
        self._retry_local.setVisible(False)
        # ‹1/2›: earlier answers kept by Regenerate and Retry; earlier exchanges kept by Edit
        self.versions = VersionBar(self, "question" if role == "user" else "answer")
        actions = self._actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.versions)
        actions.addWidget(self._details, 1)
        actions.addStretch(0)  # holds the buttons right when the details are on their own line
        self._details_row = QHBoxLayout()  # the details go here, on a line of their own, when narrow
        self._details_row.setContentsMargins(0, 0, 0, 0)
        # the buttons wrap onto a second line in a narrow chat: they never widen the message
        self._buttons_box, flow = flow_box(self)
        for b in (self._continue, self._copy, self._edit, self._regen, self._retry_cloud, self._retry_local):
            flow.addWidget(b)
        actions.addWidget(self._buttons_box, 0)

        self.sources: SourcesView | None = None  # an answer from documents: [1], [2] under it
        self.tool_calls: ToolCallsBlock | None = None  # the tools this answer called
        self.images: ThumbnailStrip | None = None  # a user message's pictures, under its text
        self._editor: QPlainTextEdit | None = None
        self._editor_buttons: list[QPushButton] = []
        self._editor_box = QWidget(self)
        self._editor_box.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 6)
        lay.setSpacing(4)
        lay.addLayout(head)
        lay.addWidget(self.thinking)
        lay.addWidget(self.body)
        lay.addWidget(self._editor_box)
        self._sources_at = lay.count()
        lay.addWidget(self._error)
        lay.addLayout(self._details_row)
        lay.addLayout(actions)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_details()

    def _fit_details(self) -> None:
        """The details beside the buttons when both fit, else on their own line above them."""
        m = self.layout().contentsMargins()
        buttons = sum(w.sizeHint().width() + 6 for w in self._buttons_box.findChildren(QPushButton) if w.isVisibleTo(self))
        need = self._details.fontMetrics().horizontalAdvance(self._details.text()) + buttons + m.left() + m.right()
        own_line = need > self.width() and bool(self._details.text())
        if own_line != (self._details_row.indexOf(self._details) >= 0):
            (self._actions if own_line else self._details_row).removeWidget(self._details)
            if own_line:
                self._details_row.addWidget(self._details, 1)
            else:
                self._actions.insertWidget(1, self._details, 1)

    def _button(self, text: str, name: str, slot, kind: type[QPushButton] = QPushButton) -> QPushButton:  # type: ignore[no-untyped-def]
        b = kind(text, self)
        b.setFlat(True)
        b.setAccessibleName(name)
        b.setToolTip(name)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(slot)
        return b

    # -- content ---------------------------------------------------------------
    def set_content(self, text: str, status: str, details: str, error: str, thinking: str = "",
                    thinking_s: float | None = None, *, cut_off: bool = False, details_name: str = "") -> None:
        streaming = status == "streaming"
        self.thinking.set_thinking(thinking, streaming=streaming and not text, seconds=thinking_s)
        if self.role == "user":
            self.body.set_plain_text(text)  # as typed: the user's words are never Markdown or HTML
        else:
            self.body.set_markdown(text if text or not streaming else ("" if thinking else "…"))
        self.body.setVisible(bool(text) or not thinking)
        label = STATUS_TEXT.get(status, "")
        self._status.setText(f"· {label}" if label else "")
        self._status.setVisible(bool(label))
        self._details.setText(details)
        self._details.set_elidable(details_name)  # the model's name is cut, never a figure
        self._fit_details()
        self._cut_off = status == "complete" and (cut_off or bool(thinking.strip()) and not text.strip())
        if not self._cut_off:
            note = ""
        elif text.strip():
            note = "Cut off at the length limit (Longest answer, in ⚙ Model settings). Continue writes on."
        else:
            note = "The answer budget ran out while the model was still thinking."
        self._error.setText(f"⚠ {error}" if error and status == "failed" else note)
        self._error.setVisible(bool(error) and status == "failed" or bool(note))
        done = status != "streaming"
        self._copy.setEnabled(done)
        self._edit.setEnabled(done)

    def set_sources(self, sources: list[dict[str, Any]]) -> None:
        if self.sources is None and sources:
            self.sources = SourcesView(self)
            self.layout().insertWidget(self._sources_at, self.sources)  # type: ignore[attr-defined]
            self.controls_added.emit()
        if self.sources is not None:
            self.sources.set_sources(sources)

    def set_tool_calls(self, records: list[dict[str, Any]]) -> None:
        """The calls this answer made and their results, collapsed under it (ui/tools/calls_block.py)."""
        if self.tool_calls is None and records:
            self.tool_calls = ToolCallsBlock(self)
            self.layout().insertWidget(self._sources_at, self.tool_calls)  # type: ignore[attr-defined]
            self.controls_added.emit()
        if self.tool_calls is not None:
            self.tool_calls.set_records(records)
            if records and not self.body.plain_text().strip():
                self.body.hide()  # an answer that only called tools: the block is its content

    def set_images(self, images: list[tuple[str, str, str]]) -> None:
        """A user message's pictures, (path, name, note) each: thumbnails under its text (ui/vision)."""
        if self.images is None and images:
            self.images = ThumbnailStrip(False, self)
            lay = self.layout()
            lay.insertWidget(lay.indexOf(self.body) + 1, self.images)  # type: ignore[attr-defined]
            self._sources_at += 1
            self.controls_added.emit()
        if self.images is not None:
            self.images.set_images(images)

    def set_streaming_text(self, text: str, thinking: str = "", thinking_s: float | None = None) -> None:
        self.thinking.set_thinking(thinking, streaming=not text, seconds=thinking_s)
        self.body.setVisible(bool(text) or not thinking)
        self.body.set_markdown(text)

    def set_origin(self, origin: str, cloud_label: str) -> None:
        """Where the answer came from ("local" / "cloud") and the cloud model's name ("" when none is set up)."""
        self._origin, self._cloud_label = origin, cloud_label
        self._retry_cloud.setText(f"Retry with {cloud_label}" if cloud_label else "Retry with cloud")
        self._retry_cloud.setAccessibleName(f"Retry with {cloud_label or 'the cloud model'}")

    def set_can_regenerate(self, can: bool) -> None:
        answer = self.role == "assistant" and can
        self._regen.setVisible(answer)
        self._retry_cloud.setVisible(answer and self._origin != "cloud" and bool(self._cloud_label))
        self._retry_local.setVisible(answer and self._origin == "cloud")
        self._continue.setVisible(answer and self._cut_off and self._origin != "cloud")
        self._fit_details()

    def set_actions_enabled(self, enabled: bool) -> None:
        self._edit.setEnabled(enabled)
        self._regen.setEnabled(enabled)
        self._retry_cloud.setEnabled(enabled)
        self._retry_local.setEnabled(enabled)
        self._continue.setEnabled(enabled)

    def text(self) -> str:
        return self.body.plain_text()

    def focus_order(self) -> list[QWidget]:
        """Its controls as they read: thinking, text (or the editor), versions, then the actions."""
        editor = [self._editor, *self._editor_buttons] if self._editor is not None else []
        sources = self.sources.buttons if self.sources is not None else []
        calls = [self.tool_calls.toggle] if self.tool_calls is not None else []
        pictures: list[QWidget] = list(self.images.thumbnails) if self.images is not None else []
        return [self.thinking.toggle, self.body, *pictures, *editor, *calls, *sources, self.versions.prev_button, self.versions.next_button,
                self._continue, self._copy, self._edit, self._regen, self._retry_cloud, self._retry_local]

    # -- editing ---------------------------------------------------------------------
    def _on_edit_clicked(self) -> None:
        if self._editor is None:
            self._editor = QPlainTextEdit(self._editor_box)
            self._editor.setAccessibleName("Edit message")
            self._editor.setTabChangesFocus(True)  # Tab moves on to Cancel and Save and send
            self._editor.installEventFilter(self)
            send = QPushButton("Save and send", self._editor_box)
            send.setAccessibleName("Save the edited message and send it")
            send.setToolTip("Save and send (Ctrl+Enter)")
            send.setDefault(True)
            cancel = QPushButton("Cancel", self._editor_box)
            cancel.setAccessibleName("Cancel editing")
            cancel.setToolTip("Cancel (Esc)")
            send.clicked.connect(self._on_edit_saved)
            cancel.clicked.connect(self._on_edit_cancelled)
            self._editor_buttons = [cancel, send]  # as they read
            self.controls_added.emit()
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(cancel)
            row.addWidget(send)
            lay = QVBoxLayout(self._editor_box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(self._editor)
            lay.addLayout(row)
        self._editor.setPlainText(self.text())
        self.body.hide()
        self._editor_box.show()
        self._editor.setFocus()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        """In the editor: Esc cancels and Ctrl+Enter saves and sends. Both are claimed at
        ShortcutOverride, so the window's Esc (Stop) does not take them first."""
        if obj is self._editor and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            assert isinstance(event, QKeyEvent)
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            escape = event.key() == Qt.Key.Key_Escape
            send = ctrl and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            if escape or send:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    (self._on_edit_cancelled if escape else self._on_edit_saved)()
                return True
        return super().eventFilter(obj, event)

    def _on_edit_cancelled(self) -> None:
        self.close_editor()
        self._edit.setFocus(Qt.FocusReason.OtherFocusReason)  # back where editing began

    def _on_edit_saved(self) -> None:
        if self._editor is not None and self._editor.toPlainText().strip():
            self.edit_submitted.emit(self, self._editor.toPlainText())

    def close_editor(self) -> None:
        self._editor_box.hide()
        self.body.show()

    def editing(self) -> bool:
        return self._editor_box.isVisible()
