"""A tiny Gemma 3 vision projector (mmproj GGUF) for the test model, written with `gguf`.

No vision model ships on PyPI, so the tests make one: llama.cpp's `clip.cpp` loads a
projector of type "gemma3" (a SigLIP encoder, an average pool, an RMS norm and a
projection into the text model's embeddings) with any image size, patch size and pool
(`clip.vision.projector.scale_factor`, as llama.cpp's own test model tinygemma3 sets it).
The weights are random (seeded), the shapes are the real ones: a 32x32 image in 8x8
patches (16 patches), pooled 2x2 -> 4 image tokens of width 640, Gemma 3 270M's
`n_embd`. The file is ~100 KB, cached in ~/.cache/assistant-tests by this file's
version; `write_mmproj(path, n_embd=...)` writes one of another width (a projector that
does not match its model).

Tensor names and keys: tools/mtmd/clip-impl.h (TN_*, KEY_*) in the llama.cpp sources
that llama-cpp-python vendors; shapes as convert_hf_to_gguf.py writes them (numpy's
shape is ggml's reversed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

VERSION = 1
CACHE = Path(os.environ.get("ASSISTANT_TEST_CACHE", Path.home() / ".cache" / "assistant-tests"))

IMAGE_SIZE = 32
PATCH = 8
POOL = 2  # 4x4 patches pooled 2x2: 4 image tokens
HIDDEN = 32
FF = 64
HEADS = 2
LAYERS = 1
TEXT_EMBD = 640  # Gemma 3 270M
N_IMAGE_TOKENS = (IMAGE_SIZE // PATCH // POOL) ** 2


def mmproj_path() -> Path:
    """The cached projector that fits the test model (written on first use)."""
    out = CACHE / f"tiny-gemma3-mmproj-v{VERSION}.gguf"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        write_mmproj(tmp)
        tmp.replace(out)
    return out


def write_mmproj(path: Path, n_embd: int = TEXT_EMBD, seed: int = 0) -> None:
    import gguf

    rng = np.random.default_rng(seed)

    def rand(*shape: int, scale: float = 0.05) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name("tiny-gemma3-mmproj (random weights, tests only)")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_audio_encoder", False)
    w.add_string("clip.projector_type", "gemma3")
    w.add_uint32("clip.vision.image_size", IMAGE_SIZE)
    w.add_uint32("clip.vision.patch_size", PATCH)
    w.add_uint32("clip.vision.embedding_length", HIDDEN)
    w.add_uint32("clip.vision.feed_forward_length", FF)
    w.add_uint32("clip.vision.block_count", LAYERS)
    w.add_uint32("clip.vision.projection_dim", n_embd)
    w.add_uint32("clip.vision.attention.head_count", HEADS)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_uint32("clip.vision.projector.scale_factor", POOL)
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    w.add_bool("clip.use_gelu", True)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    n_patches = (IMAGE_SIZE // PATCH) ** 2
    w.add_tensor("v.patch_embd.weight", rand(HIDDEN, 3, PATCH, PATCH, scale=0.2))
    w.add_tensor("v.patch_embd.bias", rand(HIDDEN))
    w.add_tensor("v.position_embd.weight", rand(n_patches, HIDDEN))
    for i in range(LAYERS):
        p = f"v.blk.{i}."
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(p + name + ".weight", rand(HIDDEN, HIDDEN, scale=0.2))
            w.add_tensor(p + name + ".bias", rand(HIDDEN))
        for name in ("ln1", "ln2"):
            w.add_tensor(p + name + ".weight", np.ones(HIDDEN, np.float32))
            w.add_tensor(p + name + ".bias", np.zeros(HIDDEN, np.float32))
        w.add_tensor(p + "ffn_up.weight", rand(FF, HIDDEN, scale=0.2))
        w.add_tensor(p + "ffn_up.bias", rand(FF))
        w.add_tensor(p + "ffn_down.weight", rand(HIDDEN, FF, scale=0.2))
        w.add_tensor(p + "ffn_down.bias", rand(HIDDEN))
    w.add_tensor("v.post_ln.weight", np.ones(HIDDEN, np.float32))
    w.add_tensor("v.post_ln.bias", np.zeros(HIDDEN, np.float32))
    w.add_tensor("mm.soft_emb_norm.weight", np.ones(HIDDEN, np.float32))
    # ggml: ne = [n_embd, HIDDEN]; the graph multiplies by its transpose
    w.add_tensor("mm.input_projection.weight", rand(HIDDEN, n_embd, scale=1.0))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
