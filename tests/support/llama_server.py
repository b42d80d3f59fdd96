"""llama-cpp-python's OpenAI-compatible server with the real Gemma 3 270M, on 127.0.0.1.

The same start-up as tests/engines/test_cloud.py, shared by the GUI cloud tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ALIAS = "gemma-3-270m"


@dataclass
class LlamaServer:
    base_url: str  # ".../v1"
    proc: subprocess.Popen[bytes]
    log_path: Path

    def chat_requests(self) -> int:
        """POSTs to /v1/chat/completions that reached the server (uvicorn's access log)."""
        return self.log_path.read_text(errors="replace").count("POST /v1/chat/completions")


_LISTENING = re.compile(rb"Uvicorn running on http://127\.0\.0\.1:(\d+)")


def _bound_port(log_path: Path) -> int | None:
    """The port the server bound (it was started on port 0, so nothing can take it first)."""
    m = _LISTENING.search(log_path.read_bytes())
    return int(m.group(1)) if m else None


def _restore_home(saved: str | None) -> None:
    if saved is None:
        os.environ.pop("ASSISTANT_HOME", None)
    else:
        os.environ["ASSISTANT_HOME"] = saved


@contextlib.contextmanager
def running_llama_server(
    model: Path, tmp: Path, api_key: str | None, timeout_s: float = 120, home: Path | None = None,
) -> Iterator[LlamaServer]:
    """`api_key` None: a server that takes requests without a key. `home`: where ASSISTANT_HOME points during the start-up poll, so the network record
    of a module-scoped server stays out of any test's own data folder."""
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", ALIAS,
             "--chat_format", "gemma", "--host", "127.0.0.1", "--port", "0", "--n_ctx", "1024",
             "--n_threads", "2", *(["--api_key", api_key] if api_key is not None else [])],
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    saved_home = os.environ.get("ASSISTANT_HOME")
    try:
        if home is not None:
            os.environ["ASSISTANT_HOME"] = str(home)
        deadline = time.monotonic() + timeout_s
        base = ""
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}")
            if not base:
                port = _bound_port(log_path)
                base = f"http://127.0.0.1:{port}" if port else ""
            try:
                if not base:
                    raise OSError("not listening yet")
                req = urllib.request.Request(f"{base}/v1/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start within {timeout_s:g} s")
            time.sleep(0.3)
        if home is not None:
            _restore_home(saved_home)
        yield LlamaServer(f"{base}/v1", proc, log_path)
    finally:
        if home is not None:
            _restore_home(saved_home)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
