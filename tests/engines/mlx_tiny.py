"""Builds a tiny random llama-architecture MLX model folder that `mlx_lm.load` accepts.

Random weights, a byte-level BPE tokenizer trained here on inline text, and a
ChatML-style chat template: enough for real MLX generation on the CPU in tests,
in well under a second. Weights come from a fixed seed, so greedy output is
repeatable.
"""

from __future__ import annotations

import json
from pathlib import Path

BOS = "<s>"
EOS = "<|im_end|>"
SPECIAL_TOKENS = [BOS, "</s>", "<|im_start|>", EOS]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_TEXT = """\
The quick brown fox jumps over the lazy dog. A private assistant runs on your own
computer, keeps your conversations local, and answers questions about cooking,
travel, programming, history and science. Python is a programming language; MLX
is an array framework for Apple silicon. Tokens are pieces of words. The weather
today is sunny with a light breeze, and tomorrow it may rain in the afternoon.
Hello! How are you? I am fine, thank you. What is the capital of France? Paris.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000. Once upon a time there was a small
model that learned to speak by reading many short stories about cats and dogs.
"""

TARGET_VOCAB = 512


def _train_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=TARGET_VOCAB,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([_TEXT] * 4, trainer=trainer)
    return tok


def _plain_text(text: str) -> bool:
    return bool(text) and all(32 <= ord(c) < 127 or c == "\n" for c in text)


def build_tiny_model(folder: Path, *, seed: int = 0, max_position_embeddings: int = 2048) -> Path:
    """Write config.json, model.safetensors and tokenizer files into `folder`."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models.llama import Model, ModelArgs

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    tok = _train_tokenizer()
    tok.save(str(folder / "tokenizer.json"))
    vocab_size = tok.get_vocab_size()
    bos_id = tok.token_to_id(BOS)
    eos_id = tok.token_to_id(EOS)

    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "max_position_embeddings": max_position_embeddings,
        "rope_theta": 10000.0,
        "tie_word_embeddings": True,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "torch_dtype": "float32",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))

    mx.random.seed(seed)
    args = ModelArgs(
        model_type="llama",
        hidden_size=config["hidden_size"],
        num_hidden_layers=config["num_hidden_layers"],
        intermediate_size=config["intermediate_size"],
        num_attention_heads=config["num_attention_heads"],
        num_key_value_heads=config["num_key_value_heads"],
        rms_norm_eps=config["rms_norm_eps"],
        vocab_size=vocab_size,
        max_position_embeddings=max_position_embeddings,
        rope_theta=config["rope_theta"],
        tie_word_embeddings=True,
    )
    model = Model(args)
    weights = dict(tree_flatten(model.parameters()))
    # At the default init a random model repeats one token forever; larger layer weights
    # make its (still meaningless) output depend on the whole context, which is what the
    # cache-reuse tests need to tell a correct cache from a corrupt one.
    weights = {
        k: (v * 3.0 if k.startswith("model.layers.") and "norm" not in k else v)
        for k, v in weights.items()
    }
    # Random weights would often pick the end-of-turn token at once, and single bytes
    # that decode to U+FFFD. A zero embedding row gives a token logit 0 (the embeddings
    # are tied) while the best of the other few hundred is well above 0, so greedy
    # answers are printable ASCII and run to max_tokens.
    banned = [i for i in range(vocab_size) if not _plain_text(tok.decode([i], skip_special_tokens=False))]
    banned += [tok.token_to_id(t) for t in SPECIAL_TOKENS]
    mask = mx.zeros((vocab_size,), dtype=mx.bool_)
    mask[mx.array(banned)] = True
    emb = weights["model.embed_tokens.weight"]
    weights["model.embed_tokens.weight"] = mx.where(mask[:, None], mx.zeros_like(emb), emb)
    mx.eval(weights)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})

    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": "</s>",
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": max_position_embeddings,
        "chat_template": CHAT_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    special_map = {"bos_token": BOS, "eos_token": EOS, "pad_token": "</s>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2))
    return folder


if __name__ == "__main__":  # handy for poking at it by hand
    import sys

    print(build_tiny_model(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-mlx")))
