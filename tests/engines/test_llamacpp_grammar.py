"""A grammar holds the answer (structured output) on the real engine: this 270M base model
never writes JSON on its own, yet every answer under a schema's grammar parses and has
the schema's fields; the quick path picks what the grammar-over-every-token reference
picks; a grammar that does not parse is a typed error, and the engine goes on."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from assistant.core.types import GenParams, Message
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.engines.llamacpp_sampling import Sampler
from assistant.errors import GrammarError
from assistant.server.structured import schema_grammar

SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 24},
    "age": {"type": "integer"},
    "color": {"enum": ["red", "green", "blue"]},
}, "required": ["name", "age", "color"], "additionalProperties": False}
PROMPT = [Message("user", "Tell me about the sea.")]


def answer(e: LlamaCppEngine, params: GenParams) -> tuple[str, str]:
    chunks = list(e.stream_chat(PROMPT, params, threading.Event()))
    return "".join(c.text for c in chunks), str(chunks[-1].finish_reason)


def valid(obj: Any) -> bool:
    return (isinstance(obj, dict) and set(obj) == {"name", "age", "color"} and isinstance(obj["name"], str)
            and len(obj["name"]) <= 24 and type(obj["age"]) is int and obj["color"] in ("red", "green", "blue"))


def test_the_grammar_forces_json_the_model_would_not_write(gemma_engine: LlamaCppEngine) -> None:
    free, _ = answer(gemma_engine, GenParams(max_tokens=24, temperature=0.0))
    with pytest.raises(ValueError):
        json.loads(free)  # the base model answers in prose
    grammar = schema_grammar(SCHEMA, "schema")
    for seed in (1, 2, 3):
        text, finish = answer(gemma_engine, GenParams(max_tokens=60, temperature=0.8, seed=seed, grammar=grammar))
        assert finish == "stop", text
        assert valid(json.loads(text)), text


def test_a_cut_answer_says_length(gemma_engine: LlamaCppEngine) -> None:
    text, finish = answer(gemma_engine, GenParams(max_tokens=4, temperature=0.0, grammar=schema_grammar(SCHEMA, "s")))
    assert finish == "length" and text.startswith("{")
    with pytest.raises(ValueError):
        json.loads(text)


def test_the_quick_path_picks_what_the_grammar_over_every_token_picks(gemma_engine: LlamaCppEngine) -> None:
    """Greedy: the chain's own pick when the grammar allows it, else the top 1,024 under
    the grammar, equals the argmax over every token the grammar allows."""
    e, grammar = gemma_engine, schema_grammar(SCHEMA, "s")
    lib, ctx = e._lib, e._ctx
    picks: dict[bool, list[int]] = {}
    for fast in (True, False):
        e._clear_cache()
        assert e._kv is not None
        e._kv.evaluate(e.prompt_tokens(PROMPT))
        sampler = Sampler(lib, ctx, e._vocab, GenParams(temperature=0.0, grammar=grammar), fast=fast)
        assert sampler.mode == "grammar"
        one, out = (lib.llama_token * 1)(), []
        try:
            for _ in range(30):
                tok = sampler.sample(-1)
                out.append(tok)
                if lib.llama_vocab_is_eog(e._vocab, tok):
                    break
                one[0] = tok
                assert lib.llama_decode(ctx, lib.llama_batch_get_one(one, 1)) == 0
        finally:
            sampler.free()
        picks[fast] = out
    e._clear_cache()
    assert picks[True] == picks[False]
    assert lib.llama_vocab_is_eog(e._vocab, picks[True][-1])  # the object closed, then the end
    assert valid(json.loads("".join(e._token_text(t) for t in picks[True][:-1])))


def test_a_grammar_that_does_not_parse_is_a_typed_error(gemma_engine: LlamaCppEngine) -> None:
    with pytest.raises(GrammarError, match="could not be parsed"):
        answer(gemma_engine, GenParams(max_tokens=4, grammar="root ::= ( nope"))
    text, finish = answer(gemma_engine, GenParams(max_tokens=3, temperature=0.0))
    assert finish == "length" and text
