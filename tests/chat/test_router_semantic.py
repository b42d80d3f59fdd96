"""The router's semantic path: the instruction embedded by the real embedding model
(all-MiniLM-L6-v2, GGUF, in its own engine process), read by the fitted head; the
structural fallback when no fitting model is there; never loading on the caller's
thread; and lengths that are fair to every script."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from assistant.chat.router import LocalModelInfo, assess, threshold_for
from assistant.chat.router_features import estimate_tokens, text_features
from assistant.chat.router_semantic import PROBE, InstructionEmbedder, Meaning, instruction_text

TINY = LocalModelInfo("Gemma 3 1B", 1.0, 8192)
MID = LocalModelInfo("Llama 3.1 8B", 8.0, 8192)
HARD = [
    "Prove that there is no largest prime number, and explain each step.",
    "Design a fault-tolerant distributed job scheduler with exactly-once execution and explain the trade-offs.",
]
EASY = ["thanks, that was helpful!", "What's a good name for a goldfish?"]


def meaning(embedder: InstructionEmbedder, prompt: str) -> Meaning:
    m = embedder.meaning(prompt, wait_s=120)
    assert m is not None
    return m


def test_the_shipped_head_fits_the_real_model_and_reads_meaning(router_embedder: InstructionEmbedder) -> None:
    m = meaning(router_embedder, HARD[0])
    assert router_embedder.state == "ready"
    assert "MiniLM" in m.head.model and m.vector.shape == (384,)
    hard = [meaning(router_embedder, p).feature("1B") for p in HARD]
    easy = [meaning(router_embedder, p).feature("1B") for p in EASY]
    assert min(hard) > max(easy)  # the meaning alone ranks them


def test_the_head_reads_the_instruction_not_the_paste(router_embedder: InstructionEmbedder) -> None:
    paste = "\n".join(f"    total += compute_interest(balance[{i}], rate, days)  # line {i}" for i in range(40))
    prompt = f"Add the comment '# totals' at the top of this:\n\n{paste}"
    assert instruction_text(prompt) == "Add the comment '# totals' at the top of this:"
    alone = meaning(router_embedder, "Add the comment '# totals' at the top of this:")
    assert float(alone.vector @ meaning(router_embedder, prompt).vector) > 0.999


def test_only_the_instructions_first_tokens_are_embedded(router_embedder: InstructionEmbedder) -> None:
    # the embedding's time grows with its tokens: a decision's p99 stays under 20 ms
    from assistant.chat.router_semantic import MAX_TOKENS

    start = "Напиши подробное эссе о влиянии Петра Первого на развитие российской науки и " * 2
    one, other = start + "приведи примеры.", start + "сравни с Францией, Англией и Голландией."
    assert len(start) > MAX_TOKENS  # a Cyrillic letter is about a token: a character cap would not do
    assert float(meaning(router_embedder, one).vector @ meaning(router_embedder, other).vector) > 0.9999
    short_one, short_other = "Prove this lemma.", "Prove this theorem."
    assert float(meaning(router_embedder, short_one).vector @ meaning(router_embedder, short_other).vector) < 0.99


def test_assess_with_meaning_uses_the_semantic_model(router_embedder: InstructionEmbedder) -> None:
    for p in HARD:
        d = assess(p, [], TINY, meaning=meaning(router_embedder, p))
        assert d.hard and d.score >= 1.0
    for p in EASY:
        assert not assess(p, [], TINY, meaning=meaning(router_embedder, p)).hard
    # its own thresholds: semantic and structural are fitted apart
    assert threshold_for(TINY, semantic=True) != threshold_for(TINY)
    assert threshold_for(TINY, semantic=True) < threshold_for(MID, semantic=True)


def test_semantic_weight_alone_gives_no_invented_reason(router_embedder: InstructionEmbedder) -> None:
    # "semantic" is no reason key: a decision it carries says "looks demanding", not "math"
    p = "What would happen to the tides if the Moon were twice as far away?"
    d = assess(p, [], TINY, meaning=meaning(router_embedder, p))
    assert "semantic" not in d.reason_keys and "math" not in d.reason_keys


def test_no_embedding_model_means_the_structural_model() -> None:
    embedder = InstructionEmbedder(lambda: None)
    try:
        assert embedder.meaning(HARD[0], wait_s=5) is None
        assert embedder.state == "unavailable"
    finally:
        embedder.close()
    d = assess(HARD[0], [], TINY)  # structural: still decides, with its own threshold
    assert d.hard


def test_a_head_for_another_model_is_not_used(minilm_path: Path, tmp_path: Path) -> None:
    # the shipped head with its probe vector turned around: "fitted with another model"
    from assistant.chat.router_semantic import SEMANTIC_PATH

    shipped = json.loads(SEMANTIC_PATH.read_text(encoding="utf-8"))
    shipped["heads"][0]["probe"] = [-v for v in shipped["heads"][0]["probe"]]
    other = tmp_path / "router_semantic.json"
    other.write_text(json.dumps(shipped), encoding="utf-8")
    embedder = InstructionEmbedder(lambda: minilm_path, path=other)
    try:
        assert embedder.meaning(PROBE, wait_s=120) is None
        assert embedder.state == "unavailable"
    finally:
        embedder.close()


def test_loading_never_blocks_the_caller(minilm_path: Path) -> None:
    seen: list[str] = []

    def locate() -> Path:
        seen.append(threading.current_thread().name)
        time.sleep(0.5)  # a slow disk
        return minilm_path

    embedder = InstructionEmbedder(locate)
    try:
        start = time.perf_counter()
        assert embedder.meaning(HARD[0], wait_s=0.03) is None  # still loading: decide without it
        assert time.perf_counter() - start < 0.3
        assert embedder.meaning(HARD[0], wait_s=120) is not None  # the same text, once ready
        assert seen and all(name.startswith("router-embed") for name in seen)
        assert threading.current_thread().name not in seen
    finally:
        embedder.close()


class Recording(InstructionEmbedder):
    def __init__(self, path: Path) -> None:
        super().__init__(lambda: path)
        self.calls: list[tuple[str, float]] = []

    def meaning(self, prompt: str, wait_s: float) -> Meaning | None:
        self.calls.append((prompt, wait_s))
        return super().meaning(prompt, wait_s)


def test_policy_decides_with_the_embedding(minilm_path: Path, tmp_path: Path) -> None:
    from assistant.chat.dispatch import EMBED_WAIT_S, SendPolicy
    from assistant.chat.store import ChatStore
    from assistant.settings import CloudSettings, Settings

    embedder = Recording(minilm_path)
    try:
        with ChatStore.open(tmp_path / "history.sqlite3") as store:
            cloud = CloudSettings(provider="openai", model="gpt-4o", routing_mode="ask")
            policy = SendPolicy(store, Settings(cloud=cloud), embedder=embedder)
            assert policy.embed_wait_s == EMBED_WAIT_S <= 0.05  # the GUI thread waits this at most
            policy.embed_wait_s = 120  # here: wait until the model is loaded
            d = policy.decide(HARD[1], 0, local=TINY, model_path=None)
            assert embedder.calls == [(HARD[1], 120)]
            assert d.target == "ask"  # hard with the meaning: the consent question
            local_only = SendPolicy(store, Settings(), embedder=embedder)
            local_only.decide(HARD[1], 0, local=TINY, model_path=None)
            assert len(embedder.calls) == 1  # "local only" embeds nothing
    finally:
        embedder.close()


# ---------------------------------------------------------------- lengths fair to every script

SHORT = {
    "ru": "Привет! Посоветуй какой-нибудь лёгкий фильм на вечер.",
    "hi": "नमस्ते! आज रात खाने में क्या बनाऊँ?",
    "zh": "你好！周末有什么轻松的电影推荐吗？",
    "ja": "おすすめの本を一冊教えてください",
    "ar": "مرحبا! اقترح علي وصفة سهلة للعشاء",
}


@pytest.mark.parametrize("lang", sorted(SHORT))
def test_short_non_latin_prompts_are_short(lang: str) -> None:
    prompt = SHORT[lang]
    english = text_features("Hi! Can you suggest a light film for this evening?")
    f = text_features(prompt)
    assert f["instruction_words"] <= 12
    assert f["length"] <= english["length"] + 0.1  # no longer than the same ask in English
    assert estimate_tokens(prompt) <= 30  # not one token per byte, nor per letter outside CJK
    d = assess(prompt, [], TINY)
    assert not d.hard and "long_request" not in d.reason_keys and "long_input" not in d.reason_keys


def test_tokens_are_estimated_per_script() -> None:
    assert estimate_tokens("a" * 400) == 101
    assert estimate_tokens("я" * 400) == 201  # Cyrillic: ~2 characters a token
    assert estimate_tokens("字" * 400) == 401  # Han: ~1 a token
