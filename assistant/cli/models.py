"""`assistant models`: the model library from the terminal (search, pull, list, rm, ps, unload).

The same Qt-free library code as the window (assistant/library/); pull is in
models_pull.py. Listings print a table, or JSON with --json; errors go to stderr with
the exit codes of cli/common.py. The network record marks these requests as the
terminal's (network.set_origin).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from assistant.cli.common import EXIT_NOT_FOUND
from assistant.cli.output import confirm, print_json, print_table
from assistant.core.units import format_bytes
from assistant.errors import AssistantError, ModelNotFoundError
from assistant.paths import Paths
from assistant.settings import Settings

STATUS_PURPOSE = "API server status"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("models", help="find, download, list, delete and unload models")
    msub = p.add_subparsers(dest="models_command", required=True)

    s = msub.add_parser("search", help="the catalog, then Hugging Face: licence, size, fit and speed here")
    s.add_argument("query", nargs="*", help="words to look for (none: the whole catalog)")
    s.add_argument("--limit", type=int, default=8, help="Hugging Face repositories to show (default 8)")
    s.add_argument("--catalog", action="store_true", help="the built-in catalog only (works offline)")
    s.add_argument("--json", action="store_true", help="print JSON")

    pull = msub.add_parser("pull", help="download a model (Ctrl-C pauses; the same command resumes)")
    pull.add_argument("name", metavar="NAME_OR_REPO[:QUANT]",
                      help="a catalog model (gemma-3-1b) or a Hugging Face repo (org/name), with :QUANT or :FILE.gguf")
    pull.add_argument("--yes", action="store_true", help="accept the licence without asking")
    pull.add_argument("--no-projector", action="store_true", help="leave out a vision model's projector file")
    pull.add_argument("--plain", action="store_true", help="progress as plain lines, even on a terminal")
    pull.add_argument("--json", action="store_true", help="end with a JSON description of the model")

    ls = msub.add_parser("list", aliases=["ls"], help="installed models: size, quant, licence, last use, origin")
    ls.add_argument("--json", action="store_true", help="print JSON")

    rm = msub.add_parser("rm", help="delete an installed model (asks first)")
    rm.add_argument("name", help="the model's name, as `assistant models list` shows it")
    rm.add_argument("--yes", action="store_true", help="delete without asking")

    for name, text in (("ps", "models the window or `assistant serve` has loaded now"),
                       ("unload", "unload a model the server loaded")):
        c = msub.add_parser(name, help=text)
        if name == "unload":
            c.add_argument("name", help="the loaded model's name, as `assistant models ps` shows it")
        c.add_argument("--url", help="the API server (default: http://127.0.0.1:PORT of Settings → Server)")
        c.add_argument("--token", help="its token (default: the one in the keyring)")
        if name == "ps":
            c.add_argument("--json", action="store_true", help="print JSON")


def run_models(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant.cli.models_pull import run_pull

    cmd = args.models_command
    if cmd == "search":
        return run_search(args, paths, settings)
    if cmd == "pull":
        return run_pull(args, paths, settings)
    if cmd in ("list", "ls"):
        return run_list(args, paths, settings)
    if cmd == "rm":
        return run_rm(args, paths, settings)
    if cmd == "ps":
        return run_ps(args, settings)
    if cmd == "unload":
        return run_unload(args, settings)
    raise SystemExit(f"unknown models command {cmd}")


# ---------------------------------------------------------------- search

def run_search(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant import hardware
    from assistant.cli.models_pull import refuse_offline
    from assistant.library.catalog import embedding_models, load_catalog, offered
    from assistant.library.fit import estimate_fit
    from assistant.library.speed import load_calibration

    if not args.catalog:
        refuse_offline("search")
    query = " ".join(args.query).strip().lower()
    hw = hardware.detect()
    cal = load_calibration(paths.data_dir, hw)
    rows: list[dict[str, Any]] = []
    for e in offered(load_catalog()):
        text = " ".join((e.id, e.name, e.family, e.summary, *e.strengths)).lower()
        if query and not all(w in text for w in query.split()):
            continue
        f = e.default_file()
        fit = estimate_fit(e, f, hw, settings.context_length, calibration=cal)
        rows.append(_row("catalog", e.id, f.quant, f.size_bytes, e.license_name, e.restrictions, fit))
    for e in offered(embedding_models()):  # listed, never as a chat model: for Documents
        text = " ".join((e.id, e.name, e.family, e.summary, *e.strengths, "embedding")).lower()
        if query and not all(w in text for w in query.split()):
            continue
        f = e.default_file()
        rows.append({**_row("catalog", e.id, f.quant, f.size_bytes, e.license_name, e.restrictions, None),
                     "kind": "embedding", "fit": "for Documents"})
    if not args.catalog:
        rows += _hub_rows(query, args.limit, settings, hw, cal)
    if args.json:
        print_json(rows)
    elif not rows:
        print("Nothing found: try other words.", file=sys.stderr)
    else:
        print_table(("SOURCE", "NAME", "QUANT", "SIZE", "LICENCE", "HERE"),
                    [(r["source"], r["name"], r["quant"] or "", format_bytes(r["size_bytes"]) if r["size_bytes"] else "?",
                      r["license"] + (" (limits)" if r["restrictions"] else ""), r["fit"]) for r in rows])
        print("Pull one with: assistant models pull NAME[:QUANT]", file=sys.stderr)
    return 0 if rows else EXIT_NOT_FOUND


def _row(source: str, name: str, quant: str | None, size: int, lic: str, restrictions: tuple[str, ...],
         fit: Any) -> dict[str, Any]:
    speed = fit.speed.tokens_per_s if fit is not None and fit.speed is not None else None
    return {"source": source, "name": name, "kind": "chat", "quant": quant, "size_bytes": size, "license": lic,
            "restrictions": list(restrictions), "fit": fit.label_with_speed if fit is not None else "?",
            "fits": fit.fits if fit is not None else None,
            "tokens_per_s": round(speed, 1) if speed else None}


def _hub_rows(query: str, limit: int, settings: Settings, hw: Any, cal: Any) -> list[dict[str, Any]]:
    from assistant.library.catalog import license_restrictions
    from assistant.library.fit import estimate_fit_bytes
    from assistant.library.hub import HubClient
    from assistant.library.hub_access import endpoint_from_setting, stored_token

    hub = HubClient(endpoint_from_setting(settings.hub_endpoint), stored_token())
    rows = []
    for repo in hub.search(query, limit=max(0, limit)) if limit > 0 else []:
        lic = repo.license_id or "not stated"
        try:
            quants = hub.quants(repo.repo_id)
        except AssistantError:
            quants = []  # the repo's files could not be listed: shown without a size
        q = next((q for q in quants if (q.quant or "").upper() == "Q4_K_M"), quants[0] if quants else None)
        fit = estimate_fit_bytes(q.size, None, hw, settings.context_length, calibration=cal) if q else None
        rows.append(_row("hub", repo.repo_id, q.quant if q else None, q.size if q else 0, lic,
                         license_restrictions(repo.license_id), fit))
    return rows


# ---------------------------------------------------------------- list and rm

def _installed(paths: Paths, settings: Settings) -> list[Any]:
    """Chat models, then the documents' embedding models (kind "embedding", a folder of their own)."""
    from assistant.documents.service import embedding_models_dir
    from assistant.library.installed import list_installed
    from assistant.library.usage import load_usage, usage_path

    usage = load_usage(usage_path(paths.data_dir))
    return list_installed(paths.models_dir, settings.extra_models, usage) + \
        list_installed(embedding_models_dir(paths), (), usage)


def _kind(m: Any, paths: Paths) -> str:
    from assistant.documents.service import embedding_models_dir

    return "embedding" if m.path.absolute().is_relative_to(embedding_models_dir(paths).absolute()) else "chat"


def _root(m: Any, paths: Paths) -> Any:
    from assistant.documents.service import embedding_models_dir

    return embedding_models_dir(paths) if _kind(m, paths) == "embedding" else paths.models_dir


def _origin(m: Any) -> str:
    if m.catalog_id:
        return f"catalog {m.catalog_id} ({m.repo_id})"
    if m.repo_id:
        return f"hub {m.repo_id}"
    return "added by hand" if m.in_models_dir else "file elsewhere"


def run_list(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant.library.usage import describe_last_used

    models = _installed(paths, settings)
    if args.json:
        print_json([{"name": m.name, "kind": _kind(m, paths), "path": str(m.path), "format": m.format,
                     "size_bytes": m.size_bytes,
                     "quant": m.quant, "license": m.license, "repo": m.repo_id, "catalog_id": m.catalog_id,
                     "origin": _origin(m), "last_used": m.last_used.isoformat() if m.last_used else None}
                    for m in models])
        return 0
    if not models:
        print(f"No model is installed in {paths.models_dir}. Get one with `assistant models pull NAME`.",
              file=sys.stderr)
        return 0
    print_table(("NAME", "KIND", "SIZE", "QUANT", "LICENCE", "LAST USED", "FROM"),
                [(m.name, _kind(m, paths), format_bytes(m.size_bytes), m.quant or "?", m.license or "?",
                  describe_last_used(m.last_used), _origin(m)) for m in models])
    if any(_kind(m, paths) == "embedding" for m in models):
        print("Embedding models are for Documents: chat does not use them.", file=sys.stderr)
    return 0


def find_installed(name: str, paths: Paths, settings: Settings) -> Any:
    models = _installed(paths, settings)
    wanted = name.strip().lower().removesuffix(".gguf")
    for m in models:
        if wanted in (m.name.lower(), m.path.name.lower().removesuffix(".gguf"), str(m.path).lower()):
            return m
    names = ", ".join(m.name for m in models) or "none yet"
    raise ModelNotFoundError(f"No installed model is called '{name}'. Installed: {names}.",
                             "`assistant models list` shows the names.")


def run_rm(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant.library.installed import delete_model, freed_bytes
    from assistant.library.usage import forget, usage_path

    m = find_installed(args.name, paths, settings)
    note = " Documents need an embedding model to be searched by meaning." if _kind(m, paths) == "embedding" else ""
    confirm(f"Delete {m.name} ({format_bytes(freed_bytes(m))}, {m.path})?{note}", yes=args.yes, what="the deletion")
    freed = delete_model(m, _root(m, paths))
    forget(usage_path(paths.data_dir), m.path)
    print(f"Deleted {m.name}: {format_bytes(freed)} freed.")
    return 0


# ---------------------------------------------------------------- ps and unload

def _server(args: argparse.Namespace, settings: Settings) -> tuple[str, str]:
    from assistant import keys
    from assistant.server import auth

    url = (args.url or f"http://127.0.0.1:{settings.server.port}").rstrip("/").removesuffix("/v1")  # as serve prints it
    token = args.token or keys.get_key(auth.KEY_ID)
    if not token:
        raise AssistantError("The API server's token is not in the keyring.",
                             "Pass --token, the one `assistant serve` was started with.")
    return url, token


def _call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    import httpx2

    from assistant import network
    from assistant.errors import NetworkBlockedError

    try:
        with network.httpx_client(STATUS_PURPOSE, httpx_module=httpx2, timeout=10.0) as client:
            resp = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    except NetworkBlockedError:
        raise
    except httpx2.TransportError as exc:
        raise NetworkBlockedError(f"No API server answers at {url.rsplit('/assistant', 1)[0]} "
                                  f"({network.describe_failure(exc)}).",
                                  "Start one with `assistant serve`, or turn the server on in the window "
                                  "(Settings → Server); --url names another.") from exc
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code == 401:
        raise AssistantError("The API server refused the token (HTTP 401).",
                             "Pass the token it was started with: --token, or `assistant serve --show-token`.")
    if resp.status_code == 404:
        err = (data.get("error") or {}) if isinstance(data, dict) else {}
        if "hint" in err:
            raise ModelNotFoundError(err.get("message", "Not loaded."), err.get("hint", ""))
        raise AssistantError("That server has no /assistant/ps: it is not this app's API server, or an older one.",
                             "Check --url.")
    if resp.status_code >= 400:
        err = (data.get("error") or {}) if isinstance(data, dict) else {}
        raise AssistantError(err.get("message") or f"The API server answered HTTP {resp.status_code}.",
                             err.get("hint", ""))
    return data


def run_ps(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _server(args, settings)
    data = _call("GET", f"{url}/assistant/ps", token)
    if args.json:
        print_json(data)
        return 0
    models = data.get("models") or []
    if not models:
        print("No model is loaded.", file=sys.stderr)
        return 0
    rows = []
    for m in models:
        left = m.get("idle_unload_in_s")
        idle = "kept loaded" if left is None else f"unloads in {left / 60:.1f} min" if left >= 60 else f"unloads in {left:.0f} s"
        mem = m.get("memory_bytes")
        rows.append((m["name"], format_bytes(mem) if mem else "?", ", ".join(m.get("kept_by") or []) or "requests",
                     m.get("requests", 0), idle))
    print_table(("NAME", "MEMORY", "KEPT BY", "ANSWERING", "IDLE"), rows)
    print(f"Slots: {data.get('slots_busy', 0)} of {data.get('slots', 0)} busy, {data.get('queued', 0)} waiting.",
          file=sys.stderr)
    return 0


def run_unload(args: argparse.Namespace, settings: Settings) -> int:
    url, token = _server(args, settings)
    data = _call("POST", f"{url}/assistant/unload", token, {"model": args.name})
    print(f"Unloaded {data.get('unloaded', args.name)}.")
    return 0
