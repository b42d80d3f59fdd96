"""Images in the chat window, with the real engine: a vision model (the test model with the
tiny random projector beside it) and a text-only one (the test model alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QPushButton
from support.window import close_window, gemma_settings, open_window

from assistant.ui.main_window import MainWindow
from assistant.ui.vision.thumbnails import ImageDialog, Thumbnail
from tests.support import image_files as imgs
from tests.support.tiny_mmproj import N_IMAGE_TOKENS, mmproj_path

TURN_TIMEOUT = 120_000
LOAD_TIMEOUT = 60_000


def vision_model(home: Path, gemma_path: Path) -> Path:
    folder = home / "vision" / "acme__Gemma-Vision"
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "gemma-vision-Q4_K_M.gguf"
    if not model.exists():
        model.symlink_to(gemma_path)
        (folder / "mmproj-gemma-vision-f16.gguf").symlink_to(mmproj_path())
    return model


@pytest.fixture
def seeing(qtbot, gemma_path: Path, home: Path):  # type: ignore[no-untyped-def]
    """The window with the vision model loaded."""
    model = vision_model(home, gemma_path)
    s = gemma_settings(model, max_tokens=2, default_model=str(model))
    w = open_window(qtbot, s)
    yield w
    close_window(w)


@pytest.fixture
def blind(qtbot, gemma_path: Path, home: Path):  # type: ignore[no-untyped-def]
    """The window with the text-only model loaded; a vision model installed beside it."""
    s = gemma_settings(gemma_path, max_tokens=2, default_model=str(gemma_path))
    s.extra_models.append(str(vision_model(home, gemma_path)))
    w = open_window(qtbot, s)
    assert w.session.loaded is not None and w.session.loaded.model.path == gemma_path
    yield w
    close_window(w)


def _drop(w: MainWindow, target, files: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """A drop as the viewport's event filters see it (the images' filter runs before Documents')."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    event = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    assert w.images.eventFilter(target, event) and event.isAccepted()


def _tray_names(w: MainWindow) -> list[str]:
    return [t.name for t in w.images.strip.thumbnails]


def test_an_image_attached_with_the_button_reaches_the_model_and_shows_in_the_history(
        qtbot, seeing: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    w = seeing
    pic = imgs.write_png(tmp_path / "cat.png", imgs.noise(5))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(pic)], ""))
    assert w.images.button.text() == "&Image…"
    qtbot.keyClick(w, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert _tray_names(w) == ["cat.png"] and w.images.tray.isVisible()
    assert not w.images.notice.isVisible()  # the model sees: nothing to say
    w.prompt.setPlainText("What is in this picture?")
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    assert _tray_names(w) == [] and not w.images.tray.isVisible()  # it went with the message
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == 2, timeout=TURN_TIMEOUT)
    stored = sorted((w.paths.data_dir / "images").iterdir())
    assert [p.suffix for p in stored] == [".png"] and stored[0].read_bytes() == pic.read_bytes()
    answer = w.store.messages(w.session.conversation_id)[-1]
    assert answer.status == "complete", answer.error
    # the same question without the image: the image's tokens are the difference
    w.session.new_conversation()
    w.prompt.setPlainText("What is in this picture?")
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == 2, timeout=TURN_TIMEOUT)
    plain = w.store.messages(w.session.conversation_id)[-1]
    assert answer.prompt_tokens is not None and plain.prompt_tokens is not None
    assert answer.prompt_tokens - plain.prompt_tokens >= N_IMAGE_TOKENS
    # back in the first chat: the thumbnail under the question; a click shows it full size
    w.session.open_conversation(answer.conversation_id)
    question = w.chat.widget_at(0)
    assert question is not None and question.images is not None
    thumbs = question.images.thumbnails
    assert [t.path for t in thumbs] == [str(stored[0])]
    qtbot.waitUntil(lambda: thumbs[0].isVisible())
    assert w.chat.widget_at(1).images is None  # type: ignore[union-attr]  # the answer has none
    qtbot.mouseClick(thumbs[0], Qt.MouseButton.LeftButton)
    dialog = next(d for d in w.findChildren(ImageDialog))
    assert dialog.isVisible() and dialog.label.pixmap().size().width() == 48
    dialog.close()


def test_a_model_without_vision_says_so_before_sending_and_offers_the_vision_model(
        qtbot, blind: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = blind
    pic = imgs.write_png(tmp_path / "dog.png", imgs.noise(6))
    _drop(w, w.prompt.viewport(), [pic])
    assert _tray_names(w) == ["dog.png"]
    text = w.images.notice.text()
    assert w.images.notice.isVisible() and "cannot see images" in text and "Nothing is sent" in text
    offers = [b for b in w.images.offer_box.findChildren(QPushButton) if b.isVisibleTo(w)]
    assert [b.text() for b in offers] == ["Switch to gemma-vision-Q4_K_M"]
    w.prompt.setPlainText("Describe it")
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    assert w.session.messages.rowCount() == 0 and w.prompt.toPlainText() == "Describe it"  # nothing sent or dropped
    assert _tray_names(w) == ["dog.png"]
    offers[0].click()
    qtbot.waitUntil(lambda: w.session.loaded is not None and w.session.loaded.model.path.name == "gemma-vision-Q4_K_M.gguf",
                    timeout=LOAD_TIMEOUT)
    qtbot.waitUntil(lambda: not w.images.notice.isVisible())
    assert w.images.gate("Describe it", None) is not None


def test_removing_a_thumbnail_and_pasting_a_picture(qtbot, blind: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = blind
    a, b = imgs.write_png(tmp_path / "a.png", imgs.noise(1)), imgs.write_png(tmp_path / "b.png", imgs.noise(2))
    w.images.attach([a, b])
    assert _tray_names(w) == ["a.png", "b.png"]
    first: Thumbnail = w.images.strip.thumbnails[0]
    assert first.remove_button is not None
    first.remove_button.click()
    assert _tray_names(w) == ["b.png"]
    w.images.clear_button.click()
    assert _tray_names(w) == [] and not w.images.tray.isVisible()
    image = QImage(20, 10, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    QGuiApplication.clipboard().setImage(image)
    w.prompt.setFocus()
    w.prompt.paste()
    assert _tray_names(w) == ["Pasted picture"] and w.prompt.toPlainText() == ""
    pasted = w.images.attached[0].path
    assert pasted.suffix == ".png" and QImage(str(pasted)).size() == image.size()
    # a dropped PNG file and a text file: the picture here, the text file to Documents
    got: list[list[str]] = []
    w.images.h.other_files = got.append
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    _drop(w, w.chat.viewport(), [a, notes])
    assert _tray_names(w) == ["Pasted picture", "a.png"] and got == [[str(notes)]]


def test_bad_images_say_what_is_wrong(qtbot, blind: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = blind
    good = imgs.png_bytes(imgs.noise(3))
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all")
    (tmp_path / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(32))
    imgs.png_header_claiming(tmp_path / "huge.png", 20_000, 20_000)
    (tmp_path / "anim.gif").write_bytes(imgs.gif_bytes(3))
    webp = tmp_path / "pic.webp"
    assert QImage(imgs.write_png(tmp_path / "src.png", imgs.noise(4))).save(str(webp), "WEBP")
    imgs.halves(8000).tiffsave(str(tmp_path / "scan.tif"), compression="deflate")  # 64 MP: Qt would decode it whole
    w.images.attach([tmp_path / n for n in ("cut.png", "junk.jpg", "photo.heic", "huge.png", "anim.gif", "pic.webp",
                                            "scan.tif")])
    text = w.images.notice.text()
    assert "cut.png is a damaged or incomplete PNG" in text
    assert "junk.jpg is not an image this app reads" in text
    assert "photo.heic is not supported: HEIC" in text
    assert "Scaling down huge.png (20,000 × 20,000 pixels) to a size the model can read…" in text
    qtbot.waitUntil(lambda: not w.images.scaling(), timeout=30_000)  # its header lies: the reader says so
    text = w.images.notice.text()
    assert "huge.png (20,000 × 20,000 pixels) could not be read to scale it down" in text
    assert "anim.gif: It is an animated GIF: the model sees its first frame only." in text
    assert "pic.webp: It is a WebP image: the model reads a PNG copy of it." in text
    assert "scan.tif is 8,000 x 8,000 pixels, too large to convert from a TIFF image" in text
    assert _tray_names(w) == ["anim.gif", "pic.webp"]  # only what the model can read is attached
    converted = w.images.attached[1].path
    assert converted.suffix == ".png" and converted.read_bytes().startswith(b"\x89PNG")


def test_a_20000_pixel_picture_is_scaled_down_off_the_gui_thread_and_reaches_the_model(
        qtbot, seeing: MainWindow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = seeing
    poster = tmp_path / "poster.png"
    imgs.write_poster(poster)
    w.images.attach([poster])
    assert w.images.scaling() == ["poster.png"] and _tray_names(w) == []
    assert "Scaling down poster.png (20,000 × 20,000 pixels)" in w.images.notice.text() and w.images.tray.isVisible()
    assert w.images.progress.isVisibleTo(w)
    # a message sent meanwhile waits: never sent without its picture
    w.prompt.setPlainText("What is on this poster?")
    qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    if w.images.scaling():
        assert w.session.messages.rowCount() == 0 and "still being scaled down" in w.images.notice.text()
        assert w.prompt.toPlainText() == "What is on this poster?"
    qtbot.waitUntil(lambda: _tray_names(w) == ["poster.png"], timeout=60_000)
    assert "still being scaled down" not in w.images.notice.text() and not w.images.progress.isVisibleTo(w)
    assert "poster.png: Scaled down from 20,000 × 20,000 to 4,096 × 4,096 pixels" in w.images.notice.text()
    if w.session.messages.rowCount() == 0:
        qtbot.keyClick(w.prompt, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == 2, timeout=TURN_TIMEOUT)
    answer = w.store.messages(w.session.conversation_id)[-1]
    assert answer.status == "complete", answer.error
    kept = w.store.message_images(w.store.messages(w.session.conversation_id)[0].id)
    assert [(k.name, k.width, k.height, k.format) for k in kept] == [("poster.png", 4096, 4096, "png")]


def test_the_full_size_view_fits_the_screen(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    big = imgs.write_png(tmp_path / "big.png", imgs.noise(7, w=4000, h=3000))
    screen = QGuiApplication.primaryScreen().availableGeometry()
    d = ImageDialog(str(big), "big.png")
    qtbot.addWidget(d)
    shown = d.label.pixmap().size()
    assert shown.width() < 4000 and shown.width() <= screen.width() and shown.height() <= screen.height()
    assert d.width() <= screen.width() and d.height() <= screen.height()
    assert abs(shown.width() / shown.height() - 4 / 3) < 0.01  # not stretched
    assert "4,000 × 3,000 pixels, shown smaller" in " ".join(lb.text() for lb in d.findChildren(type(d.label)))
    small = ImageDialog(str(imgs.write_png(tmp_path / "s.png", imgs.noise(8))), "s.png")
    qtbot.addWidget(small)
    assert small.label.pixmap().size().width() == 48  # at its own size



def test_ask_cloud_sends_the_images_in_its_api_shape(qtbot, gemma_path: Path, home: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                     secret_service: None) -> None:
    """"Ask <cloud model>" with an image attached: the image goes with the question as an
    image_url part (the test server records the request body), and the chat keeps it."""
    import base64

    from support.openai_server import OpenAIServer

    from assistant import keys
    from assistant.chat.dispatch import key_id
    from assistant.settings import CloudSettings

    key = "sk-vision-cloud-4e5f6a7b8c9d0e1f2a3b"
    pic = imgs.write_png(tmp_path / "dog.png", imgs.noise(6))
    with OpenAIServer(api_key=key) as server:
        s = gemma_settings(gemma_path, max_tokens=4)
        s.cloud = CloudSettings(provider="openai-compatible", model="vision-cloud", base_url=server.base_url,
                                routing_mode="ask")
        keys.set_key(key_id(s.cloud), key)
        w = open_window(qtbot, s)
        try:
            w.images.attach([pic])
            assert w.session.send("What is in this picture?", "cloud")
            qtbot.waitUntil(lambda: not w.session.busy and w.session.messages.rowCount() == 2, timeout=TURN_TIMEOUT)
            user = server.last_body["messages"][-1]
            parts = user["content"]
            assert [p["type"] for p in parts] == ["text", "image_url"]
            assert parts[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(pic.read_bytes()).decode()
            rows = w.store.messages(w.session.conversation_id)
            assert [im.name for im in w.store.message_images(rows[0].id)] == ["dog.png"]
        finally:
            close_window(w)
