"""Hostile and broken model files, made at test time from the real Gemma file: each gives
a clear ModelFormatError naming the file (from the header reader in the app, and again
in the engine's process), or a failed load naming the file; never a crash of the app."""

from __future__ import annotations

import math
import os
import struct
import threading
from pathlib import Path

import pytest
from support.gguf_edit import ARRAY, STRING, UINT32, f32, nested_array, patched_header, text, u32, with_metadata

from assistant.core.gguf_meta import read_gguf
from assistant.core.types import LoadOptions, ModelRef
from assistant.engines.factory import plan_for
from assistant.engines.host import EngineProxy
from assistant.engines.host_child import UNCHECKED_ENV
from assistant.errors import EngineCrashedError, ModelFormatError
from assistant.library.installed import list_installed
from assistant.settings import Settings

A = "gemma3"
METADATA_CASES = {
    "block-count-zero": ({f"{A}.block_count": u32(0)}, "block_count"),
    "block-count-huge": ({f"{A}.block_count": u32(4_000_000)}, "block_count"),
    "block-count-text": ({f"{A}.block_count": text("eighteen")}, "block_count"),
    "nextn-above-blocks": ({f"{A}.nextn_predict_layers": u32(99)}, "nextn_predict_layers"),
    "experts-huge": ({f"{A}.expert_count": u32(1_000_000), f"{A}.expert_used_count": u32(2)}, "expert_count"),
    "used-without-experts": ({f"{A}.expert_used_count": u32(2)}, "no experts"),
    "used-above-experts": ({f"{A}.expert_count": u32(4), f"{A}.expert_used_count": u32(8)}, "expert_used_count"),
    "rope-type-bogus": ({f"{A}.rope.scaling.type": text("wobbly")}, "rope.scaling.type"),
    "rope-base-nan": ({f"{A}.rope.freq_base": f32(math.nan)}, "rope.freq_base"),
    "rope-factor-inf": ({f"{A}.rope.scaling.factor": f32(math.inf)}, "rope.scaling.factor"),
    "alignment-zero": ({"general.alignment": u32(0)}, "alignment"),
    "nested-arrays": ({"evil.nested": nested_array(200_000)}, "nested too deeply"),
    "array-count-huge": ({"evil.array": (ARRAY, struct.pack("<IQ", UINT32, 2**62))}, "impossible"),
    "string-length-huge": ({"evil.text": (STRING, struct.pack("<Q", 2**60))}, "longer than any"),
    "unknown-value-type": ({"evil.kind": (77, b"\0" * 8)}, "unknown value type"),
}
# header fields patched in place: (offset, bytes)
HEADER_CASES = {
    "tensor-count-huge": ((8, struct.pack("<Q", 2**40)), "impossible"),
    "key-count-huge": ((16, struct.pack("<Q", 2**40)), "impossible"),
}


@pytest.fixture(scope="module")
def hostile(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    d = tmp_path_factory.mktemp("hostile")
    out = {}
    for name, (values, expect) in METADATA_CASES.items():
        # the tensor data is a sparse hole: the header is all these files are about
        out[name] = (with_metadata(gemma_path, d / f"{name}.gguf", values, data=False), expect)
    for name, ((offset, data), expect) in HEADER_CASES.items():
        out[name] = (patched_header(gemma_path, d / f"{name}.gguf", offset, data), expect)
    return out


@pytest.mark.parametrize("case", [*METADATA_CASES, *HEADER_CASES])
def test_header_reader_refuses_clearly(hostile, case: str) -> None:  # type: ignore[no-untyped-def]
    path, expect = hostile[case]
    with pytest.raises(ModelFormatError) as err:
        read_gguf(path)
    msg = str(err.value)
    assert expect in msg and path.name in msg and str(path) in msg, msg
    # the planner in the app reads the same header: same clear error, no crash
    with pytest.raises(ModelFormatError):
        plan_for(ModelRef(path, "gguf"), Settings())


def test_the_unmodified_copy_still_reads(gemma_path: Path, tmp_path: Path) -> None:
    info = read_gguf(with_metadata(gemma_path, tmp_path / "same.gguf", {}, data=False))
    assert info.block_count == 18 and info.architecture == "gemma3"


@pytest.mark.parametrize("case", ["block-count-zero", "nested-arrays", "experts-huge", "key-count-huge"])
def test_engine_process_refuses_them_too(hostile, case: str) -> None:  # type: ignore[no-untyped-def]
    path, expect = hostile[case]
    p = EngineProxy("llama.cpp", use_safe_mode_store=False)
    with pytest.raises(ModelFormatError) as err:
        p.load(ModelRef(path, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    assert expect in str(err.value) and path.name in str(err.value)
    assert not p.alive


def test_a_file_that_really_aborts_llama_cpp_is_a_failed_load_naming_it(gemma_path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With the header checks off in the child, block_count 0 reaches llama.cpp, whose
    GGML_ASSERT aborts the process: the app gets a typed error with llama.cpp's last words."""
    monkeypatch.setenv(UNCHECKED_ENV, "1")
    bad = with_metadata(gemma_path, tmp_path / "aborts.gguf", {f"{A}.block_count": u32(0)}, data=False)
    p = EngineProxy("llama.cpp", use_safe_mode_store=False)
    with pytest.raises(EngineCrashedError) as err:
        p.load(ModelRef(bad, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    msg = str(err.value)
    assert "aborts.gguf" in msg and "signal 6, an abort" in msg and "while loading" in msg
    assert "GGML_ASSERT" in msg, msg  # from the child's stderr


@pytest.mark.parametrize("make", ["dev-zero", "fifo", "proc-file", "empty"])
def test_special_files_are_refused_without_blocking(make: str, tmp_path: Path) -> None:
    if make == "dev-zero":
        path = Path("/dev/zero")
    elif make == "fifo":
        path = tmp_path / "pipe.gguf"
        os.mkfifo(path)
    elif make == "proc-file":
        path = Path("/proc/self/status")
    else:
        path = tmp_path / "empty.gguf"
        path.write_bytes(b"")
    result: list[BaseException] = []
    t = threading.Thread(target=lambda: result.append(_error_of(path)), daemon=True)
    t.start()
    t.join(10)
    assert result, "the header reader blocked"
    err = result[0]
    assert isinstance(err, ModelFormatError) and path.name in str(err)
    assert ("not a regular file" if make != "empty" else "empty") in str(err)


def _error_of(path: Path) -> BaseException:
    try:
        read_gguf(path)
    except BaseException as exc:
        return exc
    raise AssertionError("no error")


def test_installed_scan_lists_the_rest(hostile, gemma_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(gemma_path, models / "good.gguf")
    for case in ("nested-arrays", "block-count-zero", "key-count-huge"):
        os.symlink(hostile[case][0], models / f"{case}.gguf")
    os.mkfifo(models / "pipe.gguf")
    listed = {m.name: m for m in list_installed(models)}
    assert "good" in listed and listed["good"].quant == "Q4_K_M"
    assert set(listed) >= {"nested-arrays", "block-count-zero", "key-count-huge"}  # listed, so they can be deleted
    assert listed["nested-arrays"].quant is None
    assert "pipe" not in listed


def test_mlx_folder_with_a_hostile_config_is_refused(tmp_path: Path) -> None:
    from assistant.engines.mlx import check_folder

    folder = tmp_path / "evil-mlx"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "config.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ModelFormatError, match="config.json"):
        check_folder(folder)
    (folder / "model.safetensors.index.json").write_text('{"weight_map": {"a": ["x"]}}')
    with pytest.raises(ModelFormatError, match="weight index"):
        check_folder(folder)
