"""Embedding models as library items: the catalog's default is pulled from the tests' local
Hub (serving the real MiniLM GGUF under the catalog's repo and file name) into the
documents' own models folder, where Documents find it and embed with it; `models list`
says its kind, `rm` deletes it, and chat never lists it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub_server import LocalHub

from assistant.documents.service import Documents, embedding_models_dir
from assistant.library.catalog import default_embedding_model
from assistant.library.installed import installed_models
from assistant.paths import get_paths
from assistant.settings import Settings, save_settings


@pytest.fixture
def embed_hub(minilm_path: Path, home: Path) -> Iterator[LocalHub]:
    entry = default_embedding_model()
    assert entry is not None
    with LocalHub() as h:
        h.add_repo(entry.gguf_repo, {entry.default_file().filenames[0]: minilm_path, "README.md": b"# bge\n"},
                   tags=["gguf"], license="mit")
        save_settings(Settings(hub_endpoint=h.url), get_paths().settings_file)
        yield h


def test_pull_the_default_embedding_model_then_documents_use_it(embed_hub: LocalHub, run_cli, minilm_path: Path) -> None:  # type: ignore[no-untyped-def]
    paths = get_paths()
    r = run_cli("docs", "model")
    assert r.returncode != 0 and "bge-small-en-v1.5, about" in r.stderr and "assistant models pull" in r.stderr

    r = run_cli("models", "pull", "bge-small-en-v1.5", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    path = Path(out["path"])
    assert out["kind"] == "embedding" and path.is_relative_to(embedding_models_dir(paths))
    assert path.read_bytes() == minilm_path.read_bytes()  # verified against the Hub's SHA-256
    assert embed_hub.gets("bge-small-en-v1.5-q8_0.gguf")
    assert installed_models(paths.models_dir) == []  # the chat's model list never shows it

    r = run_cli("docs", "model")
    assert r.returncode == 0, r.stderr
    assert str(path) in r.stdout
    with Documents(paths) as docs:
        assert docs.embedding_model_path() == path
        vectors = docs.embed(["The cat sat on the mat."])
    assert vectors.shape == (1, 384)

    r = run_cli("models", "list", "--json")
    [m] = json.loads(r.stdout)
    assert (m["kind"], m["repo"], m["catalog_id"]) == ("embedding", "CompendiumLabs/bge-small-en-v1.5-gguf",
                                                       "bge-small-en-v1.5")
    r = run_cli("models", "list")
    assert "embedding" in r.stdout and "for Documents" in r.stderr
    r = run_cli("models", "rm", m["name"], "--yes")
    assert r.returncode == 0, r.stderr
    assert not path.exists()
    assert json.loads(run_cli("models", "list", "--json").stdout) == []


def test_search_lists_embedding_models_for_documents(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("models", "search", "--catalog", "--json", "embedding")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {row["name"] for row in rows} == {"bge-small-en-v1.5", "qwen3-embedding-0.6b"}
    assert all(row["kind"] == "embedding" and row["fit"] == "for Documents" for row in rows)
