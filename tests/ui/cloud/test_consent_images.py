"""The consent dialog with images: the text preview lists them, thumbnails show them
(decoded small, with their name, size and pixels as a tooltip), and "Never send this
chat's images" comes back in the Consent and marks the chat."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from pytestqt.qtbot import QtBot

from assistant.chat.cloud_route import Consent
from assistant.chat.dispatch import SendPolicy
from assistant.chat.store import ChatStore
from assistant.settings import CloudSettings, Settings
from assistant.ui.cloud.consent_dialog import THUMB, ConsentDialog


def jpeg(size: tuple[int, int]) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", size, (0, 128, 0)).save(b, "JPEG")
    return b.getvalue()


def test_the_consent_dialog_shows_the_images_and_can_mark_the_chat(qtbot: QtBot, tmp_path: Path) -> None:
    with ChatStore.open(tmp_path / "history.sqlite3") as store:
        policy = SendPolicy(store, Settings(cloud=CloudSettings(provider="openai", model="gpt-4o", routing_mode="ask")))
        conv = store.create_conversation().id
        photo = store.images.add_bytes(jpeg((400, 300)), "garden.jpg")
        messages = policy.outgoing_preview("What plant is this?", conv, None, images=[photo])
        d = ConsentDialog("Send?", "It is hard.", messages, redacted=False)
        qtbot.addWidget(d)
        d.show()
        assert "What plant is this?\n[image: garden.jpg (" in d.preview.toPlainText()
        thumbs = [w for w in d.thumbnails.children() if hasattr(w, "pixmap") and not w.pixmap().isNull()]
        assert len(thumbs) == 1 and d.thumbnails.isVisible() and d.never_images.isVisible()
        pm = thumbs[0].pixmap()
        assert (pm.width(), pm.height()) == (THUMB, 72)  # 400 × 300 at thumbnail size
        assert thumbs[0].toolTip().startswith("garden.jpg (") and thumbs[0].toolTip().endswith(", 400 × 300)")
        got: list[Consent] = []
        d.decided.connect(got.append)
        d.never_images.setChecked(True)
        d.send_button.click()
        assert got == [Consent(send=True, never_images=True)]
        policy.apply_consent(conv, got[0])
        assert store.never_images(conv) and not store.get_conversation(conv).never_cloud  # type: ignore[union-attr]


def test_without_images_the_dialog_has_no_image_parts(qtbot: QtBot) -> None:
    from assistant.core.types import Message

    d = ConsentDialog("Send?", "It is hard.", [Message("user", "hi")], redacted=False)
    qtbot.addWidget(d)
    d.show()
    assert not d.thumbnails.isVisible() and not d.never_images.isVisible()
