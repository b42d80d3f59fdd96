"""Every screen of the app on a real X display, checked for anything cut off.

    Xvfb :9 -screen 0 800x600x24 & openbox &   # or: xvfb-run -a -s "-screen 0 800x600x24"
    DISPLAY=:9 .venv/bin/python tools/layout_probe.py --font-pt 14 [--shots DIR] GEMMA.gguf

Opens, one after another, the chat (seeded, with the real model loaded, the message
editor open), the model library's four tabs, Settings (each tab), the model's settings,
Network activity, About, the first-run wizard and the consent dialog. For each window it
checks that the window lies inside the screen's free area, that every visible control lies
inside its window, and that no label, button or box is narrower than its text needs (Qt's
minimum size hint; controls that elide on purpose are left out). Prints one JSON object:
{"problems": [...], "screens": [...]}; with --shots, saves a screenshot of the whole
screen (window manager frame included) per screen, to look at.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-layout-"))

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTabWidget,
    QWidget,
)

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.core.types import Message  # noqa: E402
from assistant.paths import get_paths  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.common.elided import ElidedButton, ElidedComboBox, ElidedLabel  # noqa: E402
from assistant.ui.common.theme import apply_theme  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402

ANSWER = """Here is a comparison, and a function that computes it.

| Planet | Moons | Day length |
|---|---:|---|
| Earth | 1 | 24 h |
| Jupiter | 95 | 9 h 56 m |

```python
def moons_per_hour(moons: int, day_hours: float) -> float:
    return moons / day_hours  # a silly metric, for the example, with a long comment that wraps
```

- **Earth** has the longest day. Is `<div class="x">` safe? <b>bold</b> stays as written.
"""
ELIDES = (ElidedLabel, ElidedButton, ElidedComboBox)


def settle(app: QApplication, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app: QApplication, cond, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        settle(app, 0.05)


def _inside_scrolled_content(w: QWidget) -> bool:
    """Content of a scroll area (it scrolls into view) and item views' editors."""
    p = w.parentWidget()
    while p is not None:
        if isinstance(p, QAbstractScrollArea) and p.viewport().isAncestorOf(w):
            return True
        p = p.parentWidget()
    return False


def check_window(win: QWidget, name: str) -> list[str]:
    problems: list[str] = []
    screen = (win.screen() or QApplication.primaryScreen()).availableGeometry()
    frame = win.frameGeometry()
    if not screen.contains(frame):
        problems.append(f"{name}: the window {frame.getRect()} goes past the screen {screen.getRect()}")
    need = win.minimumSizeHint()
    if win.layout() is not None and (win.width() + 1 < need.width() or win.height() + 1 < need.height()):
        problems.append(f"{name}: the window is {win.width()}x{win.height()}, its contents need {need.width()}x{need.height()}")
    inner = QRect(0, 0, win.width(), win.height())
    for area in win.findChildren(QAbstractScrollArea):  # no sideways scrolling: nothing may stick out
        if area.isVisible() and area.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff:
            room = area.viewport().width()
            for c in area.viewport().findChildren(QWidget):
                right = c.mapTo(area.viewport(), c.rect().topRight()).x()
                if c.isVisible() and right > room + 1:
                    problems.append(f"{name}: {type(c).__name__}({c.accessibleName() or c.objectName()}) ends at"
                                    f" {right}, past the {room} px of {type(area).__name__}({area.accessibleName()})")
    problems += _overlaps(win, name)
    for c in win.findChildren(QWidget):
        if not c.isVisible() or c.window() is not win or _inside_scrolled_content(c) or c.width() <= 0:
            continue
        label = f"{type(c).__name__}({c.accessibleName() or c.objectName() or getattr(c, 'text', lambda: '')()})"
        rect = QRect(c.mapTo(win, c.rect().topLeft()), c.size())
        if not inner.adjusted(-1, -1, 1, 1).contains(rect):
            problems.append(f"{name}: {label} at {rect.getRect()} is outside the window {inner.getRect()}")
            continue
        if isinstance(c, ELIDES) or isinstance(c, QLineEdit):
            continue
        cut = isinstance(c, (QAbstractButton, QComboBox)) or (isinstance(c, QLabel) and not c.wordWrap() and c.text())
        if cut and c.width() + 1 < c.minimumSizeHint().width():
            problems.append(f"{name}: {label} is {c.width()} px wide, its text needs {c.minimumSizeHint().width()}")
    return problems


def _overlaps(win: QWidget, name: str) -> list[str]:
    """Controls of one layout drawn over each other (a window squeezed below its minimum)."""
    out = []
    for parent in [win, *win.findChildren(QWidget)]:
        if parent.layout() is None or not parent.isVisible() or parent.window() is not win:
            continue
        kids = [c for c in parent.children() if isinstance(c, QWidget) and c.isVisible() and not c.isWindow()
                and parent.layout().indexOf(c) >= 0]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                both = a.geometry().intersected(b.geometry())
                if both.width() > 2 and both.height() > 2:
                    out.append(f"{name}: {type(a).__name__}({a.accessibleName()}) and {type(b).__name__}({b.accessibleName()}) overlap")
    return out


class Probe:
    def __init__(self, app: QApplication, shots: Path | None) -> None:
        self.app, self.shots = app, shots
        self.problems: list[str] = []
        self.screens: list[str] = []

    def look(self, win: QWidget, name: str) -> None:
        settle(self.app, 0.6)
        self.screens.append(name)
        self.problems += check_window(win, name)
        if self.shots is not None:
            screen = win.screen() or QApplication.primaryScreen()
            screen.grabWindow(0).save(str(self.shots / f"{len(self.screens):02d}-{name}.png"))


def run(gemma: Path, font_pt: int, shots: Path | None) -> dict[str, list[str]]:
    app = QApplication.instance() or QApplication(sys.argv)
    apply_theme(app, "light", font_pt)  # type: ignore[arg-type]
    probe = Probe(app, shots)
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    conv = store.create_conversation("Planets and their moons, compared in a table with code")
    store.add_message(conv.id, "user", "Compare Earth and Jupiter in a table, and give me a Python function.")
    store.add_message(conv.id, "assistant", ANSWER, engine="llama.cpp", model="gemma-3-270m-q4_k_m",
                      decode_tokens_per_s=94.8, prompt_tokens=31, completion_tokens=164, finish_reason="length")
    store.create_conversation("Weekend hiking plan")
    settings = Settings(extra_models=[str(gemma)], last_conversation_id=conv.id, first_run_done=True,
                        n_threads=2, context_length=2048)
    settings.cloud.provider, settings.cloud.model = "openai", "gpt-4o-mini"
    w = MainWindow(paths, settings, store)
    w.show()
    wait(app, lambda: w.session.loaded is not None)
    w.activateWindow()
    probe.look(w, "chat")
    w.chat.widget_at(0)._edit.click()  # type: ignore[union-attr]
    probe.look(w, "chat-editing")
    w.chat.widget_at(0).close_editor()  # type: ignore[union-attr]

    w.open_library()
    lib = w.library
    assert lib is not None
    wait(app, lambda: not lib.busy)
    for i in range(lib.tabs.count()):
        lib.tabs.setCurrentIndex(i)
        probe.look(lib, f"library-{i}")
    lib.close()

    from assistant.ui.settings.dialog import SettingsDialog

    dlg = SettingsDialog(settings, paths, w)
    w.cloud.add_settings_tab(dlg)
    w.servers.add_settings_tabs(dlg)
    dlg.show()
    tabs = dlg.findChild(QTabWidget)
    for i in range(tabs.count() if tabs else 1):
        if tabs is not None:
            tabs.setCurrentIndex(i)
        probe.look(dlg, f"settings-{i}")
    dlg.close()

    from assistant.ui.library.model_settings_dialog import ModelSettingsDialog

    settings.advanced_settings = True
    ms = ModelSettingsDialog(w.session.loaded.model, settings, ["llama.cpp"], w)  # type: ignore[union-attr]
    ms.show()
    probe.look(ms, "model-settings")
    ms.close()

    from assistant.ui.settings.network_view import NetworkActivityDialog

    net = NetworkActivityDialog(w)
    net.show()
    probe.look(net, "network-activity")
    net.close()

    from assistant.ui.about_dialog import AboutDialog

    about = AboutDialog([w.session.loaded.model], w)  # type: ignore[union-attr]
    about.show()
    probe.look(about, "about")
    about.close()

    from assistant.ui.cloud.consent_dialog import ConsentDialog

    consent = ConsentDialog("Send this prompt to OpenAI gpt-4o-mini?", "It asks for careful multi-step reasoning.",
                            [Message("system", "You are a helpful assistant."), Message("user", "A hard question " * 20)],
                            True, w)
    consent.show()
    probe.look(consent, "consent")
    consent.close()

    from assistant.ui.library.wizard import FirstRunWizard

    wiz = FirstRunWizard(paths, settings, w.download_host, w)
    wiz.show()
    wait(app, lambda: wiz.hw is not None)
    probe.look(wiz, "wizard-0")
    wiz.next_button.click()
    probe.look(wiz, "wizard-1")
    wiz.close()

    w.close()
    store.close()
    return {"problems": probe.problems, "screens": probe.screens}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gemma", type=Path)
    ap.add_argument("--font-pt", type=int, default=11)
    ap.add_argument("--shots", type=Path)
    args = ap.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run(args.gemma, args.font_pt, args.shots)))


if __name__ == "__main__":
    main()
