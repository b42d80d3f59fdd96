"""The real command line (`assistant docs ...`, `assistant ask --docs`) with Gemma answering
and its sources printed, and `/v1/embeddings` of the real `assistant serve` through the
official openai SDK."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openai
import pytest

from assistant.cli.common import EXIT_ERROR, EXIT_NOT_FOUND

REPO = Path(__file__).resolve().parents[2]
TOKEN = "docs-token-" + "k3Wz9" * 6


def test_docs_commands_and_ask_with_sources(run_cli, minilm_path: Path, docs_folder: Path, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("docs", "model", str(minilm_path)).returncode == 0
    added = run_cli("docs", "add", "home", str(docs_folder), "--never-cloud")
    assert added.returncode == 0, added.stderr
    assert "4 files indexed." in added.stderr and "manual.pdf: page 3 is a scan" in added.stderr
    assert "\r" not in added.stderr and re.search(r"^Indexing 1/4: .+", added.stderr, re.M)  # piped: plain lines
    listed = run_cli("docs", "list").stdout
    assert "home (never sent to the cloud): 4 of 4 files indexed" in listed
    as_json = json.loads(run_cli("docs", "list", "--json").stdout)
    assert [(c["name"], c["indexed"], c["files"], c["never_cloud"]) for c in as_json] == [("home", 4, 4, True)]
    assert sorted(Path(f["path"]).name for f in as_json[0]["file_list"]) == sorted(p.name for p in docs_folder.iterdir())
    found = run_cli("docs", "search", "home", "fog", "horn", "gale").stdout
    assert found.startswith("[1] manual.pdf, page 2  (keyword #1, vector #1")
    hits = json.loads(run_cli("docs", "search", "home", "fog", "horn", "gale", "--json").stdout)
    assert hits["weak"] is False and hits["passages"][0]["where"] == "manual.pdf, page 2"
    assert (hits["passages"][0]["keyword_rank"], hits["passages"][0]["vector_rank"]) == (1, 1)
    asked = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "8", "--temperature", "0",
                    "--docs", "home", "How often is the fog horn sounded in a gale?")
    assert asked.returncode == 0, asked.stderr
    assert "Whole documents:" in asked.stderr and "Sources:\n  [1]" in asked.stdout
    assert "manual.pdf, page 2: Chapter two covers storms" in asked.stdout
    nothing = run_cli("ask", "--model", str(gemma_path), "--docs", "home", "What is the capital of Peru?")
    assert "do not seem to contain this" in nothing.stdout and "Sources:" not in nothing.stdout
    cloud = run_cli("ask", "--cloud", "--docs", "home", "fog horn?")
    assert cloud.returncode == EXIT_ERROR and "may never be sent to the cloud" in cloud.stderr
    missing = run_cli("docs", "search", "nope", "x")
    assert missing.returncode == EXIT_NOT_FOUND  # an unknown collection is "not found", as a model is
    assert "Error: There is no document collection named “nope”.\nCollections: home." in run_cli("docs", "search", "nope", "x").stderr
    assert "removed" in run_cli("docs", "remove", "home").stderr
    assert "No collections yet" in run_cli("docs", "list").stdout


def test_embeddings_endpoint(minilm_path: Path, gemma_path: Path, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    home = Path(os.environ["ASSISTANT_HOME"])
    (home / "data" / "models").mkdir(parents=True, exist_ok=True)
    os.symlink(gemma_path, home / "data" / "models" / gemma_path.name)  # an installed chat model
    run_cli("docs", "model", str(minilm_path))
    out = tmp_path / "serve.out"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with open(out, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", "0", "--token", TOKEN],
                                stdout=f, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (m := re.search(r"Listening on (http://127\.0\.0\.1:\d+/v1)", out.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        client = openai.OpenAI(base_url=m.group(1), api_key=TOKEN, max_retries=0, timeout=300)
        from support.minilm_gguf import reference_embeddings

        texts = ["A man is eating food.", "The girl is carrying a baby."]
        r = client.embeddings.create(model="embedding", input=texts)
        got = np.array([d.embedding for d in r.data])
        assert r.model == minilm_path.stem and [d.index for d in r.data] == [0, 1]
        assert np.min(np.sum(got * reference_embeddings(texts), axis=1)) > 0.999
        assert r.usage.prompt_tokens > 10
        b64 = client.embeddings.create(model=minilm_path.stem, input="A man is eating food.", encoding_format="base64")
        raw = np.frombuffer(base64.b64decode(b64.data[0].embedding), dtype="<f4")  # asked for: left encoded
        assert float(raw @ got[0]) > 0.9999  # alone, not batched with another text: rounding differs a little
        with pytest.raises(openai.BadRequestError, match="is a chat model, not an embedding model"):
            client.embeddings.create(model=gemma_path.stem, input="x")
        with pytest.raises(openai.NotFoundError, match="no embedding model named"):
            client.embeddings.create(model="text-embedding-3-small", input="x")
        with pytest.raises(openai.BadRequestError, match="token arrays are not accepted"):
            client.embeddings.create(model="embedding", input=[[1, 2, 3]])
        with pytest.raises(openai.BadRequestError, match="dimensions"):
            client.embeddings.create(model="embedding", input="x", dimensions=64)
    finally:
        proc.terminate()
        proc.wait(30)
