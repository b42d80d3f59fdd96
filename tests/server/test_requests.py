"""What the API server makes of a request body (server/common.py and the two APIs), over
HTTP: malformed bodies are 400s that name the field, the sampling values reach the engine,
an engine's error keeps its status, and a client that leaves stops its job (mutation
testing found `return 400` -> 500 passing). The engine is a small recording one: the
real engine answers these APIs in tests/server/test_serve_sdk.py."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from assistant import model_settings
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Usage
from assistant.errors import EngineError, PromptTooLongError
from assistant.server import common
from assistant.server.app import build_app
from assistant.server.models import ModelHost, ServerBusy
from assistant.settings import Settings

TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Recorder:
    name, backend, context_length = "rec", "CPU", 4096

    def __init__(self) -> None:
        self.calls: list[tuple[list[Message], GenParams]] = []
        self.fail: Exception | None = None
        self.hold = threading.Event()  # set: answer at once; clear: wait until cancelled
        self.hold.set()
        self.cancelled = threading.Event()
        self.first_then_hold = False  # the first piece, then nothing until cancelled

    def load(self, model: ModelRef, options: LoadOptions) -> None:
        pass

    def count_tokens(self, messages: list[Message]) -> int:
        return 11

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self.calls.append((messages, params))
        if self.fail is not None:
            raise self.fail
        if self.first_then_hold:
            yield Chunk(text="Hel")
        while not self.hold.is_set():
            if cancel.wait(0.02):
                self.cancelled.set()
                yield Chunk(done=True, finish_reason="cancelled")
                return
        yield Chunk(thinking="hm")
        yield Chunk(text="Hel")
        yield Chunk(text="lo")
        yield Chunk(done=True, finish_reason="length", usage=Usage(5, 2, 1))

    def unload(self) -> None:
        pass


@pytest.fixture
def engine() -> Recorder:
    return Recorder()


@pytest.fixture
def host(tmp_path: Path, engine: Recorder) -> ModelHost:
    settings = Settings()
    model_path = tmp_path / "tiny-model.gguf"
    model_settings.put(settings, model_path, model_settings.ModelSettings(temperature=0.3, top_k=7))
    h = ModelHost(settings, tmp_path / "models", pinned=[ModelRef(model_path, "gguf", name="tiny-model")],
                  prepare=lambda model, s: (engine, LoadOptions(), None))
    yield h
    h.close(5)


@pytest.fixture
def client(host: ModelHost) -> TestClient:
    return TestClient(build_app(host, TOKEN))


def _chat(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/chat/completions", headers=AUTH, json={"model": "tiny-model", "messages": [{"role": "user", "content": "hi"}], **body})


# -- malformed bodies: 400 naming the field -----------------------------------------------------------
@pytest.mark.parametrize(("raw", "says"), [
    (b"{not json", "The request body is not JSON."),
    (b"[1, 2]", "The request body must be a JSON object."),
    (b'"text"', "The request body must be a JSON object."),
])
def test_a_body_that_is_not_a_json_object_is_400(client: TestClient, raw: bytes, says: str) -> None:
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/messages"):
        r = client.post(path, headers=AUTH, content=raw)
        assert r.status_code == 400, (path, r.text)
        assert says in r.text


def test_an_empty_body_is_an_empty_object(client: TestClient) -> None:
    # no body reads as {} (not "not JSON"): the 400 names what is missing
    r = client.post("/v1/chat/completions", headers=AUTH, content=b"")
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("“messages” is required.")


@pytest.mark.parametrize(("body", "field"), [
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": -3}, "max_tokens"),
    ({"max_tokens": "5"}, "max_tokens"),
    ({"max_tokens": True}, "max_tokens"),
    ({"max_tokens": 2.5}, "max_tokens"),
    ({"max_completion_tokens": 0, "max_tokens": 5}, "max_completion_tokens"),
    ({"temperature": "hot"}, "temperature"),
    ({"temperature": False}, "temperature"),
    ({"top_p": [1]}, "top_p"),
    ({"top_k": 2.5}, "top_k"),
    ({"min_p": {}}, "min_p"),
    ({"repeat_penalty": "1"}, "repeat_penalty"),
    ({"seed": 1.5}, "seed"),
    ({"stop": 3}, "stop"),
    ({"stop": ["a", 3]}, "stop"),
    ({"stop": {"a": 1}}, "stop"),
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [5]}]}, "messages[0]"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages[0]"),
])
def test_each_wrong_value_is_a_400_that_names_it(client: TestClient, engine: Recorder, body: dict, field: str) -> None:
    r = _chat(client, **body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert field in err["message"] and err["type"] == "invalid_request_error"
    assert engine.calls == []  # nothing reached the engine


def test_an_image_for_a_model_that_cannot_see_is_refused_in_words(client: TestClient, engine: Recorder) -> None:
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")
    r = _chat(client, messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}]}])
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("“tiny-model” cannot see images: it has no projector (mmproj)")
    r = _chat(client, messages=[{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}])
    assert "only text and images are understood; input_audio parts are not" in r.json()["error"]["message"]
    assert engine.calls == []


# -- what reaches the engine --------------------------------------------------------------------------
def test_the_models_own_values_then_the_requests_on_top(client: TestClient, engine: Recorder) -> None:
    assert _chat(client).status_code == 200
    params = engine.calls[-1][1]
    assert (params.temperature, params.top_k) == (0.3, 7)  # the model's settings, as in the app
    assert params.max_tokens == GenParams().max_tokens and params.stop == []
    r = _chat(client, max_tokens=9, temperature=1, top_p=0.5, top_k=3.0, min_p=0.1, repeat_penalty=1.2, seed=42,
              presence_penalty=0.5, frequency_penalty=-0.25, stop=["", "END", *[f"s{i}" for i in range(20)]])
    assert r.status_code == 200
    p = engine.calls[-1][1]
    assert (p.max_tokens, p.temperature, p.top_p, p.top_k, p.min_p, p.repeat_penalty, p.seed) == (9, 1.0, 0.5, 3, 0.1, 1.2, 42)
    assert (p.presence_penalty, p.frequency_penalty) == (0.5, -0.25)
    assert isinstance(p.temperature, float) and isinstance(p.top_k, int) and isinstance(p.max_tokens, int)
    assert p.stop == ["END", *[f"s{i}" for i in range(15)]]  # empty ones dropped, 16 at most


def test_max_completion_tokens_wins_and_a_single_stop_is_a_list(client: TestClient, engine: Recorder) -> None:
    assert _chat(client, max_completion_tokens=4, max_tokens=40, stop="\n").status_code == 200
    assert engine.calls[-1][1].max_tokens == 4 and engine.calls[-1][1].stop == ["\n"]
    assert _chat(client, max_tokens=1, stop=None, temperature=None).status_code == 200
    assert engine.calls[-1][1].max_tokens == 1 and engine.calls[-1][1].temperature == 0.3


def test_message_content_in_parts_and_roles(client: TestClient, engine: Recorder) -> None:
    msgs = [{"role": "developer", "content": [{"type": "text", "text": "Be "}, "brief."]},
            {"role": "user", "content": None}, {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
            {"role": "tool", "content": "42", "tool_call_id": "c1"}]
    assert _chat(client, messages=msgs).status_code == 200
    assert [(m.role, m.content) for m in engine.calls[-1][0]] == [("system", "Be brief."), ("user", ""), ("assistant", ""), ("tool", "42")]
    assert engine.calls[-1][0][-1].tool_call_id == "c1"
    r = _chat(client, messages=[{"role": "tool", "content": "42"}])
    assert r.status_code == 400 and "tool_call_id" in r.json()["error"]["message"]


def test_the_answer_and_its_usage(client: TestClient) -> None:
    doc = _chat(client).json()
    choice = doc["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hello", "reasoning_content": "hm"}
    assert choice["finish_reason"] == "length"
    assert doc["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "prompt_tokens_details": {"cached_tokens": 1}}


def test_completions_take_a_prompt_or_a_list_of_one(client: TestClient, engine: Recorder) -> None:
    for prompt in ("Once", ["Once"]):
        r = client.post("/v1/completions", headers=AUTH, json={"model": "tiny-model", "prompt": prompt})
        assert r.status_code == 200 and r.json()["choices"][0]["text"] == "Hello"
        assert [(m.role, m.content) for m in engine.calls[-1][0]] == [("user", "Once")]
    for prompt in (["a", "b"], 3, None):
        r = client.post("/v1/completions", headers=AUTH, json={"model": "tiny-model", "prompt": prompt})
        assert r.status_code == 400 and "prompt" in r.text


def test_anthropic_needs_max_tokens_and_takes_stop_sequences(client: TestClient, engine: Recorder) -> None:
    base = {"model": "tiny-model", "messages": [{"role": "user", "content": "hi"}]}
    r = client.post("/v1/messages", headers=AUTH, json=base)
    assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"] and r.json()["type"] == "error"
    r = client.post("/v1/messages", headers=AUTH, json={**base, "max_tokens": 5, "stop_sequences": ["Z"], "system": "sys"})
    assert r.status_code == 200
    msgs, params = engine.calls[-1]
    assert params.max_tokens == 5 and params.stop == ["Z"] and msgs[0] == Message("system", "sys")
    doc = r.json()
    assert doc["content"] == [{"type": "thinking", "thinking": "hm", "signature": ""}, {"type": "text", "text": "Hello"}]
    assert doc["usage"] == {"input_tokens": 11, "output_tokens": 2} and doc["stop_reason"] == "max_tokens"
    r = client.post("/v1/messages", headers=AUTH, json={**base, "max_tokens": 5, "stop_sequences": "Z"})
    assert r.status_code == 200 and engine.calls[-1][1].stop == ["Z"]
    r = client.post("/v1/messages", headers=AUTH, json={**base, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]})
    assert r.status_code == 400 and "messages[0]" in r.json()["error"]["message"]


# -- errors keep their status; streams stay well formed ------------------------------------------------
@pytest.mark.parametrize(("exc", "status", "kind"), [
    (PromptTooLongError("The prompt is too long.", "Shorten it."), 400, "invalid_request_error"),
    (EngineError("The engine failed.", "See the log."), 500, "server_error"),
])
def test_an_engine_error_keeps_its_status(client: TestClient, engine: Recorder, exc: Exception, status: int, kind: str) -> None:
    engine.fail = exc
    r = _chat(client)
    assert r.status_code == status and r.json()["error"]["type"] == kind
    assert r.json()["error"]["message"] == f"{exc.message} {exc.hint}"  # type: ignore[attr-defined]
    r = client.post("/v1/messages", headers=AUTH, json={"model": "tiny-model", "max_tokens": 3, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == status


def test_an_unknown_model_is_404_with_the_names(client: TestClient) -> None:
    r = _chat(client, model="other")
    assert r.status_code == 404 and "No model called “other” is served here." in r.json()["error"]["message"]
    assert "tiny-model" in r.json()["error"]["message"]


def test_a_stream_is_json_events_then_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/completions", headers=AUTH, json={
        "model": "tiny-model", "messages": [{"role": "user", "content": "hi"}], "stream": True,
        "stream_options": {"include_usage": True}}) as r:
        lines = [ln for ln in r.iter_lines() if ln.startswith("data:")]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(ln[5:]) for ln in lines[:-1]]
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    thinking = "".join(e["choices"][0]["delta"].get("reasoning_content", "") for e in events if e["choices"])
    assert (text, thinking) == ("Hello", "hm")
    assert events[-1]["choices"] == [] and events[-1]["usage"]["total_tokens"] == 7
    assert events[-2]["choices"][0]["finish_reason"] == "length"


# -- a client that leaves --------------------------------------------------------------------------------
@pytest.mark.parametrize("when", ["before the first piece", "after the first piece"])
def test_a_client_that_leaves_stops_its_job(host: ModelHost, engine: Recorder, when: str) -> None:
    engine.hold.clear()  # the answer never comes on its own
    engine.first_then_hold = when == "after the first piece"
    app = build_app(host, TOKEN)
    body = json.dumps({"model": "tiny-model", "messages": [{"role": "user", "content": "hi"}]}).encode()
    sent: list[dict[str, Any]] = []
    state = {"asked": 0}

    async def receive() -> dict[str, Any]:
        state["asked"] += 1
        if state["asked"] == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        # as uvicorn's receive(): it returns when the connection closes, here 0.2 s in
        await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
             "query_string": b"", "headers": [(b"authorization", f"Bearer {TOKEN}".encode())], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 2), "scheme": "http", "root_path": "", "http_version": "1.1", "asgi": {"version": "3.0"}}
    t0 = time.monotonic()
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert sent[0]["status"] == 499 and time.monotonic() - t0 < 5
    assert engine.cancelled.wait(5)  # the engine was told to stop
    assert host.finished[-1] == "cancelled"


def test_a_request_still_queued_when_the_server_stops_is_not_answered_empty(tmp_path: Path, engine: Recorder) -> None:
    settings = Settings()
    settings.server.parallel = 1  # one slot: the first request holds it; the second waits in the queue
    host = ModelHost(settings, tmp_path / "models", pinned=[ModelRef(tmp_path / "tiny-model.gguf", "gguf", name="tiny-model")],
                     prepare=lambda model, s: (engine, LoadOptions(), None))
    engine.hold.clear()
    app = build_app(host, TOKEN)

    async def call(text: str) -> list[dict[str, Any]]:
        body = json.dumps({"model": "tiny-model", "messages": [{"role": "user", "content": text}]}).encode()
        sent: list[dict[str, Any]] = []
        asked = {"n": 0}

        async def receive() -> dict[str, Any]:
            asked["n"] += 1
            if asked["n"] == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions",
                 "query_string": b"", "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2), "scheme": "http", "root_path": "",
                 "http_version": "1.1", "asgi": {"version": "3.0"}}
        await app(scope, receive, send)
        return sent

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        first = asyncio.ensure_future(call("first"))
        await asyncio.sleep(0.3)
        second = asyncio.ensure_future(call("second"))
        await asyncio.sleep(0.3)
        await asyncio.get_running_loop().run_in_executor(None, host.close, 5)  # the server stops
        return await asyncio.wait_for(first, 10), await asyncio.wait_for(second, 10)

    first, second = asyncio.run(both())
    assert first[0]["status"] == 200  # the answer in hand stops, and says how far it got
    assert second[0]["status"] == 499  # nothing was answered: no empty 200
    assert [m[0][-1].content for m in engine.calls] == ["first"]


def test_status_for_each_error() -> None:
    from assistant.errors import AssistantError, ModelNotFoundError

    assert common.status_for(ModelNotFoundError("x")) == 404
    assert common.status_for(common.BadRequest("x")) == 400
    assert common.status_for(PromptTooLongError("x")) == 400
    assert common.status_for(AssistantError("x")) == 500
    busy = ServerBusy("Busy.", "Later.", 7)
    assert common.status_for(busy) == 429 and common.error_headers(busy) == {"Retry-After": "7"}
    assert common.error_headers(AssistantError("x")) == {}


@pytest.mark.parametrize(("thinking", "switch"), [({"type": "enabled", "budget_tokens": 1024}, "on"),
                                                  ({"type": "disabled"}, "off"), (None, None)])
def test_anthropic_thinking_reaches_the_engine_as_the_models_switch(client: TestClient, engine: Recorder,
                                                                     thinking: dict | None, switch: str | None) -> None:
    body = {"model": "tiny-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    if thinking is not None:
        body["thinking"] = thinking
    r = client.post("/v1/messages", headers=AUTH, json=body)
    assert r.status_code == 200, r.text
    assert engine.calls[-1][1].thinking == switch  # None: the model's own setting
