"""Asks before a prompt goes to the cloud, and shows exactly what would be sent: the
text, and thumbnails of the images (each with its name, size and pixels as a tooltip)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from assistant.chat.cloud_route import Consent
from assistant.chat.privacy import OutgoingMessages, image_label, preview_text
from assistant.core.types import Message
from assistant.ui.common.window_size import fit_to_screen, room_on_screen


class ConsentDialog(QDialog):
    decided = Signal(object)  # Consent

    def __init__(
        self, question: str, reason: str, messages: list[Message], redacted: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to the cloud?")
        self.setAccessibleName("Send to the cloud?")
        self._sent = False
        self.question = QLabel(f"<b>{question}</b>")
        self.question.setWordWrap(True)
        self.reason = QLabel(reason)
        self.reason.setWordWrap(True)
        self.reason.setAccessibleName("Why")
        what = QLabel(
            f"These {len(messages)} messages would be sent"
            + (", with e-mail addresses, phone numbers and key-like strings hidden:" if redacted else ", exactly as shown:")
        )
        what.setWordWrap(True)
        self.preview = QPlainTextEdit(preview_text(messages))
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Messages that will be sent")
        self.preview.setMinimumSize(320, 120)
        names = messages.image_names if isinstance(messages, OutgoingMessages) else {}
        paths = [p for m in messages for p in m.images]
        self.thumbnails = QWidget()
        self.thumbnails.setAccessibleName(f"{len(paths)} images that will be sent")
        strip = QHBoxLayout(self.thumbnails)
        strip.setContentsMargins(0, 0, 0, 0)
        for path in paths:
            strip.addWidget(_thumbnail(path, image_label(path, names)))
        strip.addStretch(1)
        self.thumbnails.setVisible(bool(paths))
        self.never_images = QCheckBox("Never send this chat's &images (the text still goes)")
        self.never_images.setAccessibleName("Never send this chat's images")
        self.never_images.setVisible(bool(paths))
        self.always = QCheckBox("&Always send hard prompts (Automatic mode)")
        self.always.setAccessibleName("Always send hard prompts")
        self.never = QCheckBox("&Never send this chat to the cloud")
        self.never.setAccessibleName("Never send this chat to the cloud")
        self.never.toggled.connect(self._on_never_toggled)
        self.send_button = QPushButton("&Send")
        self.send_button.setAccessibleName("Send to the cloud")
        self.local_button = QPushButton("&Keep local")
        self.local_button.setAccessibleName("Keep local: answer with the local model")
        self.local_button.setDefault(True)  # Enter never sends data off the machine by accident
        self.local_button.setShortcut(QKeySequence("Escape"))
        self.send_button.clicked.connect(lambda: self._finish(True))
        self.local_button.clicked.connect(lambda: self._finish(False))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.local_button)
        row.addWidget(self.send_button)
        lay = QVBoxLayout(self)
        for w in (self.question, self.reason, what):
            lay.addWidget(w)
        lay.addWidget(self.preview, 1)
        lay.addWidget(self.thumbnails)
        lay.addWidget(self.always)
        lay.addWidget(self.never_images)
        lay.addWidget(self.never)
        lay.addLayout(row)
        # as tall as the wrapped text needs at a comfortable width, within the screen (a
        # dialog's own minimum ignores word wrap, so on a small screen the parts overlapped)
        width = max(self.sizeHint().width(), self.fontMetrics().averageCharWidth() * 64)
        fit_to_screen(self, QSize(width, lay.totalHeightForWidth(width) + self.preview.minimumHeight()))
        self.setMinimumHeight(min(lay.totalHeightForWidth(self.width()), room_on_screen(self).height()))

    def _on_never_toggled(self, on: bool) -> None:
        self.send_button.setEnabled(not on)
        self.always.setEnabled(not on)

    def _finish(self, send: bool) -> None:
        if self._sent:
            return
        self._sent = True
        send = send and not self.never.isChecked()
        self.decided.emit(Consent(send=send, always=self.always.isChecked() and send, never_this_chat=self.never.isChecked(),
                                  never_images=self.never_images.isChecked()))
        self.accept() if send else self.reject()

    def reject(self) -> None:  # Escape or the close button: keep local
        if not self._sent:
            self._sent = True
            self.decided.emit(Consent(send=False, never_this_chat=self.never.isChecked(),
                                      never_images=self.never_images.isChecked()))
        super().reject()


THUMB = 96  # pixels, the longer side


def _thumbnail(path: str, label: str) -> QLabel:
    """A small picture of an image (decoded at thumbnail size: a large photo costs little)."""
    reader = QImageReader(path)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > THUMB:
        reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    thumb = QLabel()
    if image.isNull():
        thumb.setText("[image]")
    else:
        thumb.setPixmap(QPixmap.fromImage(image))
    thumb.setToolTip(label)
    thumb.setAccessibleName(f"Image: {label}")
    return thumb
