"""Collections end to end with the real embedding model: index real files, find the right
passage with its page or lines, skip what did not change, re-embed only changed chunks,
and handle the bad inputs of indexing (changed model, missing model, full disk, a file
that changes while read, a killed run that resumes)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.documents.answer import NOT_FOUND, choose, is_whole_document_question, prompt_text
from assistant.documents.errors import EmbeddingModelMissingError
from assistant.documents.service import Documents
from assistant.errors import CloudNotAllowedError, DiskFullError


@pytest.fixture
def docs(minilm_path: Path, docs_folder: Path):  # type: ignore[no-untyped-def]
    with Documents(n_threads=1) as d:
        d.set_embedding_model(minilm_path)
        d.add("home", [docs_folder])
        yield d


def test_index_search_and_incremental_sync(docs: Documents, docs_folder: Path) -> None:
    report = docs.sync("home")
    assert report.indexed == 4 and not report.failed and report.scanned == [(str(docs_folder / "manual.pdf"), [3])]
    cases = {
        "How often is the fog horn sounded in a gale?": "manual.pdf, page 2",
        "When is the deposit returned?": "lease.docx, paragraphs 1-4",
        "when should apple trees be pruned": "orchard.html, lines 3-5",
        "oven temperature for the loaf": "sourdough.md, lines 1-7",
    }
    for question, where in cases.items():
        r = docs.search(question, ["home"])
        assert not r.weak and r.passages[0].where == where, (question, [p.where for p in r.passages])
        assert r.passages[0].vector_rank == 1
    by_meaning = docs.search("what to do when strong winds blow", ["home"], mode="vector")
    assert by_meaning.passages[0].where == "manual.pdf, page 2" and by_meaning.passages[0].keyword_rank is None
    assert docs.search("What is the capital of Peru?", ["home"]).weak

    again = docs.sync("home")
    assert (again.indexed, again.unchanged, again.chunks_embedded) == (0, 4, 0)
    md = docs_folder / "sourdough.md"
    md.write_text(md.read_text() + "\n## Storing\n\nKeep the bread in a linen bag for two days.\n")
    changed = docs.sync("home")
    assert (changed.indexed, changed.unchanged) == (1, 3) and changed.chunks_embedded == 1
    (docs_folder / "orchard.html").unlink()
    assert docs.sync("home").removed == 1
    info = docs.infos()[0]
    assert (info.name, info.files, info.indexed) == ("home", 3, 3)


def test_answer_context_whole_retrieval_and_not_found(docs: Documents) -> None:
    docs.sync("home")
    words = lambda text: len(text.split())  # noqa: E731
    question = "How often is the fog horn sounded in a gale?"
    r = docs.search(question, ["home"])
    from assistant.core.types import GenParams
    from assistant.documents.turn import prepare

    whole = prepare(docs, ["home"], question, n_ctx=4096, params=GenParams(max_tokens=256), count=words)
    assert whole.mode == "whole" and "Whole documents" in whole.budget_note
    assert {p.where for p in whole.sources} >= {"manual.pdf, page 1", "manual.pdf, page 2"}
    tight = choose(question, r, None, budget=40, count=words)
    assert tight.mode == "retrieval" and tight.sources[0].where == "manual.pdf, page 2"
    assert "[1] (manual.pdf, page 2)" in prompt_text(question, tight.sources)
    none = prepare(docs, ["home"], "What is the capital of Peru?", n_ctx=4096, params=GenParams(), count=words)
    assert none.mode == "none" and none.budget_note == NOT_FOUND
    assert is_whole_document_question("Summarise the lease") and not is_whole_document_question("When is rent due?")


def test_cloud_refused_for_a_never_cloud_collection(docs: Documents) -> None:
    from assistant.documents.turn import check_cloud_allowed

    check_cloud_allowed(docs, ["home"])
    docs.set_never_cloud("home", True)
    with pytest.raises(CloudNotAllowedError, match="may never be sent to the cloud"):
        check_cloud_allowed(docs, ["home"])


def test_model_changed_missing_and_full_disk(docs: Documents, minilm_path: Path, tmp_path: Path) -> None:
    docs.sync("home")
    other = tmp_path / "renamed-minilm.gguf"
    shutil.copy(minilm_path, other)
    docs.set_embedding_model(other)
    report = docs.sync("home")
    assert report.indexed == 4 and "embedding model changed" in report.notes[0]
    other.unlink()
    with pytest.raises(EmbeddingModelMissingError, match="is missing"):
        docs.sync("home")
    docs.set_embedding_model(minilm_path)
    docs.index.mark_all_pending(docs.collection("home").id)
    pages = docs.index.query("PRAGMA page_count")[0][0]
    docs.index.query(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    with pytest.raises(DiskFullError, match="disk is full"):
        docs.sync("home")
    docs.index.query("PRAGMA max_page_count = 1073741823")
    assert docs.sync("home").indexed == 4  # resumes once there is room


def test_a_file_that_changes_while_read(docs: Documents, docs_folder: Path) -> None:
    from assistant.documents import indexer

    real = indexer.ParserHost.parse
    md = docs_folder / "sourdough.md"
    calls = []

    def changing(self, path, **kw):  # type: ignore[no-untyped-def]
        out = real(self, path, **kw)
        if path == md:
            calls.append(path)
            os.utime(md, (time.time(), time.time() + len(calls)))  # written again while being read
        return out

    indexer.ParserHost.parse = changing  # type: ignore[method-assign]
    try:
        report = docs.sync("home")
    finally:
        indexer.ParserHost.parse = real  # type: ignore[method-assign]
    assert len(calls) == 2 and report.indexed == 3
    assert "kept changing while it was read" in report.notes[-1]
    assert docs.sync("home").indexed == 1  # still pending: indexed next time


def test_killed_mid_index_the_index_is_intact_and_resumes(minilm_path: Path, docs_folder: Path, home: Path) -> None:
    # Enough files that a fast CPU cannot finish them all between two looks at the index.
    for i in range(60):
        (docs_folder / f"extra{i}.md").write_text(f"Note {i}: the meeting room {i} has {i + 3} chairs.\n")
    env = dict(os.environ, ASSISTANT_HOME=str(home), ASSISTANT_TEST_EMBED_BATCH="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    run = [sys.executable, "-m", "assistant", "docs"]
    subprocess.run([*run, "model", str(minilm_path)], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([*run, "add", "home", str(docs_folder)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    db = home / "data" / "documents" / "index.sqlite3"
    deadline = time.monotonic() + 180
    done = 0
    while time.monotonic() < deadline and not done:
        time.sleep(0.02)
        try:
            with sqlite3.connect(db) as c:
                done = c.execute("SELECT count(*) FROM files WHERE status = 'indexed'").fetchone()[0]
        except sqlite3.Error:
            pass
    os.killpg(proc.pid, signal.SIGKILL)  # the command and its engine processes, mid-run
    proc.wait(30)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        states = dict(c.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())
        assert 1 <= states.get("indexed", 0) < 64 and states.get("pending", 0) >= 1
        assert c.execute("SELECT count(*) FROM files f WHERE status = 'indexed' AND NOT EXISTS "
                         "(SELECT 1 FROM chunks WHERE file_id = f.id)").fetchone()[0] == 0
    with Documents(n_threads=1) as d:
        report = d.sync("home")
        assert report.indexed == 64 - states["indexed"] and report.unchanged == states["indexed"]
