"""Images in the chat window: **Image…** beside the message box (Alt+I; Chat → Attach an
image…, Ctrl+Shift+I), a drop of image files on the chat or the box, or a paste of a
picture or of image files. Each is checked as it comes (`attachments.prepare`) and shows
as a thumbnail above the box, removable until the message is sent. A model that cannot
see says so at once, with a button per installed vision model that switches to it, and
the message is not sent while it would have to leave the images out. Sent images show
under their message in the history; a click shows one full size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from assistant.chat.images import StoredImage
from assistant.chat.store import StoredMessage
from assistant.core.image_format import ImageInfo
from assistant.core.image_shrink import Shrunk, needs_shrink
from assistant.core.names import short_model_name
from assistant.core.types import ModelRef
from assistant.errors import AssistantError
from assistant.ui.chat.chat_view import ChatView
from assistant.ui.chat.input_box import PromptEdit
from assistant.ui.chat.session import ChatSession
from assistant.ui.common.actions import add_action
from assistant.ui.common.flow_layout import flow_box
from assistant.ui.vision.attachments import (
    Attached,
    is_image_name,
    prepare,
    save_png,
    sees_images,
    staging_dir,
    vision_models,
)
from assistant.ui.vision.scaling import ScaleJob
from assistant.ui.vision.thumbnails import ThumbnailStrip, picture_icon

SHORTCUT = "Ctrl+Shift+I"
FILTER = "Images (*.png *.jpg *.jpeg *.gif *.bmp *.webp *.tif *.tiff *.heic *.heif *.avif);;All files (*)"
_STILL_SCALING = " is still being scaled down: send the message when it shows above the box."
MAX_IMAGES = 8  # the engine keeps this many images' chunks for the next turns


@dataclass
class ChatImagesHost:
    """What the images need from the window, handed over explicitly."""

    window: QWidget
    session: ChatSession
    chat: ChatView
    prompt: PromptEdit
    input_row: QBoxLayout
    chat_layout: QBoxLayout  # the chat above, the input row below: the tray goes between
    chat_menu: QMenu
    data_dir: Path
    installed: Callable[[], list[ModelRef]]  # the models the picker lists
    choose_model: Callable[[ModelRef], None]  # load one (the header's picker does the same)
    other_files: Callable[[list[str]], object] = lambda paths: None  # dropped files that are not images (Documents')
    offer_files: Callable[[list[str]], object] = lambda paths: None  # pasted paths that are not images (Documents' offer)


class ChatImages(QObject):
    def __init__(self, host: ChatImagesHost) -> None:
        super().__init__(host.window)
        self.h = host
        self.attached: list[Attached] = []
        self._scaling: dict[Path, ScaleJob] = {}  # pictures being scaled down
        # the images of messages sent from this window, by message id (0: the one being sent)
        self._sending: tuple[str, list[tuple[str, str, str]]] | None = None  # (text, images) not yet stored

        self.button = QToolButton(host.window)
        self.button.setText("&Image…")
        self.button.setAccessibleName("Attach an image")
        self.button.setToolTip(f"Attach an image for the model to look at ({SHORTCUT}); you can also drop or paste one")
        self.button.clicked.connect(self.choose_files)
        self.button.setIcon(picture_icon(self.button))
        side = self.button.fontMetrics().height()
        self.button.setIconSize(QSize(side, side))
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        host.input_row.insertWidget(min(2, host.input_row.count()), self.button, 0, Qt.AlignmentFlag.AlignBottom)
        add_action(host.window, host.chat_menu, "Attach an &image…", self.choose_files, SHORTCUT)

        self.tray = QWidget(host.window)
        self.tray.setObjectName("imageTray")
        self.tray.setAccessibleName("Images to send")
        lay = QVBoxLayout(self.tray)
        lay.setContentsMargins(12, 4, 12, 0)
        lay.setSpacing(4)
        self.strip = ThumbnailStrip(True, self.tray)
        self.strip.removed.connect(self.remove)
        top = QHBoxLayout()  # the thumbnails, and "Remove the images" at the right
        top.addWidget(self.strip, 1)
        self.progress = QProgressBar(self.tray)  # while a picture is scaled down (ui/vision/scaling.py)
        self.progress.setRange(0, 0)
        self.progress.setAccessibleName("Scaling down a picture")
        self.progress.setTextVisible(False)
        self.progress.hide()
        top.addWidget(self.progress, 1, Qt.AlignmentFlag.AlignVCenter)
        self.clear_button = QPushButton("Remove the images", self.tray)
        self.clear_button.setAccessibleName("Remove all the images from the message")
        self.clear_button.clicked.connect(self.clear)
        top.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignBottom)
        lay.addLayout(top)
        self.notice = QLabel(self.tray)
        self.notice.setObjectName("imageNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setAccessibleName("About the images")
        lay.addWidget(self.notice)
        self.offer_box, self.offer = flow_box(self.tray)  # a button per vision model to switch to
        self.offer.left_aligned = True  # under the sentence that offers them
        lay.addWidget(self.offer_box)
        host.chat_layout.insertWidget(host.chat_layout.count() - 1, self.tray)
        host.chat.column_changed.connect(lambda side: lay.setContentsMargins(max(12, side - 4), 4, max(12, side - 4), 0))
        self._errors: list[str] = []
        self._refresh()

        s = host.session
        s.image_gate = self.gate
        s.model_loaded.connect(lambda _loaded: self._refresh())
        s.conversation_changed.connect(lambda _cid: self._refresh())
        host.chat.images_for = self.images_for
        host.chat.installEventFilter(self)  # a narrow chat: the button shows its picture only
        for w in (host.prompt.viewport(), host.chat.viewport()):
            w.setAcceptDrops(True)
            w.installEventFilter(self)  # after Documents': images are taken here first
        host.prompt.image_pasted.connect(self.paste)
        host.prompt.paths_pasted.connect(self._on_paths_pasted)

    # -- attaching ------------------------------------------------------------------------
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.h.window, "Attach images", "", FILTER)
        if files:
            self.attach(files)

    def attach(self, paths: list[str] | list[Path]) -> None:
        """Check each file; the good ones join the message, the others are said why."""
        self._errors = []
        for p in paths:
            if len(self.attached) + len(self._scaling) >= MAX_IMAGES:
                self._errors.append(f"At most {MAX_IMAGES} images go with one message; {Path(p).name} was left out.")
                continue
            try:
                big = needs_shrink(p)  # too large to read whole: a scaled-down copy is made first
                if big is not None:
                    self._scale(Path(p), big)
                    continue
                a = prepare(p)
            except AssistantError as exc:
                self._errors.append(str(exc))
                continue
            if all(x.path != a.path for x in self.attached):
                self.attached.append(a)
        self._refresh()

    def _scale(self, path: Path, info: ImageInfo) -> None:
        if path in self._scaling:
            return
        job = ScaleJob(path, staging_dir(), info, self)
        job.succeeded.connect(lambda shrunk, p=path: self._on_scaled(p, shrunk))
        job.failed.connect(lambda message, p=path: self._on_scale_failed(p, message))
        self._scaling[path] = job
        job.start()

    def _on_scaled(self, path: Path, shrunk: Shrunk) -> None:
        if self._scaling.pop(path, None) is None:  # removed (or the window closed) meanwhile
            return
        self._errors = [e for e in self._errors if not e.endswith(_STILL_SCALING)]
        try:
            prepare(shrunk.path)  # the copy gets the checks every picture gets
        except AssistantError as exc:
            self._errors.append(str(exc))
        else:
            self.attached.append(Attached(shrunk.path, path.name, shrunk.note))
        self._refresh()

    def _on_scale_failed(self, path: Path, message: str) -> None:
        if self._scaling.pop(path, None) is not None:
            self._errors.append(message)
            self._refresh()

    def scaling(self) -> list[str]:
        """The names of the pictures being scaled down."""
        return [p.name for p in self._scaling]

    def shutdown(self) -> None:
        """Stop the scaling (the window closes): its process ends, nothing is kept."""
        jobs, self._scaling = list(self._scaling.values()), {}
        for job in jobs:
            job.cancel.set()
        for job in jobs:
            job.wait()

    def paste(self, image: QImage) -> None:
        """A picture from the clipboard (a screenshot): saved as PNG and attached."""
        try:
            path = save_png(image)
        except AssistantError as exc:
            self._errors = [str(exc)]
            self._refresh()
            return
        self.attach([path])
        if self.attached and self.attached[-1].path == path:
            self.attached[-1] = Attached(path, "Pasted picture", self.attached[-1].note)
            self._refresh()

    def _on_paths_pasted(self, paths: list[str]) -> None:
        pics = [p for p in paths if is_image_name(p)]
        if pics:
            text = self.h.prompt.toPlainText()
            for p in pics:  # the path was only a way to say which file
                text = text.replace(p, "")
            self.h.prompt.setPlainText(text.strip())
            self.attach(pics)
            self.h.offer_files([p for p in paths if not is_image_name(p)])  # Documents offered them all

    def remove(self, path: str) -> None:
        self.attached = [a for a in self.attached if str(a.path) != path]
        self._errors = []
        self._refresh()

    def clear(self) -> None:
        for job in self._scaling.values():
            job.cancel.set()  # its result is not taken: it is no longer in _scaling
        self.attached, self._errors, self._scaling = [], [], {}
        self._refresh()

    # -- what the model can do --------------------------------------------------------------
    def _model(self) -> ModelRef | None:
        loaded = self.h.session.loaded
        return loaded.model if loaded is not None else None

    def blocked(self) -> str:
        """Why the attached images cannot go with the next message ("" when they can)."""
        model = self._model()
        if not self.attached or sees_images(model):
            return ""
        if model is None:
            return "Choose a vision model to send these images: no model is loaded."
        return (f"{short_model_name(model.display_name)} cannot see images: it has no vision projector (mmproj) beside it. Nothing is sent until "
                "you switch to a model that can see, or remove the images.")

    def _refresh(self) -> None:
        self.strip.set_images([(str(a.path), a.name, a.note) for a in self.attached])
        why = self.blocked()
        notes = [f"{a.name}: {a.note}" for a in self.attached if a.note]
        notes += [f"Scaling down {p.name} ({j.info.width:,} × {j.info.height:,} pixels) to a size the model can read…"
                  for p, j in self._scaling.items()]
        self.notice.setText("\n".join([*self._errors, *([why] if why else []), *notes]))
        self.notice.setVisible(bool(self.notice.text()))
        for b in self.offer_box.findChildren(QPushButton):
            self.offer.removeWidget(b)
            b.deleteLater()
        models = vision_models(self.h.installed()) if why else []
        current = self._model()
        for m in models:
            if current is not None and m.path == current.path:
                continue
            b = QPushButton(f"Switch to {short_model_name(m.display_name)}", self.offer_box)
            b.setAccessibleName(f"Switch to {m.display_name}, which can see images")
            b.clicked.connect(lambda _c=False, m=m: self.h.choose_model(m))
            self.offer.addWidget(b)
        if why and not models:
            self.notice.setText(self.notice.text() + "\nNo vision model is installed: the Model library lists those "
                                "marked 👁 (Gemma 3 4B and larger, Mistral Small 3.2), with their projector.")
        self.offer_box.setVisible(bool(models))
        self.progress.setVisible(bool(self._scaling))
        self.clear_button.setVisible(bool(self.attached or self._scaling))
        self.tray.setVisible(bool(self.attached or self._errors or self._scaling))

    # -- sending -----------------------------------------------------------------------------
    def gate(self, text: str, target: str | None) -> list[StoredImage] | None:
        """Called by the session as a message is sent: the images to send with it (stored by
        content), [] when none, None when the message must wait (the reason is shown)."""
        if self._scaling:  # sent with the picture, or not at all: never silently without it
            self._errors = [f"{', '.join(self.scaling())}{_STILL_SCALING}"]
            self._refresh()
            return None
        if not self.attached:
            return []
        if target == "cloud":  # "Ask <cloud model>": the images go in its API's image parts (not for a chat
            return self._store_attached(text)  # marked "never send images": chat/dispatch.py leaves them out)
        if self.blocked():
            self._refresh()
            self.tray.show()
            return None
        return self._store_attached(text)

    def _store_attached(self, text: str) -> list[StoredImage] | None:
        try:  # kept by content in the chat history's image store (chat/images.py), with the message
            stored = [self.h.session.store.images.add_file(a.path, a.name) for a in self.attached]
        except (OSError, AssistantError) as exc:
            self._errors = [f"The images could not be kept in the data folder: {getattr(exc, 'message', None) or exc}."]
            self._refresh()
            return None
        self._sending = (text.strip(), [(str(s.path), a.name, a.note) for s, a in zip(stored, self.attached)])
        self.clear()
        return stored  # the turn attaches them to the message it stores

    def images_for(self, message: StoredMessage | None) -> list[tuple[str, str, str]]:
        """A message's images for the history: (path, name, note) each, from the store; the
        message being sent (not stored yet) shows the ones just attached."""
        if message is None or message.role != "user":
            return []
        if message.id > 0:
            return [(str(s.path), s.name, s.note) for s in self.h.session.store.message_images(message.id)]
        if self._sending is not None and message.content.strip() == self._sending[0]:
            return self._sending[1]
        return []

    # -- drops ---------------------------------------------------------------------------------
    def _fit_button(self) -> None:
        """"Image…" beside its picture when the row has room, else the picture only (the
        tooltip, the accessible name, Alt+I and Ctrl+Shift+I stay)."""
        b = self.button
        text = b.fontMetrics().horizontalAdvance(b.text().replace("&", "")) + b.iconSize().width() + 6
        now = b.sizeHint().width() if b.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon \
            else b.sizeHint().width() + text
        wanted = self.h.input_row.minimumSize().width() - b.sizeHint().width() + now
        style = Qt.ToolButtonStyle.ToolButtonTextBesideIcon if wanted <= self.h.chat.width() \
            else Qt.ToolButtonStyle.ToolButtonIconOnly
        if style != b.toolButtonStyle():
            b.setToolButtonStyle(style)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if obj is self.h.chat and kind == QEvent.Type.Resize:
            self._fit_button()
            return False
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop) and isinstance(event, QDropEvent):
            mime = event.mimeData()
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []
            pics = [f for f in files if is_image_name(f)]
            if pics or (mime.hasImage() and not files):
                event.acceptProposedAction()
                if kind == QEvent.Type.Drop:
                    if pics:
                        self.attach(pics)
                    else:
                        self.paste(QImage(mime.imageData()))
                    rest = [f for f in files if not is_image_name(f)]
                    if rest:
                        self.h.other_files(rest)
                return True
        return super().eventFilter(obj, event)
