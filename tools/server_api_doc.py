"""Writes docs/server-api.md from the API server's request models (what each field does).

    python tools/server_api_doc.py > docs/server-api.md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.server.anthropic_protocol import CountTokensRequest, MessagesRequest  # noqa: E402
from assistant.server.protocol import ChatCompletionRequest, CompletionRequest  # noqa: E402

HEAD = """# The local API server: what each request field does

Generated from the request models (`assistant/server/protocol.py`,
`assistant/server/anthropic_protocol.py`) by `tools/server_api_doc.py`;
`tests/server/test_protocol.py` checks that this page and the models agree, and that every
parameter of the official `openai` and `anthropic` SDKs is listed. A field not listed is
refused with a 400 ("Unknown field").

- **honoured**: it changes the answer as the API documents.
- **ignored**: accepted and knowingly without effect; the reason is given.
- **refused**: any value but the neutral one (null, empty, or the default) is a 400 that says what to change.

Beyond the APIs' own fields, `top_k`, `min_p` and `repeat_penalty` (llama.cpp's samplers, as
llama-server and vLLM take them) are honoured; OpenAI's penalties work over the last 64
tokens, as in llama-server. Log-probabilities come from the raw logits (before the sampler
chain), as llama-server reports them. `n` answers run side by side, each in its own slot,
with seed + i when a seed is given.

Structured output: `response_format` `{"type": "json_object"}` (any JSON object) and
`{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}` (on `/v1/completions`
too, as llama-server takes it), and Anthropic's `output_config` `{"format": {"type":
"json_schema", "schema": {...}}}`, hold the answer to a grammar (llama.cpp's grammar sampler;
the schema becomes GBNF with llama.cpp's own converter). An answer that ends with "stop"
parses and validates; one cut at `max_tokens` says "length" (`max_tokens` in Anthropic's
`stop_reason`). A schema keyword the grammar cannot hold (`minimum`, `multipleOf`, `not`,
formats other than date / time / date-time / uuid...) is a 400 that names it; `oneOf` is
held as `anyOf`. Only GGUF models (llama.cpp) hold a grammar: for an MLX model or a model on
another server the request is a 400, never answered in free text.

Function calling: OpenAI `tools` (function tools), `tool_choice` (auto / none / required /
a named function), `parallel_tool_calls`, assistant `tool_calls` and `tool` messages in
history; Anthropic `tools`, `tool_choice` (auto / any / tool / none,
`disable_parallel_tool_use`), `tool_use` and `tool_result` blocks. The tools reach the
model's own chat template and its calls are read back in its own format (Qwen/Hermes,
Llama 3, Mistral, gpt-oss, DeepSeek, Command R7B, Granite, Phi-4-mini, Kimi K2, GLM, Gemma;
a template that knows no tools gets them in the system prompt and answers with
`{"tool_calls": [...]}`). A call is held to the tool's JSON Schema by a lazy grammar from
the moment it begins (auto), or from the first token (required, a named function), so its
arguments parse. Calls come whole: a streamed call is one `delta.tool_calls` entry (id,
name, arguments) in OpenAI's shape, and a `tool_use` block with one `input_json_delta` in
Anthropic's, and the finish reason is `tool_calls` / `tool_use`. A call the model began but
did not finish (cut at `max_tokens`) comes back as text. Other tool kinds (OpenAI's custom
and built-in tools, Anthropic's server tools), a tool_choice that names no tool, tools with
a response format, and a forced call on an MLX model are 400s that say what to change.

Images: OpenAI `image_url` parts (`{"type": "image_url", "image_url": {"url": ...}}`, `detail`
ignored) and Anthropic `image` blocks (`source` `{"type": "base64", "media_type", "data"}` or
`{"type": "url", "url"}`) in user messages. The URL is a `data:` URL with base64, or an
http(s) URL that the app fetches itself while it is online (recorded in the network record as
"API server: image download"; in Offline mode it is a 400 that says so: send the bytes
instead). PNG, JPEG, GIF, WebP and BMP, read by their bytes (the declared media type is not
trusted), at most 50 MiB each; an animated image is used by its first frame. HEIC, AVIF,
TIFF, SVG and PDF, damaged or cut-short files, invalid base64 and images outside a user
message are 400s that say what is wrong. The images are kept for the request only (a
temporary folder, removed when the answer ends). A model sees images when a projector
(`mmproj-*.gguf`) lies beside its GGUF file (an MLX model: a `vision_config` in its
config.json); a request with images to any other model is a 400 ("“NAME” cannot see images:
it has no projector (mmproj)...").
"""

TAIL = """## Other endpoints

- `GET /v1/models`: each model with `context_length` (and `max_model_len`, vLLM's name): the
  loaded engine's window, else what loading it would give.
- `GET /health`: no token needed; `{"status": "ok", "slots": N, "slots_busy": n, "queued": q}`,
  nothing about models, paths or settings.
- Busy: past `parallel` running and `queue` waiting requests, 429 with `Retry-After` (seconds)
  in the API's own error shape. Every error is the API's JSON error body, 404 and 405 included."""


def main() -> None:
    print(HEAD)
    for title, model in (("POST /v1/chat/completions", ChatCompletionRequest), ("POST /v1/completions", CompletionRequest),
                         ("POST /v1/messages", MessagesRequest), ("POST /v1/messages/count_tokens", CountTokensRequest)):
        print(f"## {title}\n\n| field | | why / what to change |\n|---|---|---|")
        for name, f in model.model_fields.items():
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            note = extra.get("why") or extra.get("change") or ""
            print(f"| `{f.alias or name}` | {extra.get('support')} | {note} |")
        print()
    print(TAIL)


if __name__ == "__main__":
    main()
