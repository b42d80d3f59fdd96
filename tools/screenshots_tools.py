"""Screenshots of a chat's Tools dialog and Settings → Tools (run under Xvfb + openbox).
The MCP servers: the tests' real SDK server (tests/support/mcp_server.py, started as a
process and listed), a command that is not installed (its failure in words), and an HTTP
server with a token while Offline mode is on (blocked; the token masked).

    xvfb-run -a -s "-screen 0 1100x720x24" sh -c 'openbox & python tools/screenshots_tools.py OUT_DIR'
    SHOTS_SIZE=800x600 SHOTS_FONT_PT=14 (and an 800x600 screen) for the small, large-font check

At the defaults the pictures are OUT_DIR/tools-picker.png, tools-settings.png and
tools-approval.png (a call asked before it runs); at another
size or font the names end in -WxH-Npt. Each dialog is also checked to lie on the screen.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QApplication, QMainWindow, QWidget  # noqa: E402
from screenshots import FONT_PT, SIZE, settle, start, wait  # noqa: E402

from assistant import network  # noqa: E402
from assistant.settings import AllowedTool, Settings  # noqa: E402
from assistant.tools.mcp_config import config_path  # noqa: E402
from assistant.tools.registry import EnabledTools  # noqa: E402
from assistant.ui.settings.dialog import SettingsDialog  # noqa: E402
from assistant.ui.tools.controls import ToolsControls  # noqa: E402
from assistant.ui.tools.host import READY  # noqa: E402
from assistant.ui.tools.picker import ToolsDialog  # noqa: E402

SERVER = ROOT / "tests" / "support" / "mcp_server.py"


def _write_config() -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mcpServers": {
        "assistant-tests": {"command": sys.executable, "args": [str(SERVER)]},
        "github": {"command": "mcp-server-github", "args": ["--toolsets", "repos,issues"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_Zq8v1Kd7Yw3Lm5Np0Rs2Tt9"}},
        "calendar": {"url": "https://mcp.example.com/calendar/mcp",
                     "headers": {"Authorization": "Bearer cal-Zq8v1Kd7Yw3Lm5Np0Rs2"}},
    }}, indent=2), encoding="utf-8")


def _check_on_screen(app: QApplication, w: QWidget, name: str) -> None:
    avail = app.primaryScreen().availableGeometry()
    frame = w.frameGeometry()
    ok = avail.contains(frame)
    print(f"{name}: {frame.width()}x{frame.height()} at {frame.x()},{frame.y()} on {avail.width()}x{avail.height()}"
          + ("" if ok else "  NOT INSIDE THE SCREEN"))


def _save(app: QApplication, w: QWidget, path: Path) -> None:
    settle(app, 0.8)
    w.grab().save(str(path))
    print("wrote", path)


def main() -> None:
    out, app, _paths = start()
    suffix = "" if (SIZE, FONT_PT) == ((1100, 720), 11) else f"-{SIZE[0]}x{SIZE[1]}-{FONT_PT}pt"
    _write_config()
    network.set_offline(True)
    settings = Settings(first_run_done=True, offline_mode=True)
    settings.tools.always_allowed = [AllowedTool(server="assistant-tests", tool="add"),
                                     AllowedTool(server="github", tool="search_issues")]
    window = QMainWindow()
    window.resize(*SIZE)
    window.show()
    controls = ToolsControls(settings, lambda: None, lambda: None)

    enabled = EnabledTools(servers={"assistant-tests"}, off={("assistant-tests", "crash")})
    picker = ToolsDialog(controls.host, enabled, ["Lease and manual"], window)
    picker.show()
    wait(app, lambda: controls.host.state("assistant-tests").state == READY and not controls.host.busy(), 30)
    picker.tree.setCurrentIndex(picker.model.index(0, 0))
    _check_on_screen(app, picker, "picker")
    _save(app, picker, out / f"tools-picker{suffix}.png")
    picker.close()

    dialog = SettingsDialog(settings, _paths, window)
    controls._select_tab = True
    controls.add_settings_tab(dialog)
    dialog.show()
    page = controls.settings_page
    assert page is not None
    wait(app, lambda: page.sandbox is not None, 15)
    _check_on_screen(app, dialog, "settings")
    _save(app, dialog, out / f"tools-settings{suffix}.png")
    page.grab().save(str(out / f"tools-settings-page{suffix}.png"))  # the whole page, to check what scrolls
    dialog.close()

    from assistant.tools.approval import ApprovalRequest
    from assistant.ui.tools.approval_dialog import ApprovalDialog

    ask = ApprovalDialog(ApprovalRequest("github", "create_issue", {
        "owner": "example", "repo": "assistant", "title": "Tool calls: a crash when the server exits",
        "body": "Steps:\n1. Start a chat with tools on\n2. Stop the MCP server while a call runs", "labels": ["bug"]},
        "Create a new issue in a GitHub repository."), window)
    ask.show()
    _check_on_screen(app, ask, "approval")
    _save(app, ask, out / f"tools-approval{suffix}.png")
    ask.close()
    controls.shutdown()
    window.close()


if __name__ == "__main__":
    main()
