"""Vision projectors (mmproj-*.gguf) are not offered as models: not in a repo's quants
from the Hub, not among the installed models; each quant carries the one that downloads
with it, and the listing says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.hub_server import LocalHub

from assistant import network
from assistant.library.hub import HubClient, group_quants, make_hub_file
from assistant.library.installed import installed_models
from assistant.library.projectors import is_projector, projector_note


@pytest.mark.parametrize(("name", "projector"), [
    ("mmproj-F16.gguf", True), ("mmproj-google_gemma-3-4b-it-f16.gguf", True), ("Qwen2.5-VL-7B-mmproj-Q8_0.gguf", True),
    ("sub/mmproj-model-f16.gguf", True), ("model-Q4_K_M.gguf", False), ("mmprojector-notes.gguf", False),
])
def test_projector_names(name: str, projector: bool) -> None:
    assert is_projector(name) is projector


def test_group_quants_leaves_projectors_out() -> None:
    files = [make_hub_file("m-Q4_K_M.gguf", 1000, None), make_hub_file("mmproj-m-f16.gguf", 10, None)]
    assert [q.files[0].filename for q in group_quants(files)] == ["m-Q4_K_M.gguf"]


def test_hub_listing_of_a_repo_with_a_projector() -> None:
    network.set_offline(False)
    with LocalHub() as hub:
        hub.add_repo("acme/Vision-GGUF", {"vision-Q4_K_M.gguf": b"GGUF" + bytes(4000), "vision-Q8_0.gguf": b"GGUF" + bytes(8000),
                                          "mmproj-vision-f16.gguf": b"GGUF" + bytes(100), "README.md": b"# v"},
                     tags=["gguf"])
        client = HubClient(hub.url)
        quants, note = client.quants_and_note("acme/Vision-GGUF")
    assert [q.quant for q in quants] == ["Q4_K_M", "Q8_0"]  # the smallest (preselected) is a model
    assert all(not is_projector(f.filename) for q in quants for f in q.files)
    assert "vision projector (mmproj-vision-f16.gguf, 104 B) downloads with it" in note and "reads pictures" in note
    assert all(q.projector is not None and q.projector.filename == "mmproj-vision-f16.gguf" for q in quants)
    assert projector_note(["a.gguf"]) == ""


def test_a_downloaded_projector_is_not_an_installed_model(tmp_path: Path) -> None:
    folder = tmp_path / "acme__Vision-GGUF"
    folder.mkdir()
    (folder / "vision-Q4_K_M.gguf").write_bytes(b"GGUF")
    (folder / "mmproj-vision-f16.gguf").write_bytes(b"GGUF")
    assert [m.path.name for m in installed_models(tmp_path)] == ["vision-Q4_K_M.gguf"]
