"""`assistant models pull NAME_OR_REPO[:QUANT]`: the window's download code from the terminal.

NAME is a catalog model (its id or name: the quant it recommends, Q4_K_M, when none is
given; its vision projector too, when the catalog names one). ORG/REPO is a Hub repo,
with `:QUANT` or `:FILE.gguf`; without one, Q4_K_M when the repo has it, else the
largest quant that fits this computer (the wizard's rule for catalog models).

The download runs on the window's DownloadQueue (download.py: ranged GETs into
models/.downloads, SHA-256 checked, moved into the library when whole). Ctrl-C pauses it:
the partial stays, and the same command resumes from where it stopped.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from assistant import network
from assistant.cli.output import Progress, confirm, print_json
from assistant.core.units import format_bytes
from assistant.errors import AssistantError, NetworkBlockedError, RepoNotFoundError
from assistant.library.catalog import (
    DEFAULT_QUANT,
    CatalogEntry,
    embedding_models,
    license_restrictions,
    load_catalog,
    offered,
)
from assistant.library.download import DOWNLOAD_PURPOSE, Downloader, DownloadRequest
from assistant.library.download_queue import DownloadQueue
from assistant.library.download_support import DownloadProgress, safe_path
from assistant.library.hub import HubClient, HubQuant
from assistant.library.hub_access import endpoint_from_setting, stored_token
from assistant.paths import Paths
from assistant.settings import Settings

OFFLINE_HINT = "Turn Offline mode off in the app (Settings → Privacy), or copy a .gguf file into the models folder."


@dataclass(frozen=True)
class Plan:
    request: DownloadRequest
    title: str  # what the user asked for, in words
    size: int  # bytes, when known (0: not known before the download asks)
    license_name: str
    restrictions: tuple[str, ...]
    kind: str = "chat"  # "embedding": goes into the documents' embedding models folder


def refuse_offline(what: str) -> None:
    if network.is_offline():
        raise NetworkBlockedError(f"Offline mode is on, so `assistant models {what}` does not reach Hugging Face.",
                                  OFFLINE_HINT)


def _entries() -> list[CatalogEntry]:
    """Chat models and embedding models (Documents'), all that this llama.cpp build runs."""
    return offered(load_catalog()) + offered(embedding_models())


def find_catalog(name: str) -> CatalogEntry | None:
    wanted = name.strip().lower()
    for e in _entries():
        if wanted in (e.id.lower(), e.name.lower()):
            return e
    return None


def models_dir_for(plan: Plan, paths: Paths) -> Path:
    """Embedding models live apart from chat models (documents/models), so chat never lists them."""
    if plan.kind == "embedding":
        from assistant.documents.service import embedding_models_dir

        return embedding_models_dir(paths)
    return paths.models_dir


def split_spec(spec: str) -> tuple[str, str | None]:
    name, _, quant = spec.strip().partition(":")
    return name.strip(), (quant.strip() or None)


def plan_pull(spec: str, settings: Settings, hub: HubClient, *, projector: bool = True) -> Plan:
    name, quant = split_spec(spec)
    entry = find_catalog(name) if "/" not in name else None
    if entry is None and "/" in name:
        entry = next((e for e in _entries() if e.gguf_repo.lower() == name.lower()), None)
        if entry is not None and quant and quant.lower().endswith(".gguf"):
            entry = None  # a file named by hand: the Hub's listing decides
    if entry is not None:
        return _catalog_plan(entry, quant, projector)
    if "/" not in name:
        raise RepoNotFoundError(f"No model in the catalog is called {name!r}.",
                                "`assistant models search WORDS` lists them; a Hugging Face repo looks like org/name.")
    return _hub_plan(name, quant, settings, hub, projector)


def _catalog_plan(entry: CatalogEntry, quant: str | None, projector: bool) -> Plan:
    file = entry.file(quant) if quant else entry.default_file()
    if file is None:
        quants = ", ".join(f.quant for f in entry.files)
        raise RepoNotFoundError(f"{entry.name} has no {quant} version.", f"Choose one of: {quants}.")
    names = entry.download_files(file, projector)  # a vision model's image reader beside the weights
    size = file.size_bytes
    if len(names) > len(file.filenames) and entry.projector is not None:
        size += entry.projector.size_bytes
    req = DownloadRequest(entry.gguf_repo, names, catalog_id=entry.id, license_id=entry.license_id,
                          license_name=entry.license_name, quant=file.quant)
    return Plan(req, f"{entry.name} {file.quant}", size, entry.license_name, entry.restrictions, entry.kind)


def _hub_plan(repo_id: str, quant: str | None, settings: Settings, hub: HubClient, projector: bool = True) -> Plan:
    quants = hub.quants(repo_id)
    if not projector:
        quants = [replace(q, projector=None) for q in quants]
    if not quants:
        raise RepoNotFoundError(f"{repo_id} holds no GGUF or MLX model files.", "Pick another repository.")
    chosen = _pick(quants, quant, settings) if quant else _default_quant(quants, settings)
    if chosen is None:
        listed = ", ".join(q.quant or q.files[0].filename for q in quants)
        raise RepoNotFoundError(f"{repo_id} has no {quant} version.", f"Choose one of: {listed}.")
    lic = hub.repo_license(repo_id)
    fmt = "gguf" if chosen.files[0].filename.lower().endswith(".gguf") else "mlx"
    req = DownloadRequest(repo_id, chosen.download_files, license_id=lic, quant=chosen.quant, format=fmt)
    return Plan(req, f"{repo_id} {chosen.quant or chosen.files[0].filename}", chosen.total_size, lic or "not stated",
                license_restrictions(lic))


def _pick(quants: list[HubQuant], wanted: str, settings: Settings) -> HubQuant | None:
    w = wanted.lower()
    for q in quants:
        if (q.quant or "").lower() == w or any(f.filename.lower() in (w, w.rsplit("/", 1)[-1]) for f in q.files):
            return q
    return None


def _default_quant(quants: list[HubQuant], settings: Settings) -> HubQuant:
    q4 = next((q for q in quants if (q.quant or "").upper() == DEFAULT_QUANT), None)
    if q4 is not None:
        return q4
    from assistant import hardware
    from assistant.library.fit import FitLevel, estimate_fit_bytes

    hw = hardware.detect()
    fitting = [q for q in quants
               if estimate_fit_bytes(q.size, None, hw, settings.context_length).level is not FitLevel.NO_FIT]
    return max(fitting, key=lambda q: q.size) if fitting else quants[0]  # smallest first


def installed_path(downloader: Downloader, req: DownloadRequest) -> Path | None:
    """The model's path when every file of the request is already in the library."""
    final = downloader.final_dir(req.repo_id)
    paths = [safe_path(final, n) for n in req.filenames]
    if all(p.is_file() for p in paths) and (final / ".assistant-model.json").is_file():
        return final if req.format == "mlx" else paths[0]
    return None


def run_pull(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant.cli.common import EXIT_INTERRUPTED

    refuse_offline("pull")
    endpoint = endpoint_from_setting(settings.hub_endpoint)
    with network.purpose(DOWNLOAD_PURPOSE):
        hub = HubClient(endpoint, stored_token())
        plan = plan_pull(args.name, settings, hub, projector=not args.no_projector)
    downloader = Downloader(models_dir_for(plan, paths), hub=hub, token_source=stored_token)
    done = installed_path(downloader, plan.request)
    if done is not None:
        print(f"{plan.title} is already installed.", file=sys.stderr)
        _result(args, plan, done, already=True)
        return 0
    size = f" ({format_bytes(plan.size)})" if plan.size else ""
    print(f"{plan.title}{size} · licence: {plan.license_name}", file=sys.stderr)
    if plan.restrictions:
        for r in plan.restrictions:
            print(f"  - {r}", file=sys.stderr)
        confirm("Accept this licence and download?", yes=args.yes, what="the licence")
    partial = downloader.partial_bytes(plan.request)
    if partial:
        print(f"Resuming: {format_bytes(partial)} already downloaded.", file=sys.stderr)
    outcome = _download(downloader, plan, tty=None if not args.plain else False)
    if outcome.state == "paused":
        print(f"Paused: {format_bytes(outcome.bytes_done)} of {format_bytes(outcome.bytes_total)} is kept. "
              f"Run `assistant models pull {args.name}` again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    if outcome.state != "done" or outcome.result_path is None:
        err = outcome.error
        if isinstance(err, AssistantError):
            raise err
        raise AssistantError(outcome.message or "The download failed.", "Try again: what was downloaded is kept.")
    _result(args, plan, outcome.result_path, already=False)
    return 0


def _result(args: argparse.Namespace, plan: Plan, path: Path, *, already: bool) -> None:
    from assistant.library.installed import model_ref_for_path

    name = model_ref_for_path(path).display_name  # the name `list`, `ask --model` and `rm` take
    if args.json:
        print_json({"model": name, "path": str(path), "kind": plan.kind,
                    "repo": plan.request.repo_id, "quant": plan.request.quant, "files": plan.request.filenames,
                    "license": plan.license_name, "already_installed": already})
    else:
        print(f"Installed {plan.title}: {path}")
        if plan.kind == "embedding":
            print("Documents use it to search by meaning (`assistant docs model` shows the one in use).",
                  file=sys.stderr)
        else:
            print(f"Use it with: assistant ask --model {name} \"...\"", file=sys.stderr)


def _download(downloader: Downloader, plan: Plan, *, tty: bool | None) -> DownloadProgress:
    """Runs the request on a DownloadQueue; Ctrl-C pauses it. The last progress seen."""
    bar = Progress(plan.title, tty=tty)
    last: list[DownloadProgress] = []
    over = threading.Event()

    def on_progress(p: DownloadProgress) -> None:
        last[:] = [p]
        if p.state in ("downloading", "verifying", "checking") and p.bytes_total:
            bar.update(p.bytes_done, p.bytes_total, p.speed_bps, p.eta_s)
        if p.message and p.state not in ("queued", "failed"):  # a failure is said once, as the error
            bar.message(p.message)
        if p.state in ("done", "failed", "cancelled", "paused"):
            over.set()

    queue = DownloadQueue(downloader.models_dir, on_progress, downloader=downloader)
    dl_id = queue.enqueue(plan.request)
    previous = None
    presses: list[int] = []

    def on_ctrl_c(_sig: int, _frame: object) -> None:
        presses.append(1)
        if len(presses) > 1:  # a second Ctrl-C does not wait for the pause
            raise KeyboardInterrupt
        queue.pause(dl_id)  # the partial stays

    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        while not over.wait(0.2):
            pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        bar.close()
        queue.shutdown()
    return last[-1]
