"""Documents in a chat, through the window (pytest-qt, offscreen), with the real Gemma model
answering and the real all-MiniLM-L6-v2 embedder: attach a real Word file, ask, the answer's
sources name it; they come back when the chat is reopened; a question the file does not
answer gets the "not found" answer; Stop works while indexing and while answering."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from support.window import close_window, gemma_settings, open_window

from assistant.documents.answer import NOT_FOUND
from assistant.documents.service import Documents
from assistant.paths import get_paths
from assistant.ui.documents.chat_documents import chat_collection

INDEX_TIMEOUT = 60_000
ANSWER_TIMEOUT = 60_000


@pytest.fixture
def embedder(minilm_path: Path) -> Path:
    with Documents(get_paths().ensure()) as docs:
        docs.set_embedding_model(minilm_path)
    return minilm_path


def _ask(qtbot, w, text: str) -> None:  # type: ignore[no-untyped-def]
    w.prompt.setPlainText(text)
    w.prompt.submit()
    qtbot.waitUntil(lambda: w.session.busy, timeout=5_000)
    qtbot.waitUntil(lambda: not w.session.busy, timeout=ANSWER_TIMEOUT)


def _last_answer(w):  # type: ignore[no-untyped-def]
    return w.chat.widget_at(w.session.messages.rowCount() - 1)


def test_attach_ask_sources_reopen_and_not_found(qtbot, gemma_path: Path, embedder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from support.documents import make_docx

    lease = make_docx(tmp_path / "lease.docx")
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=8))
    d = w.documents
    assert d.button.accessibleName() == "Documents for this chat" and "Ctrl+Shift+A" in d.button.toolTip()
    assert d.attach([lease])
    cid = w.session.conversation_id
    assert cid and w.store.get_conversation(cid).title == "About lease.docx"
    assert d.chip_texts() == ["lease.docx (indexing)  ✕"] and d.indexing()
    qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
    assert d.chip_texts() == ["lease.docx  ✕"] and "1 file indexed." in d.status.text()

    statuses: list[str] = []
    w.session.documents_status.connect(statuses.append)
    _ask(qtbot, w, "How much is the rent each month?")
    assert statuses and statuses[0].startswith("Whole documents:")  # the budget note, shown above the box
    answer = _last_answer(w)
    assert answer.role == "assistant" and answer.sources is not None and answer.sources.isVisible()
    texts = answer.sources.texts()
    assert texts[0].startswith("[1] lease.docx") and "950 euros" in texts[0]
    first_answer_id = w.session.messages.messages()[-1].id
    preview = answer.sources.activate(0)
    assert "950 euros" in preview.text.toPlainText() and preview.open_button.isEnabled()
    assert preview.url().toLocalFile() == str(lease.resolve())
    preview.close()
    n, said = len(w.store.messages(cid)), len(statuses)
    assert w.session.regenerate()  # Regenerate asks the documents again: the same question, its sources
    qtbot.waitUntil(lambda: not w.session.busy, timeout=ANSWER_TIMEOUT)
    assert len(w.store.messages(cid)) == n and statuses[said].startswith("Whole documents:")
    assert _last_answer(w).sources.texts() == texts
    first_answer_id = w.session.messages.messages()[-1].id

    _ask(qtbot, w, "What is the capital of Peru?")  # not in the file: said, not guessed
    last = w.session.messages.messages()[-1]
    assert last.content == NOT_FOUND and _last_answer(w).text() == NOT_FOUND
    assert _last_answer(w).sources is None or not _last_answer(w).sources.texts()
    close_window(w)

    # reopened (a new window, as after a restart): the chat's file and the sources are still there
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=8, last_conversation_id=cid), wait_loaded=False)
    assert w.session.conversation_id == cid
    assert w.documents.chip_texts() == ["lease.docx  ✕"]
    rows = w.session.messages.messages()
    row = [m.id for m in rows].index(first_answer_id)
    again = w.chat.widget_at(row)
    assert again.sources is not None and again.sources.texts() == texts
    w.documents.detach(str(lease.resolve()))  # the chip's ✕: off the chat, the file untouched
    assert w.documents.chip_texts() == [] and lease.is_file()
    assert w.documents.documents_for(cid) is None
    close_window(w)


def test_collections_drop_paste_and_stop(qtbot, gemma_path: Path, embedder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from support.documents import make_folder

    folder = make_folder(tmp_path / "docs")
    with Documents(get_paths()) as docs:
        docs.add("manual", [folder / "manual.pdf"])
        docs.sync("manual")
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=200))
    d = w.documents
    d.choose("manual", True)  # a new chat: kept until it is saved, then with it
    assert d.chip_texts() == ["Collection “manual”  ✕"]

    # a dropped file is attached (the chat is made for it), and Stop ends its indexing
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "orchard.html")), QUrl.fromLocalFile(str(folder / "sourdough.md"))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    assert d.eventFilter(w.chat.viewport(), drop) and drop.isAccepted()
    cid = w.session.conversation_id
    assert cid and w.store.documents(cid) == ["manual"]
    assert d.indexing()
    d.stop_indexing()
    qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
    assert "Stopped: the rest is indexed next time." in d.status.text()
    assert "orchard.html (indexing)  ✕" in d.chip_texts()

    # a pasted path is offered as an attachment; taking the offer indexes it
    paste = QMimeData()
    paste.setText(str(folder / "lease.docx"))
    w.prompt.insertFromMimeData(paste)
    assert "+ Attach lease.docx" in d.chip_texts()
    d._accept_offer(folder / "lease.docx")
    assert w.prompt.toPlainText() == "" and "+ Attach lease.docx" not in d.chip_texts()
    qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
    turn = d.documents_for(cid)
    assert turn is not None and turn.names == ["manual", chat_collection(cid)]

    # Stop while answering: the answer stops at once, kept as stopped
    w.prompt.setPlainText("Summarise everything the documents say about storms, rent and bread.")
    w.prompt.submit()
    qtbot.waitUntil(lambda: len("".join(w.session._parts)) > 0, timeout=ANSWER_TIMEOUT)
    t0 = time.monotonic()
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.session.busy, timeout=10_000)
    assert time.monotonic() - t0 < 8.0  # between two tokens (a loaded 2-core machine is slow)
    stopped = w.session.messages.messages()[-1]
    assert stopped.status == "stopped" and (stopped.completion_tokens or 0) < 200
    close_window(w)


KEY = "sk-docs-cloud-4e5f6a7b8c9d0e1f2a3b"


def test_cloud_gets_only_the_consented_excerpts_redacted_and_never_cloud_blocks(  # type: ignore[no-untyped-def]
        qtbot, gemma_path: Path, embedder: Path, tmp_path: Path, secret_service: None, warnings) -> None:
    from support.documents import make_docx, make_pdf
    from support.openai_server import OpenAIServer

    from assistant import keys
    from assistant.chat.cloud_route import key_id
    from assistant.settings import CloudSettings

    lease = make_docx(tmp_path / "lease.docx", ["Tenancy agreement", "The rent of 950 euros is paid to jane.doe@example.com "
                                                "on the first day of each month.", "Pets need the landlord's consent."])
    manual = make_pdf(tmp_path / "manual.pdf", scanned_page=False)
    with Documents(get_paths()) as docs:
        docs.add("manual", [manual], never_cloud=True)
        docs.sync("manual")
    with OpenAIServer(api_key=KEY) as server:
        s = gemma_settings(gemma_path, max_tokens=8)
        s.cloud = CloudSettings(provider="openai-compatible", model="docs-cloud", base_url=server.base_url,
                                routing_mode="ask", redact=True)
        keys.set_key(key_id(s.cloud), KEY)
        w = open_window(qtbot, s)
        d = w.documents
        assert d.attach([lease])
        qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
        cid = w.session.conversation_id

        # "Ask <cloud>": the consent dialog shows the question and the chosen excerpts, redacted
        assert w.session.send("How much is the rent?", "cloud")
        qtbot.waitUntil(lambda: w.cloud.consent_dialog is not None and w.cloud.consent_dialog.isVisible(), timeout=30_000)
        dlg = w.cloud.consent_dialog
        assert "excerpt" in dlg.question.text() and "of your documents" in dlg.question.text()
        shown = dlg.preview.toPlainText()
        assert "950 euros" in shown and "lease.docx" in shown and "jane.doe@example.com" not in shown and "[email]" in shown
        assert server.requests == []  # nothing left before consent
        dlg.send_button.click()
        qtbot.waitUntil(lambda: not w.session.busy and w.session._pending is None, timeout=ANSWER_TIMEOUT)
        sent = json.dumps(server.last_body)
        assert "950 euros" in sent and "jane.doe@example.com" not in sent and "[email]" in sent
        answer = w.store.messages(cid)[-1]
        assert answer.origin == "cloud" and answer.status == "complete"
        widget = _last_answer(w)
        assert widget.sources is not None and widget.sources.texts()[0].startswith("[1] lease.docx")
        # Retry with the cloud: the same question again, through the same consent, no second copy of it
        n, asked = len(w.store.messages(cid)), len(server.requests)
        assert w.session.regenerate("cloud")
        qtbot.waitUntil(lambda: w.cloud.consent_dialog is not dlg and w.cloud.consent_dialog.isVisible(), timeout=30_000)
        assert "950 euros" in w.cloud.consent_dialog.preview.toPlainText()
        w.cloud.consent_dialog.send_button.click()
        qtbot.waitUntil(lambda: not w.session.busy and w.session._pending is None, timeout=ANSWER_TIMEOUT)
        assert len(server.requests) == asked + 1 and len(w.store.messages(cid)) == n
        assert "950 euros" in json.dumps(server.last_body)
        dlg = w.cloud.consent_dialog

        # a collection marked "never send to the cloud" blocks it, in words, before anything is chosen
        d.choose("manual", True)
        n = len(server.requests)
        assert not w.session.send("What does the keeper do in a gale?", "cloud")
        assert any("may never be sent to the cloud" in text for _title, text in warnings)
        assert len(server.requests) == n and w.cloud.consent_dialog is dlg
        close_window(w)


def test_map_reduce_says_its_plan_and_progress_and_stops(qtbot, gemma_path: Path, embedder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a file larger than the window (2,048 tokens): "summarise" reads it in parts
    text = "\n\n".join(f"Section {i}. The harbour master records ship number {i} arriving with {i * 7} barrels of "
                       f"salted herring, {i * 3} crates of apples and a crew of {i + 4} sailors from the northern "
                       f"islands, who paid {i * 11} silver coins in harbour dues." for i in range(1, 90))
    log = tmp_path / "harbour.md"
    log.write_text("# Harbour log\n\n" + text, encoding="utf-8")
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=8))
    d = w.documents
    assert d.attach([log])
    qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
    statuses: list[str] = []
    w.session.documents_status.connect(statuses.append)
    w.prompt.setPlainText("Summarise the harbour log.")
    w.prompt.submit()
    qtbot.waitUntil(lambda: any(s.startswith("Read part 1 of") for s in statuses), timeout=ANSWER_TIMEOUT)
    assert statuses[0].startswith("Read in parts (map-reduce)")
    assert "reading them in" in statuses[1] and "parts, then answering from the notes" in statuses[1]
    assert d.status.text() == statuses[-1] and d.bar.isVisible()  # said above the box
    t0 = time.monotonic()
    w.stop_button.click()
    qtbot.waitUntil(lambda: not w.session.busy, timeout=30_000)
    assert time.monotonic() - t0 < 15.0  # the part being read ends, no other starts
    last = w.session.messages.messages()[-1]
    assert last.status == "stopped" and last.content != NOT_FOUND
    parts = int(statuses[1].split("reading them in ")[1].split()[0])
    assert parts >= 3, statuses
    assert not any(s.startswith(f"Read part {parts} of") for s in statuses), statuses

    # SQLite gives ids again: a plain answer never shows a deleted answer's sources, and a new
    # chat never gets a deleted chat's files
    cid = w.session.conversation_id
    d.detach(str(log.resolve()))
    msgs = w.store.messages(cid)
    answer_id = msgs[-1].id
    w.store.save_sources(answer_id, [{"n": 1, "where": "old.pdf, page 1", "snippet": "stale"}])
    w.store.delete_messages_from(cid, msgs[-2].id)  # the last question and its answer
    w.session.open_conversation(cid)
    _ask(qtbot, w, "Hello")
    shown = _last_answer(w).sources
    assert w.session.messages.messages()[-1].id == answer_id and (shown is None or shown.texts() == [])
    d.attach([log])
    qtbot.waitUntil(lambda: not d.indexing(), timeout=INDEX_TIMEOUT)
    w.session.new_conversation()
    w.store.delete_conversation(cid)
    time.sleep(1.1)
    again = w.store.create_conversation("Another chat")
    assert again.id == cid
    w.session.open_conversation(again.id)
    assert d.chip_texts() == [] and d.documents_for(again.id) is None
    close_window(w)


def test_a_result_on_its_way_when_the_window_closes_is_not_shown(qtbot, gemma_path: Path, embedder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the indexing thread has ended but its result is still a queued signal: the chat is still
    # "indexing" until it is shown, and a window closed in between never touches the closed store
    w, d = _indexed_unshown(qtbot, gemma_path, tmp_path)
    assert d.stop_button.isVisibleTo(w)
    close_window(w)
    qtbot.wait(100)  # the queued result and the thread's end are delivered now: nothing raises
    assert not d.indexing()


def test_indexing_ends_with_its_result(qtbot, gemma_path: Path, embedder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w, d = _indexed_unshown(qtbot, gemma_path, tmp_path)
    qtbot.waitUntil(lambda: not d.indexing(), timeout=5_000)
    assert "1 file indexed." in d.status.text() and d.chip_texts() == ["note.md  ✕"]
    assert not d.stop_button.isVisibleTo(w)
    close_window(w)


def _indexed_unshown(qtbot, gemma_path: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A window whose note has been indexed by the thread, its result not yet handled."""
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe spare key is under the blue flower pot.", encoding="utf-8")
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=8))
    d = w.documents
    assert d.attach([note])
    assert d.job is not None and d.job.wait(INDEX_TIMEOUT)  # ended, no event handled since
    assert d.indexing()
    return w, d
