"""A model's vision projector: found beside it, chosen from a Hub repo, downloaded with it,
counted in the fit, and loaded by the factory so the real engine answers an image."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.hub_server import LocalHub

from assistant import network
from assistant.core.types import GenParams, Message, ModelRef
from assistant.engines import factory
from assistant.hardware import HardwareInfo
from assistant.library.catalog import load_catalog
from assistant.library.download import Downloader, DownloadRequest
from assistant.library.fit import estimate_fit, estimate_fit_bytes
from assistant.library.hub import HubClient
from assistant.library.projectors import choose_projector, projector_for
from assistant.settings import Settings
from tests.support import image_files as imgs
from tests.support.tiny_mmproj import mmproj_path


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"GGUF")


def test_the_projector_beside_a_model(tmp_path: Path) -> None:
    _touch(tmp_path / "a", "google_gemma-3-4b-it-Q4_K_M.gguf", "mmproj-google_gemma-3-4b-it-f16.gguf")
    assert projector_for(tmp_path / "a" / "google_gemma-3-4b-it-Q4_K_M.gguf") == \
        tmp_path / "a" / "mmproj-google_gemma-3-4b-it-f16.gguf"
    assert projector_for(tmp_path / "a" / "mmproj-google_gemma-3-4b-it-f16.gguf") is None  # a projector is no model
    _touch(tmp_path / "b", "plain-Q4_K_M.gguf")
    assert projector_for(tmp_path / "b" / "plain-Q4_K_M.gguf") is None


def test_one_model_in_its_folder_takes_the_f16_projector(tmp_path: Path) -> None:
    # unsloth's names: the projector is not named for the model
    _touch(tmp_path, "Model-Q4_K_M.gguf", "mmproj-BF16.gguf", "mmproj-F16.gguf", "mmproj-F32.gguf")
    assert projector_for(tmp_path / "Model-Q4_K_M.gguf") == tmp_path / "mmproj-F16.gguf"
    # the catalog's choice wins where it is present
    assert projector_for(tmp_path / "Model-Q4_K_M.gguf", "mmproj-F32.gguf") == tmp_path / "mmproj-F32.gguf"


def test_a_folder_of_several_models_takes_only_a_projector_named_for_the_model(tmp_path: Path) -> None:
    _touch(tmp_path, "alpha-Q4_K_M.gguf", "beta-Q4_K_M.gguf", "mmproj-F16.gguf", "mmproj-beta-f16.gguf")
    assert projector_for(tmp_path / "beta-Q4_K_M.gguf") == tmp_path / "mmproj-beta-f16.gguf"
    assert projector_for(tmp_path / "alpha-Q4_K_M.gguf") is None  # mmproj-F16 may be beta's: a mismatch fails the load


def test_choice_by_quant_family_else_f16() -> None:
    files = ["m-Q4_K_M.gguf", "m-BF16.gguf", "mmproj-m-BF16.gguf", "mmproj-m-f16.gguf", "mmproj-m-Q8_0.gguf"]
    assert choose_projector(files, "m-BF16.gguf") == "mmproj-m-BF16.gguf"
    assert choose_projector(files, "m-Q8_0.gguf") == "mmproj-m-Q8_0.gguf"
    assert choose_projector(files, "m-Q4_K_M.gguf") == "mmproj-m-f16.gguf"
    assert choose_projector(["m-Q4_K_M.gguf"], "m-Q4_K_M.gguf") is None


def test_hub_offers_the_matching_projector_and_downloads_it_with_the_model(home: Path, tmp_path: Path) -> None:
    network.set_offline(False)
    files = {"vis-Q4_K_M.gguf": b"GGUF" + bytes(4000), "vis-BF16.gguf": b"GGUF" + bytes(9000),
             "mmproj-vis-f16.gguf": b"GGUF" + bytes(1500), "mmproj-vis-BF16.gguf": b"GGUF" + bytes(1600)}
    with LocalHub() as hub:
        hub.add_repo("acme/Vis-GGUF", files, tags=["gguf"])
        client = HubClient(hub.url)
        quants, note = client.quants_and_note("acme/Vis-GGUF")
        by = {q.quant: q for q in quants}
        assert by["Q4_K_M"].projector is not None and by["Q4_K_M"].projector.filename == "mmproj-vis-f16.gguf"
        assert by["BF16"].projector is not None and by["BF16"].projector.filename == "mmproj-vis-BF16.gguf"
        assert by["Q4_K_M"].total_size == 4004 + 1504
        assert "reads pictures" in note and "mmproj-vis-f16.gguf" in note and "1.5 KB" in note.replace(",", "")
        models = tmp_path / "models"
        path = Downloader(models, hub.url).download(DownloadRequest("acme/Vis-GGUF", by["Q4_K_M"].download_files))
    assert path.name == "vis-Q4_K_M.gguf"
    assert projector_for(path) == path.parent / "mmproj-vis-f16.gguf"


def _hw() -> HardwareInfo:
    return HardwareInfo(os_name="Linux", cpu_name="test", physical_cores=8, logical_cores=16,
                        ram_total_bytes=64 * 1024 ** 3, ram_available_bytes=48 * 1024 ** 3)


def test_the_projector_counts_in_the_fit() -> None:
    entry = next(e for e in load_catalog() if e.id == "gemma-3-4b-it")
    assert entry.reads_pictures and entry.projector is not None
    assert entry.download_files(entry.default_file())[-1] == entry.projector.filenames[0]
    assert entry.download_files(entry.default_file(), projector=False) == list(entry.default_file().filenames)
    with_proj = estimate_fit(entry, entry.default_file(), _hw(), 4096)
    without = estimate_fit_bytes(entry.default_file().size_bytes, entry.n_layers, _hw(), 4096, entry.kv_bytes_per_token)
    assert with_proj.projector_bytes == entry.projector.size_bytes
    assert with_proj.needed_bytes - without.needed_bytes >= entry.projector.size_bytes
    assert "for the vision projector" in with_proj.detail and "pictures included" in with_proj.detail
    assert with_proj.speed is not None and without.speed is not None
    assert with_proj.speed.tokens_per_s == pytest.approx(without.speed.tokens_per_s)  # decoding never reads it


def test_m_rope_vision_models_download_their_projector_too() -> None:
    entry = next(e for e in load_catalog() if e.id == "qwen3.5-4b")
    assert entry.vision and entry.reads_pictures and entry.projector is not None
    assert entry.download_files(entry.default_file()) == [*entry.default_file().filenames, entry.projector.filenames[0]]


def test_factory_loads_the_projector_beside_the_model_and_the_engine_sees(gemma_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "acme__Gemma"
    folder.mkdir()
    model = folder / gemma_path.name
    model.symlink_to(gemma_path)
    settings = Settings()
    settings.context_length = 1024
    settings.n_threads = 1
    _engine, options, _plan = factory.prepare(ModelRef(model, "gguf"), settings)
    assert options.mmproj is None  # text only: nothing beside it
    (folder / "mmproj-gemma-f16.gguf").symlink_to(mmproj_path())
    _engine, options, _plan = factory.prepare(ModelRef(model, "gguf"), settings)
    assert options.mmproj == str(folder / "mmproj-gemma-f16.gguf")
    engine = factory.make_engine("llama.cpp", in_process=True)
    engine.load(ModelRef(model, "gguf"), options)
    try:
        pic = imgs.write_png(tmp_path / "p.png", imgs.noise(3))
        text_only = engine.count_tokens([Message("user", "What is this?")])
        with_image = engine.count_tokens([Message("user", "What is this?", images=[str(pic)])])
        assert with_image > text_only  # the image's tokens are in the prompt
        chunks = list(engine.stream_chat([Message("user", "What is this?", images=[str(pic)])],
                                         GenParams(max_tokens=3, temperature=0.0), threading.Event()))
        assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == with_image
    finally:
        engine.unload()
