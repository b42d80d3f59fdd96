"""Choosing the embedding model: the catalog's English default and multilingual model with
their sizes and whether they are installed, and what a change costs, counted on a real index
embedded by the real MiniLM model: the chunks with no vector for the new model, and a time
judged from the rate the last indexing measured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assistant.documents.indexer import model_id
from assistant.documents.model_choice import ModelChange, catalog_choices, installed_file, plan_model_change
from assistant.documents.service import RATE_KEY, Documents, embedding_models_dir
from assistant.library.catalog import embedding_models
from assistant.library.download_support import folder_name
from assistant.paths import get_paths


def test_the_catalog_offers_an_english_default_and_a_multilingual_model() -> None:
    paths = get_paths().ensure()
    choices = catalog_choices(paths)
    assert [c.entry.id for c in choices][:1] == ["bge-small-en-v1.5"]
    by_id = {c.entry.id: c for c in choices}
    en, multi = by_id["bge-small-en-v1.5"], by_id["qwen3-embedding-0.6b"]
    assert (en.language, multi.language) == ("English", "multilingual")
    assert en.size_bytes == en.entry.default_file().size_bytes and multi.size_bytes > 10 * en.size_bytes
    assert en.installed is None and en.label().endswith(", not installed") and "English" in en.label()
    assert multi.entry.license_id == "apache-2.0" and en.entry.license_id == "mit"


def test_installed_is_the_downloaded_file_in_the_documents_models_folder(minilm_path: Path) -> None:
    paths = get_paths().ensure()
    entry = next(e for e in embedding_models() if e.id == "qwen3-embedding-0.6b")
    folder = embedding_models_dir(paths) / folder_name(entry.gguf_repo)
    folder.mkdir(parents=True)
    other_quant = entry.files[-1].filenames[0]  # any of its files counts
    shutil.copyfile(minilm_path, folder / other_quant)
    assert installed_file(paths, entry) == (folder / other_quant).resolve()
    [multi] = [c for c in catalog_choices(paths) if c.entry.id == entry.id]
    assert multi.installed == (folder / other_quant).resolve() and multi.label().endswith("installed")


def test_a_change_counts_the_chunks_to_embed_again_and_the_time(minilm_path: Path, docs_folder: Path,
                                                                  tmp_path: Path) -> None:
    other = tmp_path / "other-embedder.gguf"  # another model file (its id differs)
    shutil.copyfile(minilm_path, other)
    with Documents(get_paths().ensure()) as docs:
        docs.set_embedding_model(minilm_path)
        assert plan_model_change(docs, other) == ModelChange([], 0, None)  # nothing embedded yet
        docs.add("manuals", [docs_folder])
        report = docs.sync("manuals")
        chunks = docs.info(docs.collection("manuals")).chunks
        assert report.chunks_embedded >= 1 and chunks >= 1

        plan = plan_model_change(docs, other)
        assert plan.collections == ["manuals"] and plan.chunks == docs.index.chunks_without_vectors(
            [docs.collection("manuals").id], model_id(other)) > 0
        text = plan.describe()
        assert text.startswith(f"Changing the model embeds “manuals” again: {plan.chunks:,} passage")

        assert plan_model_change(docs, minilm_path).collections == []  # the model in use: no change

        docs.index.set_meta(RATE_KEY, json.dumps({"chunks_per_s": plan.chunks / 600, "bytes": other.stat().st_size}))
        timed = plan_model_change(docs, other)
        assert timed.estimate_s is not None and abs(timed.estimate_s - 600) < 1
        assert "about 10 minutes on this computer" in timed.describe()
        docs.index.set_meta(RATE_KEY, json.dumps({"chunks_per_s": plan.chunks / 600, "bytes": other.stat().st_size // 2}))
        assert abs((plan_model_change(docs, other).estimate_s or 0) - 1200) < 2  # a model twice the size: twice the time

        docs.set_embedding_model(other)
        again = docs.sync("manuals")
        assert any("embedding model changed" in n for n in again.notes)
        assert again.chunks_embedded == plan.chunks
        back = plan_model_change(docs, minilm_path)  # its vectors are kept: nothing to embed
        assert back.collections == ["manuals"] and back.chunks == 0 and "quick" in back.describe()


def test_the_rate_of_a_run_that_embedded_enough_is_kept(minilm_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(24):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\nThe number {i} orchard has {i * 3} pear trees.\n",
                                            encoding="utf-8")
    with Documents(get_paths().ensure()) as docs:
        docs.set_embedding_model(minilm_path)
        docs.add("notes", [folder])
        report = docs.sync("notes")
        assert report.chunks_embedded >= 16
        rate = json.loads(docs.index.get_meta(RATE_KEY) or "{}")
        assert rate["bytes"] == minilm_path.stat().st_size
        assert abs(rate["chunks_per_s"] - report.chunks_embedded / report.seconds) < 1e-6
