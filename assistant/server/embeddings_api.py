"""OpenAI's /v1/embeddings on the documents' embedding model.

The model is the one Documents uses (its own engine process, started at the first request
and kept). `model` must name it (its file name without .gguf, or "embedding"); a chat
model's name is a 400 that says which name to use, any other name a 404. `input` is a
string or a list of strings; token arrays, `dimensions` other than the model's, and
encodings other than float and base64 are refused with a 400 rather than ignored.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.documents.errors import EmbeddingModelMissingError
from assistant.documents.service import Documents
from assistant.errors import AssistantError, ModelNotFoundError
from assistant.server.common import BadRequest, read_json
from assistant.server.models import ModelHost
from assistant.server.openai_api import error

ALIAS = "embedding"
MAX_INPUTS = 2048  # as OpenAI
_lock = threading.Lock()


def _docs(request: Request) -> Documents:
    with _lock:
        docs = getattr(request.app.state, "documents", None)
        if docs is None:
            docs = Documents()
            request.app.state.documents = docs
        return docs


def _inputs(body: dict[str, Any]) -> list[str]:
    raw = body.get("input")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise BadRequest("“input” must be a string or a non-empty list of strings.")
    if not all(isinstance(x, str) for x in raw):
        raise BadRequest("“input” must hold text: token arrays are not accepted here; send the text itself.")
    if len(raw) > MAX_INPUTS:
        raise BadRequest(f"“input” has {len(raw)} items; send at most {MAX_INPUTS} per request.")
    return raw


def _check_model(name: str, docs: Documents, host: ModelHost) -> str:
    path = docs.embedding_model_path()
    ours = path.stem
    if name in (ours, ALIAS, path.name):
        return ours
    if any(name in (ref.display_name, ref.path.name) for ref in host.models()):
        raise BadRequest(f"{name} is a chat model, not an embedding model.",
                         f"Send “model”: “{ours}” (or “{ALIAS}”) for embeddings.")
    raise ModelNotFoundError(f"There is no embedding model named {name or '(none)'}.",
                             f"This server embeds with “{ours}” (also called “{ALIAS}”).")


async def embeddings(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    try:
        body = await read_json(request)
        texts = _inputs(body)
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            raise BadRequest(f"“encoding_format” {fmt!r} is not supported: use “float” or “base64”.")
        docs = _docs(request)
        name = _check_model(str(body.get("model") or ""), docs, host)

        def work() -> tuple[np.ndarray, int]:
            engine = docs.embedder()
            dims = body.get("dimensions")
            if dims is not None and dims != engine.dim:
                raise BadRequest(f"“dimensions” {dims} is not possible: this model makes vectors of {engine.dim}.",
                                 "Leave “dimensions” out.")
            return engine.embed(texts), sum(engine.count_tokens(texts))

        vecs, tokens = await asyncio.to_thread(work)
    except EmbeddingModelMissingError as exc:
        return error(exc, 404)
    except AssistantError as exc:
        return error(exc)
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if fmt == "base64" else v.tolist()}
            for i, v in enumerate(vecs)]
    return JSONResponse({"object": "list", "data": data, "model": name,
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
