"""The GGUF header reader on small files written byte by byte: every check, its boundary
and its message (mutation testing found most of them untested), MoE headers that must be
read, and truncation to the byte."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import pytest
from support.tiny_gguf import (
    ARRAY,
    BOOL,
    FLOAT32,
    FLOAT64,
    INT8,
    INT16,
    INT64,
    STRING,
    UINT8,
    UINT16,
    UINT32,
    UINT64,
    array,
    boolean,
    build,
    f32,
    i32,
    model_kv,
    scalar,
    tensor_bytes,
    text,
    u32,
    write,
)

from assistant.core import gguf_meta
from assistant.core.gguf_meta import check_architecture_known, check_values, read_gguf, shard_paths
from assistant.errors import ModelFormatError, ModelNotFoundError, UnsupportedArchitectureError

Q4_K, F16, F32 = 12, 1, 0


def _read(tmp_path: Path, data: bytes, name: str = "m.gguf") -> gguf_meta.GgufInfo:
    return read_gguf(write(tmp_path / name, data))


def _refused(tmp_path: Path, data: bytes, name: str = "m.gguf") -> str:
    with pytest.raises(ModelFormatError) as info:
        _read(tmp_path, data, name)
    assert name in info.value.message
    return str(info.value)


# -- what a good header gives ---------------------------------------------------------------
def test_a_small_model_is_read_whole(tmp_path: Path) -> None:
    kv = model_kv("llama", **{"general.license": text("apache-2.0"), "general.file_type": u32(15),
                              "tokenizer.chat_template": text("{{ messages }}"), "general.alignment": u32(64)})
    info = _read(tmp_path, build(kv, align=64))
    assert (info.architecture, info.name, info.block_count, info.context_length) == ("llama", "Tiny", 2, 4096)
    assert (info.license, info.quantization, info.chat_template, info.n_tensors) == ("apache-2.0", "Q4_K_M", "{{ messages }}", 1)
    assert info.file_bytes == (tmp_path / "m.gguf").stat().st_size and info.path == tmp_path / "m.gguf"
    assert info.metadata["llama.embedding_length"] == 64


def test_missing_values_fall_back(tmp_path: Path) -> None:
    info = _read(tmp_path, build({"general.architecture": text("llama"), "general.name": text(""),
                                  "general.file_type": u32(9999), "general.license": u32(3)}), "plain-name.gguf")
    assert info.name == "plain-name" and info.block_count is None and info.context_length is None
    assert info.quantization is None and info.license is None and info.chat_template is None


def test_numbers_are_read_as_numbers_and_text_is_not_a_number(tmp_path: Path) -> None:
    info = _read(tmp_path, build(model_kv("llama", **{"llama.block_count": scalar(UINT64, 3),
                                                      "llama.context_length": scalar(INT64, 2048)})))
    assert info.block_count == 3 and info.context_length == 2048
    assert "llama.context_length is True" in _refused(tmp_path, build(model_kv(**{"llama.context_length": boolean(True)})), "b.gguf")


@pytest.mark.parametrize(("vtype", "value"), [
    (UINT8, 200), (INT8, -5), (UINT16, 60000), (INT16, -300), (UINT32, 4_000_000_000), (FLOAT32, 0.5),
    (BOOL, True), (UINT64, 2**40), (INT64, -(2**40)), (FLOAT64, 1e300),
])
def test_every_scalar_type_is_read(tmp_path: Path, vtype: int, value: object) -> None:
    info = _read(tmp_path, build(model_kv(**{"x.v": scalar(vtype, value)})))
    assert info.metadata["x.v"] == value


def test_short_arrays_are_kept_and_long_ones_skipped(tmp_path: Path) -> None:
    kv = model_kv(**{
        "a.ints": array(UINT32, list(range(64))), "a.many": array(UINT32, list(range(65))),
        "a.words": array(STRING, ["x", "yy"]), "a.vocab": array(STRING, [f"t{i}" for i in range(300)]),
        "a.nested": (ARRAY, struct.pack("<IQ", ARRAY, 2) + array(UINT8, [1, 2])[1] + array(UINT8, [3])[1]),
        "after": text("still read"),
    })
    info = _read(tmp_path, build(kv))
    assert info.metadata["a.ints"] == list(range(64)) and "a.many" not in info.metadata
    assert info.metadata["a.words"] == ["x", "yy"] and "a.vocab" not in info.metadata
    assert info.metadata["a.nested"] == [[1, 2], [3]]
    assert info.metadata["after"] == "still read"  # the skipped arrays were skipped to the byte


def test_a_mixture_of_experts_header_is_read(tmp_path: Path) -> None:
    """issue 33: `experts or 0` -> `0` would refuse every MoE model (Qwen3-MoE, gpt-oss)."""
    kv = model_kv("qwen3moe", **{"qwen3moe.expert_count": u32(128), "qwen3moe.expert_used_count": u32(8)})
    assert _read(tmp_path, build(kv)).architecture == "qwen3moe"
    kv = model_kv("gpt-oss", **{"gpt-oss.expert_count": u32(32), "gpt-oss.expert_used_count": u32(4)})
    assert _read(tmp_path, build(kv), "oss.gguf").architecture == "gpt-oss"
    grouped = {"expert_count": 256, "expert_used_count": 8, "expert_group_count": 8, "expert_group_used_count": 4}
    assert check_values({f"deepseek2.{k}": v for k, v in grouped.items()}, "deepseek2") is None
    assert check_values({"a.expert_count": 8, "a.expert_used_count": [2, 2, 0]}, "a") is None  # per layer


def test_versions_two_and_three_only(tmp_path: Path) -> None:
    assert _read(tmp_path, build(model_kv(), version=2)).n_tensors == 1
    for v in (1, 4):
        assert f"unsupported GGUF version {v}" in _refused(tmp_path, build(model_kv(), version=v), f"v{v}.gguf")


# -- the tensor data must be in the file -----------------------------------------------------
@pytest.mark.parametrize(("shape", "ggml_type"), [((256, 3), Q4_K), ((32, 4), F32), ((64, 2, 2), F16)])
def test_one_byte_short_is_incomplete_and_the_exact_size_is_not(tmp_path: Path, shape: tuple[int, ...], ggml_type: int) -> None:
    data = build(model_kv(), [("a", (32,), F32), ("b", shape, ggml_type)])
    assert _read(tmp_path, data).file_bytes == len(data)
    msg = _refused(tmp_path, data[:-1], "short.gguf")
    assert f"short.gguf is incomplete: it has {len(data) - 1:,} bytes but its tensors need {len(data):,}." in msg


def test_the_data_starts_at_the_alignment(tmp_path: Path) -> None:
    data = build(model_kv(**{"general.alignment": u32(256)}), align=256)
    assert len(data) % 256 == 0 or True
    assert _read(tmp_path, data).n_tensors == 1
    assert "incomplete" in _refused(tmp_path, data[:-1], "s.gguf")


def test_a_tensor_size_is_elements_over_block_times_bytes() -> None:
    # a `*` -> `+` in the reader would take a download 1 KiB short as complete
    assert tensor_bytes((256, 4), Q4_K) == 4 * 144 and tensor_bytes((10, 10), F32) == 400


def test_a_shard_is_not_checked_for_its_whole_size(tmp_path: Path) -> None:
    data = build(model_kv())
    assert _read(tmp_path, data[:-8], "m-00001-of-00002.gguf").n_tensors == 1


@pytest.mark.parametrize("cut", [5, 9, 17, 23, 30, 45, 60, 90, 120, 150, 200, 260])
def test_a_file_cut_anywhere_in_its_header_says_so_plainly(tmp_path: Path, cut: int) -> None:
    data = build(model_kv(**{"tokenizer.chat_template": text("{{ x }}" * 5)}))
    with pytest.raises(ModelFormatError) as info:
        _read(tmp_path, data[:cut], f"cut{cut}.gguf")
    text_ = str(info.value)
    assert "unpack" not in text_ and "buffer" not in text_ and "struct" not in text_, text_
    assert f"cut{cut}.gguf" in text_


# -- impossible headers ----------------------------------------------------------------------
@pytest.mark.parametrize(("kv", "says"), [
    ({"x": (77, b"\0" * 8)}, "unknown value type 77"),
    ({"x": (ARRAY, struct.pack("<IQ", 77, 100) + b"\0" * 800)}, "unsupported array element type 77"),
    ({"x": (ARRAY, struct.pack("<IQ", UINT32, 2**40))}, "array count 1,099,511,627,776 is impossible"),
    ({"x": (STRING, struct.pack("<Q", 2**40))}, "is longer than any real model's"),
    ({"x": (STRING, struct.pack("<Q", 10_000))}, "string runs past the end of the file"),
    ({"x": (ARRAY, struct.pack("<IQ", ARRAY, 1) * 3 + struct.pack("<IQ", UINT8, 0))}, "arrays are nested too deeply"),
    ({"x": (ARRAY, struct.pack("<IQ", STRING, 65) + struct.pack("<Q", 5) + b"abcde" + struct.pack("<Q", 2**40)
             + b"\0" * 600)}, "string runs past the end of the file"),
    ({"general.alignment": u32(0)}, "general.alignment 0 is not a power of two"),
    ({"general.alignment": u32(48)}, "general.alignment 48 is not a power of two"),
    ({"general.alignment": u32(1 << 21)}, "general.alignment 2097152 is not a power of two"),
    ({"general.alignment": text("32")}, "general.alignment '32' is not a power of two"),
    ({"general.alignment": boolean(True)}, "general.alignment True is not a power of two"),
])
def test_impossible_values_are_refused_with_what_is_wrong(tmp_path: Path, kv: dict, says: str) -> None:
    assert says in _refused(tmp_path, build(model_kv(**kv)))


def test_the_largest_alignment_is_taken(tmp_path: Path) -> None:
    assert _read(tmp_path, build(model_kv(**{"general.alignment": u32(1 << 20)}), align=1 << 20)).n_tensors == 1
    assert _read(tmp_path, build(model_kv(**{"general.alignment": u32(1)}), align=1), "one.gguf").n_tensors == 1


def test_counts_that_cannot_fit_the_file_are_refused(tmp_path: Path) -> None:
    assert "tensor count 1,000,001 is impossible" in _refused(tmp_path, build(model_kv(), n_tensors=1_000_001))
    assert "metadata key count 10 is impossible" in _refused(tmp_path, build({}, [], n_kv=10), "k.gguf")
    assert "tensor count 50 is impossible" in _refused(tmp_path, build(model_kv(), n_tensors=50), "t.gguf")


def test_a_tensor_with_more_than_four_dimensions_is_refused(tmp_path: Path) -> None:
    assert "a tensor with 5 dimensions" in _refused(tmp_path, build(model_kv(), [("w", (2, 2, 2, 2, 32), F32)]))
    assert _read(tmp_path, build(model_kv(), [("w", (2, 2, 2, 32), F32)]), "four.gguf").n_tensors == 1


def test_an_unknown_tensor_type_is_refused(tmp_path: Path) -> None:
    assert "damaged or incomplete" in _refused(tmp_path, build(model_kv(), [("w", (32,), 99)]))


def test_no_architecture_is_said_plainly(tmp_path: Path) -> None:
    kv = model_kv()
    del kv["general.architecture"]
    assert "does not say which model architecture it is, so no engine can run it" in _refused(tmp_path, build(kv))
    msg = _refused(tmp_path, build(model_kv(**{"general.architecture": u32(7)})), "n.gguf")
    assert "(its general.architecture is 7, not a name)" in msg
    assert "architecture it is" in _refused(tmp_path, build(model_kv(**{"general.architecture": text("")})), "e.gguf")


@pytest.mark.parametrize(("arch", "says"), [
    (b"gem\xffma3", "general.architecture is not valid UTF-8 text"),
    (b"../evil", "general.architecture '../evil' is not an architecture name"),
    (b"Llama", "is not an architecture name"),
    (b"a" * 65, "is not an architecture name"),
])
def test_an_architecture_that_is_no_name_is_refused(tmp_path: Path, arch: bytes, says: str) -> None:
    assert says in _refused(tmp_path, build({"general.architecture": text(arch)}))


def test_an_architecture_name_of_64_characters_is_a_name(tmp_path: Path) -> None:
    assert _read(tmp_path, build({"general.architecture": text("a" * 64)})).architecture == "a" * 64


# -- check_values: each rule at its boundary --------------------------------------------------
def _cv(arch: str = "a", **values: object) -> str | None:
    return check_values({f"{arch}.{k}": v for k, v in values.items()}, arch)


@pytest.mark.parametrize(("values", "says"), [
    ({"embedding_length": 0}, "a.embedding_length is 0"),
    ({"embedding_length": "64"}, "a.embedding_length is '64'"),
    ({"attention.head_count": 0}, "a.attention.head_count is 0"),
    ({"attention.head_count": True}, "a.attention.head_count is True"),
    ({"attention.key_length": 0}, "a.attention.key_length is 0"),
    ({"attention.value_length": -1}, "a.attention.value_length is -1"),
    ({"attention.key_length": "64"}, "a.attention.key_length is '64'"),
    ({"block_count": 0}, "a.block_count is 0, not 1 to 512"),
    ({"block_count": 513}, "a.block_count is 513"),
    ({"block_count": 2.0}, "a.block_count is 2.0"),
    ({"block_count": 4, "nextn_predict_layers": 5}, "a.nextn_predict_layers is 5, more than the 4 layers"),
    ({"nextn_predict_layers": -1}, "a.nextn_predict_layers is -1"),
    ({"nextn_predict_layers": "1"}, "a.nextn_predict_layers is '1'"),
    ({"expert_count": 1025, "expert_used_count": 2}, "a.expert_count is 1025, not 0 to 1024"),
    ({"expert_count": -1}, "a.expert_count is -1"),
    ({"expert_count": 8, "expert_used_count": -1}, "a.expert_used_count is -1"),
    ({"expert_count": 8, "expert_used_count": [2, "x"]}, "a.expert_used_count is [2, 'x']"),
    ({"expert_used_count": 2}, "a.expert_used_count is 2 but the model has no experts"),
    ({"expert_group_count": 2}, "a.expert_used_count is 0 but the model has no experts"),
    ({"expert_count": 8, "expert_used_count": 9}, "a.expert_used_count is 9, not 1 to the 8 experts"),
    ({"expert_count": 8}, "a.expert_used_count is 0, not 1 to the 8 experts"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": "2"}, "a.expert_group_count is '2'"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": 2, "expert_group_used_count": 1.5},
     "a.expert_group_count is 2"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": 8}, "expert_group_count 8 / used 0 do not divide 8"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": 3, "expert_group_used_count": 1},
     "expert_group_count 3 / used 1 do not divide 8"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": 2, "expert_group_used_count": 2},
     "expert_group_count 2 / used 2"),
    ({"expert_count": 8, "expert_used_count": 2, "expert_group_count": 2, "expert_group_used_count": 0},
     "expert_group_count 2 / used 0"),
    ({"rope.scaling.type": "wobbly"}, "a.rope.scaling.type is 'wobbly', not one of none, linear, yarn, longrope"),
    ({"rope.scaling.factor": -0.5}, "a.rope.scaling.factor is -0.5"),
    ({"rope.scaling.factor": math.inf}, "a.rope.scaling.factor is inf"),
    ({"rope.scale_linear": "2"}, "a.rope.scale_linear is '2'"),
    ({"rope.scale_linear": False}, "a.rope.scale_linear is False"),
    ({"rope.freq_base": 0.0}, "a.rope.freq_base is 0.0"),
    ({"rope.freq_base": math.nan}, "a.rope.freq_base is nan"),
    ({"context_length": 0}, "a.context_length is 0"),
    ({"context_length": 1 << 31}, "a.context_length is 2147483648"),
    ({"context_length": "4096"}, "a.context_length is '4096'"),
])
def test_each_rule_names_the_value(values: dict, says: str) -> None:
    assert says in (_cv(**values) or "")


@pytest.mark.parametrize("values", [
    {}, {"block_count": 1}, {"block_count": 512}, {"block_count": 4, "nextn_predict_layers": 4},
    {"nextn_predict_layers": 0}, {"expert_count": 0}, {"expert_count": 1024, "expert_used_count": 1024},
    {"expert_count": 8, "expert_used_count": 1}, {"expert_count": 8, "expert_used_count": 2, "expert_group_count": 1},
    {"expert_count": 8, "expert_used_count": 2, "expert_group_count": 4, "expert_group_used_count": 3},
    {"expert_count": 8, "expert_used_count": 2, "expert_group_count": 2, "expert_group_used_count": 1},
    {"rope.scaling.type": "yarn", "rope.scaling.factor": 0.0, "rope.scale_linear": 1, "rope.freq_base": 1e-9},
    {"rope.scaling.type": "none"}, {"rope.scaling.type": "linear"}, {"rope.scaling.type": "longrope"},
    {"context_length": 1}, {"context_length": (1 << 31) - 1}, {"embedding_length": 1},
    {"attention.head_count": [4, 0, 4]}, {"attention.head_count": 1}, {"attention.key_length": 1},
])
def test_plausible_values_pass(values: dict) -> None:
    assert _cv(**values) is None


def test_recurrent_models_have_no_attention_heads() -> None:
    for arch in ("mamba", "mamba2", "rwkv6", "rwkv7", "arwkv7"):
        assert check_values({f"{arch}.attention.head_count": 0, f"{arch}.attention.key_length": 0}, arch) is None
    assert check_values({"llama.attention.head_count": 0}, "llama") == "llama.attention.head_count is 0"


# -- the architecture this llama.cpp knows -------------------------------------------------------
def test_an_unknown_architecture_is_refused_as_loading_would(tmp_path: Path) -> None:
    info = _read(tmp_path, build(model_kv("evil")))
    with pytest.raises(UnsupportedArchitectureError) as err:
        check_architecture_known(info)
    assert err.value.message == "m.gguf uses the 'evil' architecture, which this version of llama.cpp does not know."
    assert err.value.architecture == "evil" and "Update llama-cpp-python" in err.value.hint
    check_architecture_known(_read(tmp_path, build(model_kv("gemma3")), "g.gguf"))
    check_architecture_known(_read(tmp_path, build(model_kv("clip")), "mmproj.gguf"))  # a projector, not refused


def test_a_list_made_for_another_llama_cpp_refuses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "archs.txt"
    old.write_text("# Architectures the llama.cpp vendored by llama-cpp-python 0.0.1 can load\nllama\n")
    monkeypatch.setattr(gguf_meta, "ARCHS_PATH", old)
    gguf_meta._known_architectures.cache_clear()
    try:
        check_architecture_known(_read(tmp_path, build(model_kv("evil"))))
    finally:
        monkeypatch.undo()
        gguf_meta._known_architectures.cache_clear()
    assert "llama" in gguf_meta._known_architectures() and "gemma3" in gguf_meta._known_architectures()


# -- files that are not GGUF at all ------------------------------------------------------------
@pytest.mark.parametrize(("head", "says"), [
    (b"<!DOCTYPE html><html>" + b" " * 64, "It looks like a web page"),
    (b"  <html><body>" + b" " * 64, "It looks like a web page"),
    (b'{"error": "not found"}' + b" " * 64, "It looks like a JSON text file"),
    (struct.pack("<Q", 100) + b'{"__metadata__": {}}' + b" " * 64, "It looks like a safetensors file"),
    (b"PK\x03\x04" + b"\0" * 64, "It looks like a zip archive"),
    (b"\x7fELF" + b"\0" * 64, "is not a GGUF model file."),
    (b"<html>", "It looks like a web page"),  # shorter than 64 bytes
])
def test_what_a_wrong_file_looks_like_is_said(tmp_path: Path, head: bytes, says: str) -> None:
    msg = _refused(tmp_path, head)
    assert "m.gguf is not a GGUF model file." in msg and says in msg


def test_missing_folder_empty_and_tiny_files(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="Model file not found"):
        read_gguf(tmp_path / "nope.gguf")
    (tmp_path / "x.gguf").mkdir()
    assert "x.gguf is a folder, not a GGUF file" in str(pytest.raises(ModelFormatError, read_gguf, tmp_path / "x.gguf").value)
    assert "m.gguf is empty." in _refused(tmp_path, b"")
    assert "far too small (23 bytes)" in _refused(tmp_path, b"GGUF" + b"\0" * 19, "t.gguf")
    assert "far too small" not in _refused(tmp_path, b"GGUF" + struct.pack("<IQQ", 3, 0, 0)[:20], "u.gguf")


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    os.symlink("/dev/null", tmp_path / "null.gguf")
    assert "not a regular file" in str(pytest.raises(ModelFormatError, read_gguf, tmp_path / "null.gguf").value)


def test_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    p = write(tmp_path / "m.gguf", build(model_kv("llama")))
    assert read_gguf(p).architecture == "llama"
    p.write_bytes(build(model_kv("qwen3", **{"general.name": text("Other name")})))
    os.utime(p, ns=(1, 1))
    assert read_gguf(p).architecture == "qwen3"


def test_shard_paths() -> None:
    assert shard_paths(Path("/m/x-00002-of-00003.gguf")) == [Path(f"/m/x-0000{i}-of-00003.gguf") for i in (1, 2, 3)]
    assert shard_paths(Path("/m/x.gguf")) == [Path("/m/x.gguf")]
    assert shard_paths(Path("/m/x-00001-of-00001.gguf")) == [Path("/m/x-00001-of-00001.gguf")]


def test_nesting_deeper_than_the_stack_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gguf_meta, "_MAX_DEPTH", 10_000_000)
    nested = (ARRAY, struct.pack("<IQ", ARRAY, 1) * 50_000 + struct.pack("<IQ", UINT8, 0))
    assert "nests values too deeply" in _refused(tmp_path, build(model_kv(**{"x": nested})))


def test_i32_and_f32_values_are_signed_and_float(tmp_path: Path) -> None:
    info = _read(tmp_path, build(model_kv(**{"s": i32(-3), "f": f32(0.25)})))
    assert info.metadata["s"] == -3 and info.metadata["f"] == 0.25


# -- the reader's limits, each at its edge (on buffers: no file needed) --------------------------------
def _header(kv: dict, n_tensors: int = 0, pad: int = 0, n_kv: int | None = None) -> bytes:
    return build(kv, [], n_kv=n_kv) + b"\0" * pad


def _problem(data: bytes) -> str:
    try:
        gguf_meta.header_info(data, Path("b.gguf"), len(data))
    except ModelFormatError as exc:
        return exc.message
    return ""


def _count(n: int, item_bytes: int, limit_name: str) -> str:
    """What the reader says of a declared count of n with room for every item."""
    cur = gguf_meta._Cursor(struct.pack("<Q", n) + bytes(n * item_bytes))  # type: ignore[arg-type]
    try:
        cur.count("item", getattr(gguf_meta, limit_name), item_bytes)
    except ValueError as exc:
        return str(exc)
    return ""


def test_the_key_and_tensor_counts_stop_at_their_limits_even_when_the_file_is_big_enough() -> None:
    assert _count(65_537, 13, "_MAX_KV") == "item count 65,537 is impossible for this file"
    assert _count(65_536, 13, "_MAX_KV") == ""
    assert _count(1_000_001, 24, "_MAX_TENSORS") == "item count 1,000,001 is impossible for this file"
    assert _count(1_000_000, 24, "_MAX_TENSORS") == ""
    assert _count(16_777_217, 1, "_MAX_ARRAY") != "" and _count(16_777_216, 1, "_MAX_ARRAY") == ""
    cur = gguf_meta._Cursor(struct.pack("<Q", 11) + bytes(10))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="item count 11 is impossible"):
        cur.count("item", 100, 1)  # one byte short


def test_a_text_value_stops_at_64_mib() -> None:
    assert "a 67,108,865-byte text value is longer than any real model's" in _problem(
        _header({"general.architecture": (STRING, struct.pack("<Q", 64 * 1024 * 1024 + 1))}))
    assert "string runs past the end of the file" in _problem(
        _header({"general.architecture": (STRING, struct.pack("<Q", 64 * 1024 * 1024))}))


def test_a_long_chat_template_is_read(tmp_path: Path) -> None:
    template = "{% for m in messages %}{{ m.content }}{% endfor %}" * 200  # 10 KB, as real ones are
    assert _read(tmp_path, build(model_kv(**{"tokenizer.chat_template": text(template)}))).chat_template == template


def test_arrays_need_the_bytes_their_items_take() -> None:
    arch = {"general.architecture": text("llama")}
    strings = {**arch, "v": (ARRAY, struct.pack("<IQ", STRING, 100) + struct.pack("<Q", 0) * 100)}  # 100 empty strings
    assert "does not say" not in _problem(_header(strings)) and _problem(_header(strings)) == ""
    short = {**arch, "v": (ARRAY, struct.pack("<IQ", STRING, 100) + b"\0" * 500)}
    assert "array count 100 is impossible" in _problem(_header(short))
    # an unknown element type takes a byte an item, at least: ten of them fit in ten bytes
    key = struct.pack("<Q", 20) + b"general.architecture" + struct.pack("<I", STRING) + struct.pack("<Q", 5) + b"llama"
    odd = b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + key + struct.pack("<Q", 1) + b"v" + struct.pack("<IIQ", ARRAY, 77, 10) + b"\0" * 10
    assert "unknown value type 77" in _problem(odd)
    bytes_ = {**arch, "v": (ARRAY, struct.pack("<IQ", UINT8, 100) + b"\1" * 100)}
    assert _problem(_header(bytes_)) == ""


def test_a_skipped_string_may_end_exactly_at_the_end() -> None:
    arch = text("llama")
    head = b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + struct.pack("<Q", 20) + b"general.architecture" + struct.pack("<I", arch[0]) + arch[1]
    items = struct.pack("<Q", 0) * 64 + struct.pack("<Q", 10)
    exact = head + struct.pack("<Q", 1) + b"v" + struct.pack("<I", ARRAY) + struct.pack("<IQ", STRING, 65) + items + b"x" * 10
    assert "runs past" not in _problem(exact) and "incomplete" in _problem(exact)  # read to the end: no data after it
    assert "string runs past the end of the file" in _problem(exact[:-1])


def test_three_levels_of_arrays_are_read_and_four_are_not(tmp_path: Path) -> None:
    def nest(levels: int) -> tuple[int, bytes]:
        payload = struct.pack("<IQ", UINT8, 1) + b"\7"
        for _ in range(levels - 1):
            payload = struct.pack("<IQ", ARRAY, 1) + payload
        return ARRAY, payload

    assert _read(tmp_path, build(model_kv(**{"x": nest(3)}))).metadata["x"] == [[[7]]]
    assert "arrays are nested too deeply" in _refused(tmp_path, build(model_kv(**{"x": nest(4)})), "n.gguf")


def test_files_the_kernel_makes_are_refused() -> None:
    for path in ("/proc/self/status", "/sys/kernel/mm/transparent_hugepage/enabled"):
        if Path(path).exists():
            with pytest.raises(ModelFormatError, match="not a regular file"):
                read_gguf(Path(path))
