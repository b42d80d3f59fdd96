"""A tiny Qwen2-VL pair (text model + vision projector), written with `gguf`: an M-RoPE vision model.

No M-RoPE vision model small enough for the tests can be downloaded, so the tests make one.
The text model is of architecture "qwen2vl" (llama.cpp's LLM_ARCH_QWEN2VL: a Qwen2 whose
attention is rotated by M-RoPE, `llama_model_rope_type` = LLAMA_ROPE_TYPE_MROPE), the
projector of type "qwen2vl_merger" (a ViT with 2D M-RoPE, the two temporal halves of the
Conv3D patch embedding as `v.patch_embd.weight` / `.weight.1`, a 2x2 patch merger `mm.0` /
`mm.2`). The weights are random (seeded), the shapes the real ones, only smaller:

* text: n_embd 64, 2 layers, 4 heads of 16 (2 KV heads), n_ff 128, rope sections
  [2, 3, 3, 0] (Qwen2-VL's [16, 24, 24, 0] scaled to a head of 16), tied output; a byte-level
  BPE vocabulary ("gpt2", pre-tokenizer "qwen2") of the 256 byte tokens, a few merges and
  Qwen2-VL's special tokens; eos `<|im_end|>`; Qwen2-VL-Instruct's chat template.
* vision: width 32, 1 layer, 2 heads, patch 14, merged 2x2 into tokens of width 64 (the text
  model's n_embd). libmtmd resizes an image to multiples of 28 px holding 8 to 4096 tokens
  (clip.cpp's limits for Qwen-VL), so a small picture gives few tokens: a 48x40 picture is
  scaled up to 112x84, 4x3 = 12 tokens, and (M-RoPE) advances the position by max(4, 3) = 4,
  not by 12: `mtmd_input_chunk_get_n_pos` != `mtmd_input_chunk_get_n_tokens`.

Both files are cached in ~/.cache/assistant-tests by VERSION (about 200 KB and 500 KB):
`model_path()`, `mmproj_path()`.

Tensor names, keys and shapes: src/llama-arch.cpp, src/models/qwen2vl.cpp,
tools/mtmd/clip.cpp, clip-impl.h, models/qwen2vl.cpp and conversion/qwenvl.py of the
llama.cpp that llama-cpp-python vendors (numpy's shape is ggml's `ne` reversed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

VERSION = 1
CACHE = Path(os.environ.get("ASSISTANT_TEST_CACHE", Path.home() / ".cache" / "assistant-tests"))

# text model
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 2
N_FF = 128
HEAD_DIM = N_EMBD // N_HEAD
ROPE_SECTIONS = [2, 3, 3, 0]  # t, h, w, (unused): they sum to HEAD_DIM / 2, as Qwen2-VL's [16, 24, 24, 0] to 64
CONTEXT = 4096

# vision projector
V_HIDDEN = 32
V_FF = 64
V_HEADS = 2  # a head of 16: clip's M-RoPE rotates d_head/2 in sections of d_head/4
V_LAYERS = 1
PATCH = 14
MERGE = 2  # clip.cpp's default for Qwen2-VL: 2x2 patches make one token
IMAGE_SIZE = 560  # what convert_hf_to_gguf.py writes for Qwen2-VL; the preprocessing resizes each image anyway

# Qwen/Qwen2-VL-2B-Instruct's chat template (the same as Qwen2-VL-7B-Instruct's), copied from
# huggingface/transformers tests/models/qwen2_vl/test_processor_qwen2_vl.py (prepare_processor_dict,
# commit 387092bba5186dfd17085164a8226b3069cff0cd), which tests Qwen2VLProcessor with it.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Qwen2-VL's added tokens, in its order (ids 151643.. there, after the byte tokens and merges here)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
           "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
           "<|image_pad|>", "<|video_pad|>"]
# a few merges (GPT-2 byte-level spelling: "Ġ" is a space), so that the BPE has something to merge
MERGES = ["Ġ t", "h e", "i n", "Ġ a", "e r", "o n", "Ġt he", "Ġ w", "Ġ i", "a t", "i s", "Ġ s", "e n", "r e"]


def _bytes_to_unicode() -> list[str]:
    """GPT-2's byte -> printable character table (byte-level BPE spells each byte as one)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs, strict=True))
    return [chr(table[b]) for b in range(256)]


def vocab() -> tuple[list[str], list[int]]:
    """The tokens and their types (1 normal, 3 control)."""
    tokens = _bytes_to_unicode() + [m.replace(" ", "") for m in MERGES]
    types = [1] * len(tokens)
    return tokens + SPECIAL, types + [3] * len(SPECIAL)


N_VOCAB = len(vocab()[0])


def token_id(text: str) -> int:
    return vocab()[0].index(text)


def model_path() -> Path:
    """The cached text model (written on first use)."""
    return _cached(f"tiny-qwen2vl-v{VERSION}.gguf", write_model)


def mmproj_path() -> Path:
    """The cached vision projector that fits model_path() (written on first use)."""
    return _cached(f"tiny-qwen2vl-mmproj-v{VERSION}.gguf", write_mmproj)


def _cached(name: str, write: Callable[[Path], None]) -> Path:
    out = CACHE / name
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        write(tmp)
        tmp.replace(out)
    return out


def _rand(rng: np.random.Generator) -> Callable[..., np.ndarray]:
    def rand(*shape: int, scale: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return rand


def _finish(w) -> None:  # type: ignore[no-untyped-def]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_model(path: Path, seed: int = 0) -> None:
    import gguf

    rand = _rand(np.random.default_rng(seed))
    ones = np.ones(N_EMBD, np.float32)
    w = gguf.GGUFWriter(str(path), "qwen2vl")
    w.add_name("tiny-qwen2vl (random weights, tests only)")
    w.add_context_length(CONTEXT)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_sections(ROPE_SECTIONS)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    tokens, types = vocab()
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(MERGES)
    w.add_bos_token_id(tokens.index("<|endoftext|>"))  # as the converter writes Qwen2's (never added: add_bos false)
    w.add_eos_token_id(tokens.index("<|im_end|>"))
    w.add_pad_token_id(tokens.index("<|endoftext|>"))
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    kv = N_HEAD_KV * HEAD_DIM
    w.add_tensor("token_embd.weight", rand(N_VOCAB, N_EMBD, scale=1.0))  # tied: no output.weight, as Qwen2-VL-2B
    for i in range(N_LAYER):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones)
        w.add_tensor(p + "attn_q.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(p + "attn_q.bias", rand(N_EMBD))
        w.add_tensor(p + "attn_k.weight", rand(kv, N_EMBD))
        w.add_tensor(p + "attn_k.bias", rand(kv))
        w.add_tensor(p + "attn_v.weight", rand(kv, N_EMBD))
        w.add_tensor(p + "attn_v.bias", rand(kv))
        w.add_tensor(p + "attn_output.weight", rand(N_EMBD, N_EMBD))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", rand(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_up.weight", rand(N_FF, N_EMBD))
        w.add_tensor(p + "ffn_down.weight", rand(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", ones)
    _finish(w)


def write_mmproj(path: Path, n_embd: int = N_EMBD, seed: int = 0) -> None:
    import gguf

    rand = _rand(np.random.default_rng(seed))
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name("tiny-qwen2vl-mmproj (random weights, tests only)")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_audio_encoder", False)
    w.add_string("clip.projector_type", "qwen2vl_merger")
    w.add_uint32("clip.vision.image_size", IMAGE_SIZE)
    w.add_uint32("clip.vision.patch_size", PATCH)
    w.add_uint32("clip.vision.embedding_length", V_HIDDEN)
    w.add_uint32("clip.vision.feed_forward_length", V_FF)
    w.add_uint32("clip.vision.block_count", V_LAYERS)
    w.add_uint32("clip.vision.projection_dim", n_embd)
    w.add_uint32("clip.vision.attention.head_count", V_HEADS)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_uint32("clip.vision.spatial_merge_size", MERGE)
    # Qwen2-VL's preprocessor_config.json (OpenAI CLIP's); no use_gelu: its ViT uses quick GELU
    w.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    w.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    # the Conv3D (temporal patch 2) split into two Conv2D, no bias (clip's qwen2vl graph asserts none)
    w.add_tensor("v.patch_embd.weight", rand(V_HIDDEN, 3, PATCH, PATCH))
    w.add_tensor("v.patch_embd.weight.1", rand(V_HIDDEN, 3, PATCH, PATCH))
    for i in range(V_LAYERS):
        p = f"v.blk.{i}."
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(p + name + ".weight", rand(V_HIDDEN, V_HIDDEN, scale=0.2))
            w.add_tensor(p + name + ".bias", rand(V_HIDDEN))
        for name in ("ln1", "ln2"):
            w.add_tensor(p + name + ".weight", np.ones(V_HIDDEN, np.float32))
            w.add_tensor(p + name + ".bias", np.zeros(V_HIDDEN, np.float32))
        # ggml ne: up [V_HIDDEN, V_FF], down [V_FF, V_HIDDEN] (a down of ne[0] == V_HIDDEN would be swapped)
        w.add_tensor(p + "ffn_up.weight", rand(V_FF, V_HIDDEN, scale=0.2))
        w.add_tensor(p + "ffn_up.bias", rand(V_FF))
        w.add_tensor(p + "ffn_down.weight", rand(V_HIDDEN, V_FF, scale=0.2))
        w.add_tensor(p + "ffn_down.bias", rand(V_HIDDEN))
    # the merger: LayerNorm (ln_q), then 4 patches' features -> Linear -> GELU -> Linear to the text width
    merged = V_HIDDEN * MERGE * MERGE
    w.add_tensor("v.post_ln.weight", np.ones(V_HIDDEN, np.float32))
    w.add_tensor("v.post_ln.bias", np.zeros(V_HIDDEN, np.float32))
    w.add_tensor("mm.0.weight", rand(merged, merged, scale=0.2))
    w.add_tensor("mm.0.bias", rand(merged))
    w.add_tensor("mm.2.weight", rand(n_embd, merged, scale=0.5))
    w.add_tensor("mm.2.bias", rand(n_embd))
    _finish(w)
