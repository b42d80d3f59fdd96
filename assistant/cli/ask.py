"""`assistant ask`: one prompt, answered locally or by the cloud model, printed as it is written."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path

from assistant.chat.dispatch import CLI_EMBED_WAIT_S, SendPolicy, run_cloud_turn
from assistant.chat.store import ChatStore
from assistant.chat.tool_turn import run_with_tools
from assistant.chat.turn import TurnResult, run_turn
from assistant.cli import checks
from assistant.cli.cloud import choose_target
from assistant.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    apply_overrides,
    ctrl_c_stops,
    cut_off_note,
    load_engine,
    pick_model,
    print_text,
    print_thinking,
    title_from,
)
from assistant.cli.tools import session_for
from assistant.paths import Paths
from assistant.settings import Settings


def run_ask(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    prompt = " ".join(args.prompt)
    if prompt == "-":
        prompt = checks.read_stdin()
    if not prompt.strip():
        print("Error: the prompt is empty.", file=sys.stderr)
        return EXIT_ERROR
    if getattr(args, "docs", None):
        from assistant.cli.docs import run_ask_docs

        return run_ask_docs(args, prompt, paths, settings)
    params = apply_overrides(args, settings)
    system = args.system if args.system is not None else settings.system_prompt
    cancel = threading.Event()
    with ChatStore.open(paths.history_db if not args.no_history else _memory_db()) as store:
        policy = SendPolicy(store, settings, embed_wait_s=CLI_EMBED_WAIT_S)
        model = None if args.cloud else pick_model(args.model, paths, settings)
        # before anything is stored: a refused --cloud says why (choose_target raises) and stops
        target = choose_target(policy, prompt, 0, model, explicit_cloud=args.cloud, mode=args.route, yes=args.yes)
        name = model.display_name if model is not None and target == "local" else settings.cloud.model
        # --image: kept by content in the history's image store, sent with the prompt
        pictures = [store.images.add_file(p) for p in getattr(args, "image", None) or []]
        for p in pictures:
            if p.scaled_from is not None:  # what was done to it, said once on stderr
                print(f"{p.name}: {p.note}", file=sys.stderr)
        conv = store.create_conversation(title=title_from(prompt), system_prompt=system, model=name)
        if target == "cloud":
            with ctrl_c_stops(cancel):
                result = run_cloud_turn(store, replace(settings.cloud), conv.id, user_text=prompt, system_prompt=system,
                                        params=params, cancel=cancel, on_text=print_text, config_dir=paths.config_dir,
                                        on_thinking=print_thinking, user_images=pictures)
            print()
            return _report(result, "cloud", settings.cloud.provider, name, as_json=args.json)
        assert model is not None
        tools = session_for(args, paths, settings) if getattr(args, "tools", None) else None
        try:
            engine = load_engine(model, settings)
            try:
                with ctrl_c_stops(cancel):
                    turn = dict(system_prompt=system, params=params, cancel=cancel, model_name=model.display_name,
                                user_text=prompt, on_text=print_text, on_thinking=print_thinking, user_images=pictures)
                    if tools is not None:
                        result = run_with_tools(store, engine, conv.id, session=tools.session, **turn)  # type: ignore[arg-type]
                    else:
                        result = run_turn(store, engine, conv.id, **turn)  # type: ignore[arg-type]
            finally:
                engine.unload()
        finally:
            if tools is not None:
                tools.close()
        if result.chunk is not None and result.chunk.tool_error:
            print(f"\n[the model began a tool call that could not be read, shown above as text: {result.chunk.tool_error}]",
                  file=sys.stderr)
        if result.rounds_limited:
            print(f"\n[tools: stopped after {tools.session.max_rounds if tools else 0} rounds of calls; "
                  "raise it with --max-tool-rounds]", file=sys.stderr)
    print()
    return _report(result, engine.name, engine.backend, model.display_name, as_json=args.json)


def _memory_db():  # type: ignore[no-untyped-def]
    return Path(":memory:")


def _report(result: TurnResult, engine: str, backend: str, model: str, *, as_json: bool) -> int:
    if result.error is not None:
        print(f"Error: {result.error}", file=sys.stderr)
        return EXIT_ERROR
    if result.status == "stopped":
        print("[stopped: the partial answer was kept]", file=sys.stderr)
    elif note := cut_off_note(result):
        print(note, file=sys.stderr)
    if as_json:
        chunk = result.chunk
        usage, timings = (chunk.usage, chunk.timings) if chunk else (None, None)
        print(json.dumps({
            "engine": engine,
            "backend": backend,
            "model": model,
            "prompt_tokens": usage.prompt_tokens if usage else 0,
            "completion_tokens": usage.completion_tokens if usage else 0,
            "ttft_s": round(timings.ttft_s, 4) if timings else None,
            "decode_tokens_per_s": round(timings.decode_tokens_per_s(usage.completion_tokens), 2) if timings and usage else None,
            "finish_reason": chunk.finish_reason if chunk else "cancelled",
            "status": result.status,
        }))
    return EXIT_INTERRUPTED if result.status == "stopped" else 0
