"""Builds tiny random vision model folders that `mlx_vlm.load` accepts: Gemma 3
(`build_tiny_vlm`) and Qwen2-VL, an M-RoPE model (`build_tiny_qwen2_vl`, below).

A 2-layer Gemma 3 text model (width 64) with a 1-layer SigLIP vision tower that sees
32 x 32 images as 16 patches of 8 x 8, pooled to 4 image tokens; a byte-level BPE
tokenizer trained here (mlx_tiny's text) with Gemma 3's special tokens; Gemma 3 4B's
real chat template; Gemma 3's processor and image-processor configs. Random weights from
a fixed seed, so greedy output is repeatable; the answer is noise, which is all the
tests need (image tokens in the prompt, different images -> different logits).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlx_tiny import _TEXT, _plain_text

N_IMAGE_TOKENS = 4
IMAGE_SIZE = 32
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>",
            "<start_of_image>", "<end_of_image>", "<image_soft_token>"]
TEMPLATE = Path(__file__).parent / "templates" / "google-gemma-3-4b-it.jinja"


def _tokenizer(folder: Path, specials: list[str]) -> tuple[int, dict[str, int], list[int]]:
    """A byte-level BPE trained on mlx_tiny's text with these special tokens, saved in the
    folder: (vocabulary size, the specials' ids, the ids of specials and non-printable
    tokens, whose embedding rows the builders zero so greedy answers are printable text)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([_TEXT] * 4, trainer=trainers.BpeTrainer(
        vocab_size=512, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    tok.save(str(folder / "tokenizer.json"))
    vocab = tok.get_vocab_size()
    ids = {t: tok.token_to_id(t) for t in specials}
    banned = [i for i in range(vocab) if not _plain_text(tok.decode([i], skip_special_tokens=False))]
    return vocab, ids, banned + [i for i in ids.values() if i is not None]


def _save_weights(folder: Path, weights: dict, vocab: int, banned: list[int]) -> None:  # type: ignore[type-arg]
    """The language model's layer weights times 3 (norms left as they are), the
    embedding rows of `banned` zeroed (tied: logit 0, as mlx_tiny: greedy answers are
    printable text that runs to max_tokens), saved as model.safetensors."""
    import mlx.core as mx

    weights = {k: (v * 3.0 if ".layers." in k and "language_model" in k and "norm" not in k else v)
               for k, v in weights.items()}
    mask = mx.zeros((vocab,), dtype=mx.bool_)
    mask[mx.array(banned)] = True
    emb_key = "language_model.model.embed_tokens.weight"
    weights[emb_key] = mx.where(mask[:, None], mx.zeros_like(weights[emb_key]), weights[emb_key])
    mx.eval(weights)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})


def build_tiny_vlm(folder: Path, *, seed: int = 0) -> Path:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_vlm.models import gemma3

    folder = Path(folder)
    vocab, ids, banned = _tokenizer(folder, SPECIALS)

    text = {"model_type": "gemma3_text", "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "query_pre_attn_scalar": 16,
            "vocab_size": vocab, "sliding_window": 512, "sliding_window_pattern": 2,
            "mm_tokens_per_image": N_IMAGE_TOKENS, "max_position_embeddings": 2048}
    vision = {"model_type": "siglip_vision_model", "hidden_size": 32, "num_hidden_layers": 1, "intermediate_size": 64,
              "num_attention_heads": 2, "patch_size": 8, "image_size": IMAGE_SIZE}
    config = {"model_type": "gemma3", "architectures": ["Gemma3ForConditionalGeneration"],
              "text_config": text, "vision_config": vision,
              "image_token_index": ids["<image_soft_token>"], "boi_token_index": ids["<start_of_image>"],
              "eoi_token_index": ids["<end_of_image>"], "mm_tokens_per_image": N_IMAGE_TOKENS,
              "hidden_size": 64, "vocab_size": vocab, "pad_token_id": ids["<pad>"], "bos_token_id": ids["<bos>"],
              "eos_token_id": [ids["<eos>"], ids["<end_of_turn>"]], "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))

    mc = gemma3.ModelConfig.from_dict(config)
    mc.text_config = gemma3.TextConfig.from_dict(text)
    mc.vision_config = gemma3.VisionConfig.from_dict(vision)
    mx.random.seed(seed)
    model = gemma3.Model(mc)
    weights = dict(tree_flatten(model.parameters()))
    # the projector starts as all ones (every image the same to the model); random, an image counts
    proj = "multi_modal_projector.mm_input_projection_weight"
    weights[proj] = mx.random.normal(weights[proj].shape)
    _save_weights(folder, weights, vocab, banned)

    special = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"}
    images = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", **special, "add_bos_token": False,
                        "add_eos_token": False, "clean_up_tokenization_spaces": False, "model_max_length": 2048,
                        "chat_template": TEMPLATE.read_text(), "processor_class": "Gemma3Processor",
                        "extra_special_tokens": images}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps({**special, **images}, indent=2))
    preprocessor = {"image_processor_type": "Gemma3ImageProcessor", "processor_class": "Gemma3Processor",
                    "do_resize": True, "size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE}, "resample": 2,
                    "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                    "image_mean": [0.5] * 3, "image_std": [0.5] * 3, "do_convert_rgb": True, "do_pan_and_scan": False}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    (folder / "processor_config.json").write_text(json.dumps(
        {"processor_class": "Gemma3Processor", "image_seq_length": N_IMAGE_TOKENS}, indent=2))
    return folder



# -- Qwen2-VL: image tokens placed with M-RoPE (3-D positions) ----------------------------------
# A 2-layer Qwen2 text model (width 64, 4 heads of 16, 2 KV heads, M-RoPE sections [2, 3, 3]:
# Qwen2-VL's [16, 24, 24] scaled to a head of 16, tied embeddings) and a 1-layer vision tower
# (width 32, 2 heads, patch 14, temporal patch 2, 2x2 merge into width 64). The image processor's
# min_pixels is Qwen2-VL's own (56 x 56) and max_pixels 16 tokens' worth, so tests' 48 x 40
# pictures are resized to 84 x 56: a grid of 6 x 4 patches, 3 x 2 = 6 image tokens, which
# M-RoPE places on max(3, 2) = 3 positions (the text after an image is 3 positions behind its
# token count: rope_deltas -3). Chat template: Qwen2-VL-Instruct's (tests/support/tiny_qwen2vl.py
# says where it was copied from); specials and their order: Qwen2-VL's.
QWEN_IMAGE_TOKENS = 6  # for a 48 x 40 picture
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 16


def build_tiny_qwen2_vl(folder: Path, *, seed: int = 0) -> Path:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_vlm.models import qwen2_vl

    from tests.support.tiny_qwen2vl import CHAT_TEMPLATE, SPECIAL

    folder = Path(folder)
    vocab, ids, banned = _tokenizer(folder, SPECIAL)

    vision = {"model_type": "qwen2_vl", "depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2,
              "mlp_ratio": 2, "in_channels": 3, "patch_size": 14, "spatial_patch_size": 14,
              "spatial_merge_size": 2, "temporal_patch_size": 2}
    config = {"model_type": "qwen2_vl", "architectures": ["Qwen2VLForConditionalGeneration"],
              "hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128, "num_attention_heads": 4,
              "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "vocab_size": vocab, "max_position_embeddings": 2048,
              "rope_theta": 1000000.0, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
              "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": 2048,
              "vision_config": vision, "image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"],
              "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
              "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))

    mc = qwen2_vl.ModelConfig.from_dict(dict(config))
    mc.text_config = qwen2_vl.TextConfig.from_dict(mc.text_config)  # type: ignore[arg-type]
    mc.vision_config = qwen2_vl.VisionConfig.from_dict(vision)
    mx.random.seed(seed)
    model = qwen2_vl.Model(mc)
    weights = dict(tree_flatten(model.parameters()))
    _save_weights(folder, weights, vocab, banned)

    special = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, **special,
                        "unk_token": None, "add_bos_token": False, "add_eos_token": False,
                        "additional_special_tokens": SPECIAL[1:], "clean_up_tokenization_spaces": False,
                        "model_max_length": 2048, "chat_template": CHAT_TEMPLATE, "processor_class": "Qwen2VLProcessor"}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps(
        {**special, "additional_special_tokens": SPECIAL[1:]}, indent=2))
    # Qwen2-VL-2B-Instruct's preprocessor_config.json, with a tiny max_pixels
    preprocessor = {"image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor",
                    "min_pixels": QWEN_MIN_PIXELS, "max_pixels": QWEN_MAX_PIXELS, "patch_size": 14,
                    "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                    "image_std": [0.26862954, 0.26130258, 0.27577711], "do_rescale": True,
                    "rescale_factor": 1 / 255, "do_normalize": True, "do_convert_rgb": True}
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    (folder / "video_preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": CHAT_TEMPLATE}, indent=2))
    return folder


if __name__ == "__main__":
    import sys

    print(build_tiny_vlm(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-vlm")))
