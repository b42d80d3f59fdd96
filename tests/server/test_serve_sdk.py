"""The official openai and anthropic SDKs as clients of the real `assistant serve`
(a subprocess on 127.0.0.1, port 0) answering with the test GGUF."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx2 as httpx  # what the SDKs here use
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-" + "x7Qp2" * 6
_LISTENING = re.compile(r"Listening on (http://127\.0\.0\.1:\d+/v1)")


class Served:
    def __init__(self, base_url: str, proc: subprocess.Popen[str], home: Path, out: Path) -> None:
        self.base_url, self.proc, self.home, self.out = base_url, proc, home, out

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def openai(self, token: str | None = TOKEN) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key=token or "", max_retries=0, timeout=300)

    def anthropic(self, token: str | None = TOKEN) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.root, api_key=token or "", max_retries=0, timeout=300)


@pytest.fixture(scope="module")
def served(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve-home")
    out = home / "serve.out"
    env = dict(os.environ, PYTHONPATH=str(REPO), ASSISTANT_HOME=str(home))
    with open(out, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--port", "0", "--model", str(gemma_path), "--token", TOKEN],
            stdout=f, stderr=subprocess.STDOUT, text=True, env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while not (m := _LISTENING.search(out.read_text())):
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "assistant serve did not start"
            time.sleep(0.2)
        yield Served(m.group(1), proc, home, out)
    finally:
        proc.terminate()
        proc.wait(30)


MODEL = "gemma-3-270m-q4_k_m"


def test_models_are_listed(served: Served) -> None:
    ids = [m.id for m in served.openai().models.list()]
    assert MODEL in ids


def test_openai_streaming_with_usage(served: Served) -> None:
    stream = served.openai().chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Say hello."}], max_tokens=12, stream=True,
        stream_options={"include_usage": True}, temperature=0,
    )
    text, finish, usage = [], None, None
    for event in stream:
        for c in event.choices:
            text.append(c.delta.content or "")
            finish = c.finish_reason or finish
        usage = event.usage or usage
    assert "".join(text).strip()
    assert finish in ("stop", "length")
    assert usage is not None and usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 12
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_openai_non_streamed_and_completions(served: Served) -> None:
    client = served.openai()
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=6)
    assert r.choices[0].message.content and r.usage is not None and r.usage.completion_tokens > 0
    c = client.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=6)
    assert c.choices[0].text and c.usage is not None and c.usage.completion_tokens > 0


def test_stop_sequence_ends_the_answer(served: Served) -> None:
    client = served.openai()
    kwargs = dict(model=MODEL, messages=[{"role": "user", "content": "Count: one two three"}], max_tokens=40,
                  temperature=0, seed=1)
    full = client.chat.completions.create(**kwargs).choices[0].message.content or ""  # type: ignore[call-overload]
    stop = _middle(full)
    cut = client.chat.completions.create(**kwargs, stop=[stop]).choices[0]  # type: ignore[call-overload]
    assert cut.finish_reason == "stop"
    assert cut.message.content == full[: full.index(stop)]


def _middle(text: str) -> str:
    """Three characters from the middle of an answer: a stop string it is sure to meet."""
    assert len(text) >= 8, text
    i = len(text) // 2
    return text[i : i + 3]


def test_anthropic_streaming_with_usage(served: Served) -> None:
    client = served.anthropic()
    with client.messages.stream(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hello"}],
                                system="Be brief.") as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.strip() and final.content[0].text == text  # type: ignore[union-attr]
    assert final.usage.input_tokens > 0 and 0 < final.usage.output_tokens <= 10
    assert final.stop_reason in ("end_turn", "max_tokens")
    r = client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "Hi"}])
    assert r.content[0].text and r.usage.output_tokens > 0  # type: ignore[union-attr]


def test_anthropic_stop_sequences(served: Served) -> None:
    client = served.anthropic()
    msgs = [{"role": "user", "content": "Count: one two three"}]
    full = client.messages.create(model=MODEL, max_tokens=40, messages=msgs, extra_body={"temperature": 0}).content[0].text  # type: ignore[arg-type,union-attr]
    stop = _middle(full)
    cut = client.messages.create(model=MODEL, max_tokens=40, messages=msgs, extra_body={"temperature": 0}, stop_sequences=[stop])  # type: ignore[arg-type]
    assert cut.content[0].text == full[: full.index(stop)]  # type: ignore[union-attr]


def test_four_clients_at_once_are_all_answered(served: Served) -> None:
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            if i % 2:
                stream = served.openai().chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": f"Question {i}"}], max_tokens=8, stream=True)
                results[i] = "".join(c.delta.content or "" for e in stream for c in e.choices)
            else:
                with served.anthropic().messages.stream(model=MODEL, max_tokens=8,
                                                        messages=[{"role": "user", "content": f"Question {i}"}]) as s:
                    results[i] = "".join(s.text_stream)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert sorted(results) == [0, 1, 2, 3] and all(v.strip() for v in results.values()), results


def test_wrong_token_gets_401(served: Served) -> None:
    with pytest.raises(openai.AuthenticationError) as e:
        served.openai("wrong-token").models.list()
    assert e.value.status_code == 401 and "token is wrong" in str(e.value)
    with pytest.raises(anthropic.AuthenticationError) as a:
        served.anthropic("wrong-token").messages.create(model=MODEL, max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
    assert a.value.status_code == 401 and "token is wrong" in str(a.value)


def test_missing_token_gets_401(served: Served) -> None:
    # the SDKs refuse to send no key at all: the same HTTP library they use, without one
    r = httpx.get(f"{served.base_url}/models")
    assert r.status_code == 401 and "No API token was sent" in r.json()["error"]["message"]
    r = httpx.post(f"{served.base_url}/messages", json={"model": MODEL, "max_tokens": 4, "messages": []})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.get(f"{served.base_url}/models", headers={"Authorization": f"Basic {TOKEN}"})  # not a bearer token
    assert r.status_code == 401


def test_unknown_model_gets_404_with_a_message(served: Served) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        served.openai().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
    assert "No model called “no-such-model”" in str(e.value) and MODEL in str(e.value)
    with pytest.raises(anthropic.NotFoundError) as a:
        served.anthropic().messages.create(model="no-such-model", max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
    assert "no-such-model" in str(a.value)


def test_requests_are_in_the_network_record_and_the_token_is_nowhere(served: Served) -> None:
    # its own requests: in a random order no other test of the module may have run yet
    served.openai().models.list()
    served.openai().chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    with pytest.raises(anthropic.AuthenticationError):
        served.anthropic(token="wrong").messages.create(model=MODEL, max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
    record = (served.home / "data" / "network_activity.jsonl").read_text()
    lines = [json.loads(x) for x in record.splitlines()]
    incoming = [x for x in lines if x.get("direction") == "in"]
    assert any(x["path"] == "/v1/models" and x["status"] == 200 for x in incoming)
    assert any(x["path"] == "/v1/chat/completions" for x in incoming)
    assert any(x["path"] == "/v1/messages" and x["status"] == 401 for x in incoming)
    assert all(x["host"] == "127.0.0.1" and x["bytes_sent"] > 0 for x in incoming)
    for f in [served.out, *served.home.rglob("*.log*"), *served.home.rglob("*.jsonl")]:
        assert TOKEN not in f.read_text(errors="replace"), f


def test_an_answer_cut_at_the_limit_says_so_in_both_apis(served: Served) -> None:
    prompt = [{"role": "user", "content": "Tell me a very long story about a lighthouse keeper."}]
    o = served.openai().chat.completions.create(model=MODEL, messages=prompt, max_tokens=4, temperature=0)  # type: ignore[arg-type]
    assert o.choices[0].finish_reason == "length" and o.usage is not None and o.usage.completion_tokens == 4
    finish = None
    for event in served.openai().chat.completions.create(model=MODEL, messages=prompt, max_tokens=4, temperature=0,  # type: ignore[call-overload]
                                                         stream=True):
        for c in event.choices:
            finish = c.finish_reason or finish
    assert finish == "length"
    a = served.anthropic().messages.create(model=MODEL, max_tokens=4, messages=prompt, extra_body={"temperature": 0})  # type: ignore[arg-type]
    assert a.stop_reason == "max_tokens" and a.usage.output_tokens == 4
