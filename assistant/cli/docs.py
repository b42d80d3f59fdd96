"""`assistant docs add|list|remove|search|index|model` and `assistant ask --docs NAME`:
the user's documents from a terminal, with the same sources the window shows."""

from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import replace
from pathlib import Path

from assistant.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, ctrl_c_stops
from assistant.paths import Paths
from assistant.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("docs", help="your documents: collections to ask questions about, with sources")
    cmd = p.add_subparsers(dest="docs_command", required=True)
    add = cmd.add_parser("add", help="make a collection (or add to one) from files and folders, and index it")
    add.add_argument("name", help="the collection's name")
    add.add_argument("paths", nargs="+", type=Path, help="files and folders (folders are followed for changes)")
    add.add_argument("--never-cloud", action="store_true", help="never send excerpts of this collection to the cloud")
    add.add_argument("--no-index", action="store_true", help="only record the paths; index later with `docs index`")
    ls = cmd.add_parser("list", help="the collections, their files and what could not be read")
    ls.add_argument("--json", action="store_true", help="print the collections as JSON")
    rm = cmd.add_parser("remove", help="forget a collection (your files are not touched)")
    rm.add_argument("name")
    idx = cmd.add_parser("index", help="bring a collection up to date with its files (resumes a stopped run)")
    idx.add_argument("name")
    s = cmd.add_parser("search", help="the passages a question finds, with their keyword and vector ranks")
    s.add_argument("name", help="collection (several: a,b)")
    s.add_argument("query", nargs="+")
    s.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    s.add_argument("--mode", choices=("hybrid", "keyword", "vector"), default="hybrid")
    s.add_argument("--json", action="store_true", help="print the passages as JSON")
    m = cmd.add_parser("model", help="choose the embedding model (a GGUF file); shows the current one without a path")
    m.add_argument("path", nargs="?", type=Path)


def add_ask_args(ask: argparse.ArgumentParser) -> None:
    ask.add_argument("--docs", action="append", metavar="NAME",
                     help="answer from this document collection, with sources (repeat for several)")


def run_docs(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    from assistant.documents.service import Documents

    with Documents(paths) as docs:
        c = args.docs_command
        if c == "add":
            col = docs.add(args.name, args.paths, never_cloud=True if args.never_cloud else None)
            print(f"Collection “{col.name}”: {', '.join(str(p) for p in args.paths)} added.", file=sys.stderr)
            return 0 if args.no_index else _index(docs, col.name)
        if c == "index":
            return _index(docs, args.name)
        if c == "list":
            return _list(docs, as_json=args.json)
        if c == "remove":
            docs.remove(args.name)
            print(f"Collection “{args.name}” removed (your files were not touched).", file=sys.stderr)
            return 0
        if c == "search":
            return _search(docs, args)
        if c == "model":
            if args.path is not None:
                docs.set_embedding_model(args.path)
            path = docs.embedding_model_path()
            print(f"Embedding model: {path}")
            return 0
    return EXIT_ERROR


def _index(docs, name: str) -> int:  # type: ignore[no-untyped-def]
    cancel = threading.Event()

    tty = sys.stderr.isatty()

    def progress(p) -> None:  # type: ignore[no-untyped-def]
        if p.current and tty:  # redrawn in place on a terminal
            sys.stderr.write(f"\rIndexing {p.files_done + 1}/{p.files_total}: {p.current[:50]:<50}")
            sys.stderr.flush()
        elif p.current:  # piped: one plain line a file
            print(f"Indexing {p.files_done + 1}/{p.files_total}: {p.current}", file=sys.stderr, flush=True)

    with ctrl_c_stops(cancel):
        report = docs.sync(name, cancel=cancel, progress=progress)
    if tty:
        sys.stderr.write("\r" + " " * 80 + "\r")
    print(report.summary(), file=sys.stderr)
    for path, why in report.failed:
        print(f"  not read: {path}: {why}", file=sys.stderr)
    for path, pages in report.scanned:
        many = len(pages) > 1
        print(f"  {Path(path).name}: page{'s' if many else ''} {', '.join(map(str, pages))} "
              f"{'are scans' if many else 'is a scan'} with no text layer and {'were' if many else 'was'} not read "
              "(run OCR on the PDF to include it).", file=sys.stderr)
    for note in report.notes:
        print(f"  {note}", file=sys.stderr)
    return EXIT_INTERRUPTED if report.cancelled else 0


def _list(docs, *, as_json: bool = False) -> int:  # type: ignore[no-untyped-def]
    infos = docs.infos()
    if as_json:
        from dataclasses import asdict

        from assistant.cli.output import print_json

        out = []
        for i in infos:
            files = [{"path": f.path, "status": f.status, "note": f.note or None}
                     for f in docs.index.files(docs.collection(i.name).id)]
            out.append({**asdict(i), "file_list": files})
        print_json(out)
        return 0
    if not infos:
        print("No collections yet. Make one: assistant docs add NAME FOLDER_OR_FILES")
        return 0
    for i in infos:
        flags = " (never sent to the cloud)" if i.never_cloud else ""
        print(f"{i.name}{flags}: {i.indexed} of {i.files} files indexed, {i.chunks} passages"
              + (f", {i.failed} not read" if i.failed else "") + (f", {i.pending} to do" if i.pending else ""))
        for root in i.roots:
            print(f"  {root}")
        for f in docs.index.files(docs.collection(i.name).id):
            if f.note:
                print(f"    {Path(f.path).name}: {f.note}")
    return 0


def _search(docs, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    names = [n.strip() for n in args.name.split(",") if n.strip()]
    r = docs.search(" ".join(args.query), names, top_k=args.k, mode=args.mode)
    if args.json:
        from assistant.cli.output import print_json

        print_json({"weak": r.weak, "passages": [
            {"where": p.where, "path": p.path, "page": p.page, "line_start": p.line_start, "line_end": p.line_end,
             "keyword_rank": p.keyword_rank, "vector_rank": p.vector_rank, "vector_score": p.vector_score,
             "text": p.text} for p in r.passages]})
        return 0
    if r.weak:
        print("No passage matched well: the documents do not seem to contain this.")
    for i, p in enumerate(r.passages, start=1):
        ranks = (f"keyword #{p.keyword_rank}" if p.keyword_rank else "keyword -") + ", " + (
            f"vector #{p.vector_rank} ({p.vector_score:.2f})" if p.vector_rank else "vector -")
        print(f"[{i}] {p.where}  ({ranks})\n    {p.snippet(200)}")
    return 0


def run_ask_docs(args: argparse.Namespace, prompt: str, paths: Paths, settings: Settings) -> int:
    """`assistant ask --docs NAME "question"`: answered locally from the collection (or with
    --cloud, sending only the chosen excerpts), then its sources."""
    from assistant.chat.dispatch import CLI_EMBED_WAIT_S, SendPolicy, cloud_engine, run_cloud_turn
    from assistant.chat.store import ChatStore
    from assistant.cli.common import apply_overrides, load_engine, pick_model, print_text, title_from
    from assistant.documents.answer import NOT_FOUND, excerpt_transform, format_sources
    from assistant.documents.service import Documents
    from assistant.documents.turn import check_cloud_allowed, engine_counter, prepare, run_document_turn

    params = apply_overrides(args, settings)
    system = args.system if args.system is not None else settings.system_prompt
    names = [n for spec in args.docs for n in spec.split(",") if n.strip()]
    cancel = threading.Event()
    with Documents(paths) as docs, ChatStore.open(paths.history_db) as store:
        for n in names:
            docs.collection(n)  # an unknown name is said before a model loads
        if args.cloud:
            check_cloud_allowed(docs, names)
            policy = SendPolicy(store, settings, embed_wait_s=CLI_EMBED_WAIT_S)
            policy.check_cloud_allowed(0)
            counter = cloud_engine(settings.cloud, "preview")  # counting only: no key, no request
            ctx = prepare(docs, names, prompt, n_ctx=counter.context_length, params=params, count=engine_counter(counter))
            conv = store.create_conversation(title=title_from(prompt), system_prompt=system, model=settings.cloud.model)
            if ctx.mode == "none":
                print(NOT_FOUND)
                return 0
            print(f"Sending the question and {len(ctx.sources)} excerpt(s) to {settings.cloud.provider}.", file=sys.stderr)
            with ctrl_c_stops(cancel):
                result = run_cloud_turn(store, replace(settings.cloud), conv.id, user_text=prompt, system_prompt=system,
                                        params=params, cancel=cancel, on_text=print_text, config_dir=paths.config_dir,
                                        excerpts=excerpt_transform(ctx))
            if result.message_id:
                from assistant.documents.answer import sources_payload

                store.save_sources(result.message_id, sources_payload(ctx))
        else:
            model = pick_model(args.model, paths, settings)
            engine = load_engine(model, settings)
            conv = store.create_conversation(title=title_from(prompt), system_prompt=system, model=model.display_name)
            try:
                with ctrl_c_stops(cancel):
                    result, ctx = run_document_turn(
                        store, engine, conv.id, docs, names, prompt, system_prompt=system, params=params, cancel=cancel,
                        model_name=model.display_name, on_text=print_text,
                        on_status=lambda s: print(s, file=sys.stderr))
            finally:
                engine.unload()
    print()
    if result.error is not None:
        print(f"Error: {result.error}", file=sys.stderr)
        return EXIT_ERROR
    sources = format_sources(ctx)
    if sources:
        print(sources)
    return EXIT_INTERRUPTED if result.status == "stopped" else 0
