"""What the server has loaded, and unloading one: `assistant models ps` and `unload`.

GET  /assistant/ps      -> {"models": [{name, path, kept_by, requests, memory_bytes,
                            idle_unload_in_s}], "slots", "slots_busy", "queued"}
POST /assistant/unload  {"model": NAME} -> {"unloaded": NAME}; 404 when not loaded,
                            409 while it answers or the window's chat holds it.

The server is shared with the window's chat (engines/shared.py), so this lists the
window's model too. Both need the server's token like every path but /health.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from assistant.errors import EngineError, ModelNotFoundError
from assistant.server.models import PINNED, ModelHost

HOLDER_WORDS = {PINNED: "server (--model)"}


def _memory(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # noqa: BLE001 - the process just ended, or no access: unknown
        return None


async def ps(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    rows: list[dict[str, Any]] = []
    for m in host.loaded_models():
        kept = [HOLDER_WORDS.get(h, "window") for h in m.holders]
        rows.append({"name": m.model.display_name, "path": str(m.model.path), "kept_by": kept,
                     "requests": m.requests, "memory_bytes": _memory(m.pid),
                     "idle_unload_in_s": None if m.idle_unload_in_s is None else round(m.idle_unload_in_s, 1)})
    running, waiting = host.busy
    return JSONResponse({"models": rows, "slots": host.slots, "slots_busy": running, "queued": waiting})


async def unload(request: Request) -> Response:
    host: ModelHost = request.app.state.host
    try:
        body = json.loads(await request.body() or b"{}")
        name = str(body.get("model") or "") if isinstance(body, dict) else ""
    except ValueError:
        name = ""
    if not name:
        return JSONResponse({"error": {"message": "Name the model: {\"model\": NAME}."}}, status_code=400)
    try:
        ref = host.unload(name)
    except ModelNotFoundError as exc:
        return JSONResponse({"error": {"message": exc.message, "hint": exc.hint}}, status_code=404)
    except EngineError as exc:
        return JSONResponse({"error": {"message": exc.message, "hint": exc.hint}}, status_code=409)
    return JSONResponse({"unloaded": ref.display_name})
