"""Embedding models in the catalog: their own list, kind "embedding", never a chat model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import CatalogError
from assistant.library.catalog import (
    CATALOG_PATH,
    default_embedding_model,
    embedding_models,
    load_catalog,
    offered,
)


def test_embedding_entries_are_complete_and_apart_from_chat_models() -> None:
    emb = embedding_models()
    assert [e.id for e in emb] == ["bge-small-en-v1.5", "qwen3-embedding-0.6b"]  # the default first
    assert default_embedding_model() == emb[0]
    assert offered(emb) == emb  # this llama.cpp build runs both (bert, qwen3)
    for e in emb:
        assert e.kind == "embedding" and not e.restrictions and e.license_url.startswith("https://"), e.id
        assert not e.verified and "files" in e.unverified, e.id  # sizes not checked against the Hub
        assert all(n.endswith(".gguf") and f.quant.lower() in n.lower() for f in e.files for n in f.filenames)
    small, multi = emb
    assert small.license_id == "mit" and 20e6 < small.default_file().size_bytes < 80e6
    assert small.gguf_repo == "CompendiumLabs/bge-small-en-v1.5-gguf"
    assert multi.license_id == "apache-2.0" and "languages" in multi.strengths
    chat = load_catalog()
    assert all(e.kind == "chat" for e in chat)
    assert not {e.id for e in emb} & {e.id for e in chat}
    assert not {e.gguf_repo for e in emb} & {e.gguf_repo for e in chat}


def _write(tmp_path: Path, models: list, embedding: list) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"schema": 2, "models": models, "embedding_models": embedding}), encoding="utf-8")
    return path


def test_a_kind_in_the_wrong_list_is_refused(tmp_path: Path) -> None:
    data = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    chat, emb = data["models"], data["embedding_models"]
    with pytest.raises(CatalogError, match=r"'bge-small-en-v1.5', field 'kind' should be 'chat'"):
        load_catalog(_write(tmp_path, chat + emb[:1], []))
    with pytest.raises(CatalogError, match=r"field 'kind' should be 'embedding'"):
        embedding_models(_write(tmp_path, chat, emb + [{**chat[0], "kind": "chat"}]))
    with pytest.raises(CatalogError, match="both a chat and an embedding model"):
        embedding_models(_write(tmp_path, chat, emb + [{**emb[0], "id": chat[0]["id"]}]))
    no_kind = [{k: v for k, v in e.items() if k != "kind"} for e in emb]
    with pytest.raises(CatalogError, match="field 'kind' should be 'embedding'"):
        embedding_models(_write(tmp_path, chat, no_kind))
    assert embedding_models(_write(tmp_path, chat, emb)) == embedding_models()
