"""The API server in a thread, as the window runs it (runner.ApiServer.start): a client
that stops reading cancels the generation; a queued request whose client left is
skipped; stopping the server ends an answer in progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from assistant.library.installed import model_ref_for_path
from assistant.server.runner import ApiServer, ServerConfig, ServerError
from assistant.settings import Settings

TOKEN = "runner-token-" + "k3" * 12


@pytest.fixture(scope="module")
def server(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    models = tmp_path_factory.mktemp("models")
    srv = ApiServer(ServerConfig("127.0.0.1", 0, model_ref_for_path(gemma_path)), Settings(), models, TOKEN)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _wait_finished(srv: ApiServer, n: int, timeout_s: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while len(srv.host.finished) < n:
        assert time.monotonic() < deadline, srv.host.finished
        time.sleep(0.05)
    return srv.host.finished


def test_closing_an_openai_stream_cancels_the_generation(server: ApiServer) -> None:
    client = openai.OpenAI(base_url=server.url, api_key=TOKEN, max_retries=0)
    before = len(server.host.finished)
    stream = client.chat.completions.create(
        model="gemma-3-270m-q4_k_m", messages=[{"role": "user", "content": "Tell me a long story."}],
        max_tokens=2000, stream=True, extra_body={"min_p": 0.0},
    )
    got = 0
    for event in stream:
        got += sum(1 for c in event.choices if c.delta.content)
        if got >= 3:
            break
    stream.close()
    t0 = time.monotonic()
    assert _wait_finished(server, before + 1)[-1] == "cancelled"
    assert time.monotonic() - t0 < 20  # not 2,000 tokens later
    # the server goes on answering
    r = client.chat.completions.create(model="gemma-3-270m-q4_k_m", messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    assert r.choices[0].message.content


def test_closing_an_anthropic_stream_cancels_the_generation(server: ApiServer) -> None:
    client = anthropic.Anthropic(base_url=server.url.removesuffix("/v1"), api_key=TOKEN, max_retries=0)
    before = len(server.host.finished)
    with client.messages.stream(model="gemma-3-270m-q4_k_m", max_tokens=2000,
                                messages=[{"role": "user", "content": "Tell me a long story."}]) as stream:
        for i, _text in enumerate(stream.text_stream):
            if i >= 2:
                break
    assert _wait_finished(server, before + 1)[-1] == "cancelled"


def test_a_busy_port_is_said_plainly(server: ApiServer, tmp_path: Path) -> None:
    other = ApiServer(ServerConfig("127.0.0.1", server.port), Settings(), tmp_path, TOKEN)
    with pytest.raises(ServerError, match=f"could not listen on 127.0.0.1:{server.port}"):
        other.bind()
