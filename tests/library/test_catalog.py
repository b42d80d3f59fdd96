"""library/catalog.py: the shipped catalog's schema and licence flags, and errors for broken files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import CatalogError
from assistant.library.catalog import (
    CATALOG_PATH,
    UNKNOWN_LICENSE,
    CatalogEntry,
    license_restrictions,
    load_catalog,
)

PERMISSIVE = {"apache-2.0", "mit"}
SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")


@pytest.fixture(scope="module")
def catalog() -> list[CatalogEntry]:
    return load_catalog()


def test_catalog_size_and_unique_ids(catalog: list[CatalogEntry]) -> None:
    assert 15 <= len(catalog) <= 32
    ids = [e.id for e in catalog]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", i) for i in ids)
    assert any(e.good_first for e in catalog)
    sizes = sorted(e.params_b for e in catalog)
    assert sizes[0] <= 1.0 and any(20 <= s <= 35 for s in sizes)  # from tiny to ~32B


def test_every_entry_is_complete(catalog: list[CatalogEntry]) -> None:
    for e in catalog:
        assert e.name and e.family and e.summary and e.license_note and e.license_name, e.id
        assert e.license_url.startswith("https://"), e.id
        assert re.fullmatch(r"[\w.\-]+/[\w.\-]+", e.gguf_repo), e.id
        assert e.mlx_repo is None or e.mlx_repo.startswith("mlx-community/"), e.id
        assert e.strengths and e.context_length >= 8192 and e.params_b > 0, e.id
        assert e.files, e.id
        quants = {f.quant for f in e.files}
        # gpt-oss ships in OpenAI's own 4-bit format only; every other entry offers Q4_K_M and Q8_0
        assert quants == {"MXFP4"} if e.family == "gpt-oss" else {"Q4_K_M", "Q8_0"} <= quants, e.id
        for f in e.files:
            assert f.size_bytes > 0 and f.filenames, (e.id, f.quant)
            assert all(n.endswith(".gguf") and f.quant.lower() in n.lower() for n in f.filenames), (e.id, f.quant)
            assert len(f.sizes) == len(f.filenames) and sum(f.sizes) == f.size_bytes
        q4, q8 = e.default_file(), e.file("Q8_0")
        assert q8 is None or q4.size_bytes < q8.size_bytes, e.id
        # a 4-bit file is roughly 4.5-5.5 bits per parameter: catches a size typo by 10x
        bits = q4.size_bytes * 8 / (e.params_b * 1e9)
        assert 4.0 <= bits <= 7.0, (e.id, bits)  # small models carry a big embedding table
        assert e.reasoning in ("no", "always", "switchable") and e.architecture, e.id
        assert not e.vision or (e.projector is not None and "mmproj" in e.projector.filenames[0]), e.id


def test_default_file_is_q4_k_m(catalog: list[CatalogEntry]) -> None:
    for e in catalog:
        assert e.default_file().quant == ("MXFP4" if e.family == "gpt-oss" else "Q4_K_M")
        assert e.default_file() in e.files


def _with_shards(models: list[dict]) -> dict:
    """The first entry's Q8_0 split in 3 shards (no shipped entry is sharded since Llama 4 Scout left)."""
    victim = next(m for m in models if any(f["quant"] == "Q8_0" for f in m["files"]))
    q8 = next(f for f in victim["files"] if f["quant"] == "Q8_0")
    stem, size = q8["files"][0]["filename"].removesuffix(".gguf"), q8["files"][0]["size"]
    q8["files"] = [{"filename": f"{stem}-{i:05d}-of-00003.gguf", "size": size // 3} for i in (1, 2, 3)]
    return victim


def test_shards_are_ordered_and_named(tmp_path: Path) -> None:
    models = _shipped_models()
    _with_shards(models)
    catalog = load_catalog(_write(tmp_path, models))
    sharded = [f for e in catalog for f in e.files if len(f.filenames) > 1]
    assert len(sharded) == 1
    for f in sharded:
        n = len(f.filenames)
        for i, name in enumerate(f.filenames, 1):
            m = SHARD.search(name)
            assert m and (int(m.group(1)), int(m.group(2))) == (i, n), name
        stems = {SHARD.sub("", Path(name).name) for name in f.filenames}
        assert len(stems) == 1


def test_moe_entries_have_active_params(catalog: list[CatalogEntry]) -> None:
    moe = [e for e in catalog if re.search(r"-a\d+b|gpt-oss|granite-4.0-h-", e.id)]
    assert len(moe) >= 6
    for e in moe:
        assert e.is_moe and e.active_params_b is not None and e.active_params_b < e.params_b / 3, e.id
    for e in catalog:
        if e not in moe:
            assert not e.is_moe, e.id
            # Gemma 4's E models: "effective" parameters (per-layer embeddings are looked up, not read)
            assert e.active_params_b is None or e.id.startswith("gemma-4-e"), e.id


def test_licence_flags_follow_the_licence(catalog: list[CatalogEntry]) -> None:
    by_license: dict[str, list[CatalogEntry]] = {}
    for e in catalog:
        by_license.setdefault(e.license_id, []).append(e)
        assert e.restrictive == bool(e.restrictions)
        assert e.restrictions[: len(license_restrictions(e.license_id))] == license_restrictions(e.license_id)
        assert UNKNOWN_LICENSE not in e.restrictions, f"{e.id}: catalog licences must all be known"
    for lic in PERMISSIVE & by_license.keys():
        assert all(not e.restrictive for e in by_license[lic])
    llama = [e for e in catalog if e.license_id.startswith("llama")]
    gemma = [e for e in catalog if e.license_id == "gemma"]
    assert llama and gemma
    for e in llama:
        assert e.restrictive and any("700 million" in r for r in e.restrictions), e.id
        assert any("Built with Llama" in r for r in e.restrictions), e.id
        assert "700" in e.license_note, e.id
    for e in gemma:
        assert e.restrictive and any("prohibited use" in r for r in e.restrictions), e.id


def test_verified_reflects_every_unchecked_value(catalog: list[CatalogEntry]) -> None:
    for e in catalog:
        assert e.verified == (not e.unverified and all(f.verified for f in e.files)), e.id
    # the figures checked against model cards are marked so
    assert any(f.verified for e in catalog for f in e.files)


def test_architecture_gives_kv_size(catalog: list[CatalogEntry]) -> None:
    qwen4 = next(e for e in catalog if e.id == "qwen3-4b-instruct-2507")
    assert qwen4.n_layers == 36
    assert qwen4.kv_bytes_per_token == 2 * 36 * 8 * 128 * 2  # K+V, 8 KV heads of 128, f16
    hybrid = next(e for e in catalog if e.id == "qwen3.5-9b")  # 1 layer in 4 keeps a cache
    assert hybrid.n_layers == 32 and hybrid.kv_bytes_per_token == 2 * 8 * 4 * 256 * 2


def test_reasoning_tools_and_vision_flags(catalog: list[CatalogEntry]) -> None:
    by_id = {e.id: e for e in catalog}
    assert by_id["qwen3-4b-instruct-2507"].reasoning == "no"
    assert by_id["qwen3-4b-thinking-2507"].reasoning == "always"
    assert by_id["gpt-oss-20b"].reasoning == "always" and by_id["gpt-oss-20b"].tools
    assert by_id["qwen3.5-4b"].reasoning == "switchable" and by_id["qwen3.5-4b"].vision
    assert "switched off" in by_id["smollm3-3b"].reasoning_text
    assert {e.family for e in catalog} >= {"gpt-oss", "Gemma 4", "Qwen3.5", "Qwen3-2507", "Granite 4.0", "SmolLM3",
                                           "DeepSeek R1", "Llama 3.2", "Mistral Small", "Phi-4", "Gemma 3"}


# ---------------------------------------------------------------- licence tags


@pytest.mark.parametrize("tag", ["apache-2.0", "MIT", "mit", " Apache-2.0 ", "bsd-3-clause", "cc-by-4.0"])
def test_permissive_tags_have_no_flags(tag: str) -> None:
    assert license_restrictions(tag) == ()


def test_llama_versions_differ_on_training_other_models() -> None:
    for tag in ("llama3.1", "llama3.2", "llama3.3", "llama4"):
        flags = license_restrictions(tag)
        assert any("700 million" in f for f in flags) and any("acceptable use" in f for f in flags)
        assert any("names starting with \"Llama\"" in f for f in flags)
        assert not any("may not be used to train" in f for f in flags)
    for tag in ("llama3", "llama2"):  # these forbade using outputs to improve other models
        assert any("may not be used to train" in f for f in license_restrictions(tag))
    assert any("EU" in f for f in license_restrictions("llama4"))
    assert not any("EU" in f for f in license_restrictions("llama3.1"))


def test_restrictive_tags() -> None:
    assert "No commercial use" in license_restrictions("cc-by-nc-4.0")
    assert "No commercial use" in license_restrictions("qwen-research")
    assert any("100 million" in f for f in license_restrictions("qwen"))
    gemma = license_restrictions("gemma")
    assert any("prohibited use" in f for f in gemma) and any("changed version" in f for f in gemma)


@pytest.mark.parametrize("tag", ["other", "", None, "some-new-licence", "unknown"])
def test_unknown_tags_say_read_it(tag: str | None) -> None:
    assert license_restrictions(tag) == (UNKNOWN_LICENSE,)


# ---------------------------------------------------------------- broken files


def _write(tmp_path: Path, models: object) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"schema": 1, "models": models}), encoding="utf-8")
    return path


def _shipped_models() -> list[dict]:
    return json.loads(CATALOG_PATH.read_text(encoding="utf-8"))["models"]


def test_a_valid_copy_loads(tmp_path: Path) -> None:
    entries = load_catalog(_write(tmp_path, _shipped_models()))
    assert [e.id for e in entries] == [e.id for e in load_catalog()]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m.pop("license"), "license"),
        (lambda m: m.update(params_b="eight"), "params_b"),
        (lambda m: m.update(good_first="yes"), "good_first"),
        (lambda m: m.update(strengths=[]), "strengths"),
        (lambda m: m.update(files=[]), "files"),
        (lambda m: m["files"][0]["files"][0].update(size=0), "files[0]"),
        (lambda m: m["files"][0].pop("quant"), "files[0].quant"),
        (lambda m: m.update(active_params_b=m["params_b"] * 2), "active_params_b"),
        (lambda m: m["arch"].update(n_layers=-1), "arch"),
        (lambda m: m["arch"].update(kv_layers=999), "arch"),
        (lambda m: m.update(reasoning="sometimes"), "reasoning"),
        (lambda m: m.pop("architecture"), "architecture"),
        (lambda m: m.pop("projector"), "projector"),
        (lambda m: m.update(tools="yes"), "tools"),
    ],
)
def test_broken_entry_names_entry_and_field(tmp_path: Path, change, field: str) -> None:  # type: ignore[no-untyped-def]
    models = _shipped_models()
    victim = models[3]
    change(victim)
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, models))
    msg = str(err.value)
    assert victim["id"] in msg and repr(field) in msg and "catalog.json" in msg


def test_shards_out_of_order_are_refused(tmp_path: Path) -> None:
    models = _shipped_models()
    victim = _with_shards(models)
    quant = next(f for f in victim["files"] if len(f["files"]) > 1)
    quant["files"].reverse()
    with pytest.raises(CatalogError, match=re.escape(victim["id"])) as err:
        load_catalog(_write(tmp_path, models))
    assert "out of order" in str(err.value)


def test_duplicate_id_and_bad_json(tmp_path: Path) -> None:
    models = _shipped_models()
    models.append(dict(models[0]))
    with pytest.raises(CatalogError, match="appears twice"):
        load_catalog(_write(tmp_path, models))
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": [', encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="no \"models\" list"):
        load_catalog(_write(tmp_path, {"id": "x"}))
    with pytest.raises(CatalogError, match="could not be read"):
        load_catalog(tmp_path / "missing.json")
    with pytest.raises(CatalogError, match="entry '#0'"):
        load_catalog(_write(tmp_path, [{"name": "no id"}]))
