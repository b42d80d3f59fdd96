"""Hub search and listing through huggingface_hub against a local Hub on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.hub_server import LocalHub, make_repo_files

from assistant import network
from assistant.errors import RepoNotFoundError
from assistant.library.hub import HubClient, group_quants, make_hub_file, parse_quant


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    network.set_offline(False)
    with LocalHub() as h:
        h.add_repo("bartowski/Tiny-GGUF", make_repo_files(), tags=["gguf", "text-generation"], downloads=500,
                   likes=7, license="apache-2.0")
        h.add_repo("other/Big-GGUF", {"big-Q4_K_M.gguf": b"x" * 2000}, tags=["gguf"], downloads=9000,
                   license="llama3.1")
        h.add_repo("other/tiny-notgguf", {"w.bin": b"x" * 2000}, tags=["pytorch"], downloads=99999)
        h.add_repo("mlx-community/Tiny-4bit", {"config.json": b"{}", "model.safetensors": b"s" * 3000},
                   tags=["mlx", "safetensors"], library_name="mlx", downloads=50, license="mit")
        yield h


@pytest.mark.parametrize(("name", "quant"), [
    ("gemma-3-270m-it-Q4_K_M.gguf", "Q4_K_M"), ("model.q8_0.gguf", "Q8_0"), ("x-IQ3_XS.gguf", "IQ3_XS"),
    ("x-f16.gguf", "F16"), ("x-BF16-00001-of-00003.gguf", "BF16"), ("gpt-oss-20b-MXFP4.gguf", "MXFP4"),
    ("Q4_K_M/model-00001-of-00002.gguf", "Q4_K_M"), ("Qwen2.5-7B-Instruct-Q4_0.gguf", "Q4_0"),
    ("Llama-3.2-1B-Instruct-4bit", "4bit"), ("README.md", None), ("x-IQ4_NL.gguf", "IQ4_NL"),
])
def test_parse_quant(name: str, quant: str | None) -> None:
    assert parse_quant(name) == quant


def test_shards_group_into_one_quant() -> None:
    files = [make_hub_file(f"m-Q8_0-0000{i}-of-00003.gguf", 10, None) for i in (3, 1, 2)]
    files.append(make_hub_file("m-Q2_K.gguf", 5, None))
    [small, big] = group_quants(files)
    assert (small.quant, small.size) == ("Q2_K", 5)
    assert big.quant == "Q8_0" and big.size == 30
    assert [f.shard_index for f in big.files] == [1, 2, 3] and big.files[0].shard_count == 3


def test_search_gguf_sorted_by_downloads_and_mlx(hub: LocalHub) -> None:
    client = HubClient(hub.url)
    repos = client.search("gguf")
    assert [r.repo_id for r in repos] == ["other/Big-GGUF", "bartowski/Tiny-GGUF"]
    assert repos[1].downloads == 500 and repos[1].likes == 7 and repos[1].license_id == "apache-2.0"
    assert repos[0].format == "gguf" and repos[0].license_id == "llama3.1"
    [mlx] = client.search("tiny", fmt="mlx")
    assert (mlx.repo_id, mlx.format) == ("mlx-community/Tiny-4bit", "mlx")
    assert client.search("tiny", limit=1)[0].repo_id == "bartowski/Tiny-GGUF"
    [search] = [r for r in hub.requests if r.path == "/api/models"][:1]
    assert search.query["filter"] == ["gguf"] and search.query["sort"] == ["downloads"]


def test_list_files_with_quants_sizes_hashes_and_licence(hub: LocalHub) -> None:
    client = HubClient(hub.url)
    files = {f.filename: f for f in client.list_files("bartowski/Tiny-GGUF")}
    assert "IQ3_XS/model-IQ3_XS.gguf" in files  # recursive listing
    q4 = files["model-Q4_K_M.gguf"]
    served = hub.repos["bartowski/Tiny-GGUF"].files["model-Q4_K_M.gguf"]
    assert (q4.quant, q4.size, q4.sha256) == ("Q4_K_M", served.size, served.sha256)
    assert files["README.md"].sha256 is None and files["README.md"].quant is None
    quants = client.quants("bartowski/Tiny-GGUF")
    assert [q.quant for q in quants] == ["IQ3_XS", "Q4_K_M", "Q8_0"]  # smallest first, then by name
    q8 = quants[2]
    assert len(q8.files) == 3 and q8.size == sum(f.size for f in q8.files)
    assert client.repo_license("bartowski/Tiny-GGUF") == "apache-2.0"
    [mlx] = client.quants("mlx-community/Tiny-4bit")
    assert mlx.quant == "4bit" and {f.filename for f in mlx.files} == {"config.json", "model.safetensors"}


def test_wrong_repo_id_is_a_plain_message(hub: LocalHub) -> None:
    client = HubClient(hub.url)
    for bad in ("nobody/nothing", "not a repo id"):
        with pytest.raises(RepoNotFoundError) as info:
            client.list_files(bad)
        assert f"No model called {bad} on Hugging Face" in info.value.message
    with pytest.raises(RepoNotFoundError):
        client.repo_license("nobody/nothing")


def test_every_hub_request_is_in_the_network_record_and_nothing_else_goes_out(hub: LocalHub) -> None:
    network.clear()
    client = HubClient(hub.url)
    client.search("tiny")
    client.list_files("bartowski/Tiny-GGUF")
    client.repo_license("bartowski/Tiny-GGUF")
    client.file_metadata("bartowski/Tiny-GGUF", "model-Q4_K_M.gguf")
    entries = network.entries()
    assert len(entries) == len(hub.requests) == 4
    assert {e.host for e in entries} == {"127.0.0.1"}  # no telemetry to huggingface.co
    assert sorted(e.purpose for e in entries) == sorted([
        "Hugging Face Hub: search", "Hugging Face Hub: list files", "Hugging Face Hub: model info",
        "Hugging Face Hub: file info",
    ])
    assert all(e.outcome == "ok" and e.status in (200, 302) for e in entries)
