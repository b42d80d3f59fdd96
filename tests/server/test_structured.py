"""Structured output through the real server (engine in its own process, test GGUF) with
the official SDKs: `response_format` json_schema and json_object, Anthropic's
`output_config`, answers cut at max_tokens, schemas the server cannot hold (a 400 that
names the field), and a grammar answer decoded beside a free one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from support.api_server import running

from assistant.core.types import GenParams, Message, ModelRef
from assistant.errors import GrammarError
from assistant.library.installed import model_ref_for_path
from assistant.server.protocol import BadRequest
from assistant.server.runner import ApiServer
from assistant.server.structured import anthropic_grammar, check_engine, openai_grammar
from assistant.settings import ServerSettings, Settings

TOKEN = "structured-token-" + "k3" * 12
MODEL = "gemma-3-270m-q4_k_m"
SCHEMA: Any = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 24},
    "age": {"type": "integer"},
    "color": {"type": "string", "enum": ["red", "green", "blue"]},
}, "required": ["name", "age", "color"], "additionalProperties": False}
FORMAT: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
ASK: Any = [{"role": "user", "content": "Describe a sailor."}]
ASK_MSG = [Message("user", "Describe a sailor.")]


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    settings = Settings(context_length=2048, n_threads=2, n_gpu_layers=0, server=ServerSettings(parallel=4, queue=4))
    with running(model_ref_for_path(gemma_path), settings, tmp_path_factory.mktemp("models"), TOKEN) as srv:
        yield srv


def client(srv: ApiServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url, api_key=TOKEN, max_retries=0, timeout=120)


def valid(text: str) -> bool:
    obj = json.loads(text)
    return (isinstance(obj, dict) and set(obj) == {"name", "age", "color"} and isinstance(obj["name"], str)
            and len(obj["name"]) <= 24 and type(obj["age"]) is int and obj["color"] in ("red", "green", "blue"))


def test_json_schema_answers_validate_whole_and_streamed(server: ApiServer) -> None:
    c = client(server)
    for seed in (1, 2):
        r = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=80, seed=seed,
                                      response_format=FORMAT)
        assert r.choices[0].finish_reason == "stop"
        assert valid(r.choices[0].message.content or ""), r.choices[0].message.content
    parts, finish = [], None
    for e in c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=80, seed=3,
                                       response_format=FORMAT, stream=True):
        for ch in e.choices:
            parts.append(ch.delta.content or "")
            finish = ch.finish_reason or finish
    assert finish == "stop" and valid("".join(parts)), parts


def test_twenty_seeded_json_schema_requests_all_parse_and_validate(server: ApiServer) -> None:
    """The issue's check: 20 seeds, 4 at a time (the server's slots); every answer that ends
    by itself validates, and none is cut (80 tokens hold this schema's answers)."""
    from concurrent.futures import ThreadPoolExecutor

    c = client(server)

    def one(seed: int) -> tuple[str | None, str]:
        r = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=80, seed=seed, response_format=FORMAT)
        return r.choices[0].finish_reason, r.choices[0].message.content or ""

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(100, 120)))
    assert [f for f, _ in answers] == ["stop"] * 20, answers
    bad = [text for _, text in answers if not valid(text)]
    assert not bad, bad
    assert len({text for _, text in answers}) > 5  # the seeds gave different answers, not one


def test_json_object_and_completions(server: ApiServer) -> None:
    c = client(server)
    r = c.chat.completions.create(model=MODEL, messages=ASK, max_tokens=60, temperature=0.0,
                                  response_format={"type": "json_object"})
    text = r.choices[0].message.content or ""
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(text), dict), text
    else:  # a long object cut at max_tokens: at least it is one in the making
        assert r.choices[0].finish_reason == "length" and text.startswith("{")
    t = c.completions.create(model=MODEL, prompt="A sailor:", max_tokens=80, seed=4,
                             extra_body={"response_format": FORMAT})
    assert t.choices[0].finish_reason == "stop" and valid(t.choices[0].text), t.choices[0].text


def test_a_cut_answer_says_length(server: ApiServer) -> None:
    r = client(server).chat.completions.create(model=MODEL, messages=ASK, max_tokens=5, temperature=0.0,
                                               response_format=FORMAT)
    assert r.choices[0].finish_reason == "length"
    with pytest.raises(ValueError):
        json.loads(r.choices[0].message.content or "")


def test_a_schema_the_server_cannot_hold_is_a_400_naming_response_format(server: ApiServer) -> None:
    bad: Any = {"type": "json_schema", "json_schema": {"name": "n", "schema": {
        "type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}}}
    with pytest.raises(openai.BadRequestError) as e:
        client(server).chat.completions.create(model=MODEL, messages=ASK, response_format=bad)
    assert e.value.status_code == 400
    assert "response_format" in str(e.value) and "minimum" in str(e.value)


def test_a_grammar_answer_beside_a_free_one(server: ApiServer) -> None:
    """Two slots in one decode loop: the grammar holds only its own answer."""
    c = client(server)
    free_kw: dict[str, Any] = dict(model=MODEL, messages=[{"role": "user", "content": "Write about the moon."}],
                                   max_tokens=40, temperature=0.0)
    alone = c.chat.completions.create(**free_kw).choices[0].message.content
    got: dict[str, Any] = {}

    def ask(key: str, kw: dict[str, Any]) -> None:
        got[key] = c.chat.completions.create(**kw).choices[0]

    threads = [threading.Thread(target=ask, args=("free", free_kw)),
               threading.Thread(target=ask, args=("json", dict(model=MODEL, messages=ASK, max_tokens=80, seed=5,
                                                               response_format=FORMAT)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    free = got["free"].message.content or ""
    # prose, as alone (batched logits round a little differently: the words may part later)
    assert got["free"].finish_reason == "length" and free[:12] == (alone or "")[:12]
    with pytest.raises(ValueError):
        json.loads(free)
    assert got["json"].finish_reason == "stop" and valid(got["json"].message.content)


def test_a_grammar_that_does_not_parse_crosses_the_pipe_as_a_typed_error(server: ApiServer) -> None:
    """The engine's process refuses it before the answer joins the loop, and goes on."""
    host = server.host
    model = host.find(MODEL)
    with host.engines.use(model, host.settings) as engine:
        with pytest.raises(GrammarError, match="could not be parsed"):
            list(engine.stream_chat(ASK_MSG, GenParams(max_tokens=4, grammar="root ::= ( nope"), threading.Event()))
        chunks = list(engine.stream_chat(ASK_MSG, GenParams(max_tokens=3, temperature=0.0), threading.Event()))
    assert chunks[-1].finish_reason == "length"


def test_anthropic_output_config(server: ApiServer) -> None:
    a = anthropic.Anthropic(base_url=server.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0, timeout=120)
    m = a.messages.create(model=MODEL, max_tokens=80, messages=ASK,
                          output_config={"format": {"type": "json_schema", "schema": SCHEMA}})
    text = "".join(b.text for b in m.content if b.type == "text")
    assert m.stop_reason == "end_turn" and valid(text), text


def test_refusals_say_what_to_change() -> None:
    assert openai_grammar({"type": "text"}) is None and openai_grammar(None) is None
    cases: list[tuple[Any, str]] = [
        ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, "needs a name"),
        ({"type": "yaml"}, "type “yaml”"),
        ({"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "float"}}}, "“float”"),
        ({"type": "json_schema", "json_schema": {"name": "n", "schema": {"not": {"type": "string"}}}}, "“not”"),
        ({"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "string", "format": "email"}}}, "email"),
    ]
    for bad, words in cases:
        with pytest.raises(BadRequest, match=words) as e:
            openai_grammar(bad)
        assert "response_format" in str(e.value) and e.value.hint
    with pytest.raises(BadRequest, match="effort"):
        anthropic_grammar({"effort": "high"})
    with pytest.raises(BadRequest, match="json_schema"):
        anthropic_grammar({"format": {"type": "json_object"}})
    grammar = openai_grammar({"type": "json_object"})
    check_engine(ModelRef(Path("m.gguf"), "gguf"), grammar, "response_format")
    for fmt in ("mlx", "remote"):
        with pytest.raises(BadRequest, match="needs a GGUF model"):
            check_engine(ModelRef(Path("m"), fmt), grammar, "response_format")
    check_engine(ModelRef(Path("m"), "mlx"), None, "response_format")
