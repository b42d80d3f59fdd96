"""The terminal commands: ask, chat, doctor. Plain Python, no Qt."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from assistant import cli_checks, network
from assistant.chat.dispatch import SendPolicy, run_cloud_turn
from assistant.chat.store import ChatStore
from assistant.chat.turn import TurnResult, run_turn
from assistant.cli_cloud import choose_target
from assistant.cli_serve import run_serve
from assistant.core.types import GenParams, ModelRef
from assistant.doctor import run_doctor
from assistant.engines.base import Engine
from assistant.engines.factory import prepare
from assistant.engines.private import ref_from_spec
from assistant.errors import AssistantError, ModelNotFoundError
from assistant.library.installed import installed_models, resolve_model
from assistant.logs import setup_logging
from assistant.paths import Paths, get_paths
from assistant.settings import Settings, load_settings

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def run(args: argparse.Namespace) -> int:
    paths = get_paths().ensure()
    setup_logging(paths.log_file, verbose=args.verbose)
    loaded = load_settings(paths.settings_file)
    if loaded.warning:
        print(f"Warning: {loaded.warning}", file=sys.stderr)
    settings = loaded.settings
    network.set_offline(settings.offline_mode)  # the app's Offline mode holds in the terminal too
    try:
        if args.command in ("ask", "chat"):
            cli_checks.check_args(args)
        if args.command == "doctor":
            return run_doctor(paths, settings, model=args.model, as_json=args.json,
                              reset_safe_mode=getattr(args, "reset_safe_mode", False))
        if args.command == "ask":
            return _ask(args, paths, settings)
        if args.command == "chat":
            return _chat(args, paths, settings)
        if args.command == "serve":
            return run_serve(args, paths, settings)
    except AssistantError as exc:
        log.warning("%s", exc.message)
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    raise SystemExit(f"unknown command {args.command}")


# -- shared ---------------------------------------------------------------------
def _pick_model(spec: str | None, paths: Paths, settings: Settings) -> ModelRef:
    spec = spec or settings.default_model
    if spec:
        # SERVER:MODEL: a model on one of your own servers (Settings → Your servers)
        return ref_from_spec(spec, settings) or resolve_model(spec, paths.models_dir)
    installed = installed_models(paths.models_dir)
    if len(installed) == 1:
        return installed[0]
    if not installed:
        raise ModelNotFoundError(
            "No model is installed yet.",
            f"Pass --model PATH_TO.gguf, put a .gguf file in {paths.models_dir}, or start the app to download one.",
        )
    names = ", ".join(m.name for m in installed)
    raise ModelNotFoundError(f"Several models are installed ({names}).", "Choose one with --model NAME.")


def _apply_overrides(args: argparse.Namespace, settings: Settings) -> GenParams:
    if args.ctx:
        settings.context_length = args.ctx
    given = (("max_tokens", args.max_tokens), ("temperature", args.temperature), ("seed", args.seed))
    overrides = {k: v for k, v in given if v is not None}
    return dataclasses.replace(settings.generation, **overrides)


def _load(model: ModelRef, settings: Settings) -> Engine:
    engine, options, plan = prepare(model, settings)
    log.info("plan for %s: %s", model.path, plan.reason)
    print(f"Loading {model.display_name} ({plan.backend})...", file=sys.stderr, flush=True)
    engine.load(model, options)
    return engine


@contextmanager
def _ctrl_c_stops(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C stops the answer cleanly (the partial text is kept); a second one quits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig: int, _frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_thinking(text: str) -> None:
    """A reasoning model's thinking goes to stderr: a pipe gets the answer only."""
    sys.stderr.write(text)
    sys.stderr.flush()


def _print_text(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# -- ask ------------------------------------------------------------------------
def _ask(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    prompt = " ".join(args.prompt)
    if prompt == "-":
        prompt = cli_checks.read_stdin()
    if not prompt.strip():
        print("Error: the prompt is empty.", file=sys.stderr)
        return EXIT_ERROR
    params = _apply_overrides(args, settings)
    system = args.system if args.system is not None else settings.system_prompt
    cancel = threading.Event()
    with ChatStore.open(paths.history_db if not args.no_history else _memory_db()) as store:
        policy = SendPolicy(store, settings)
        model = None if args.cloud else _pick_model(args.model, paths, settings)
        # before anything is stored: a refused --cloud says why (choose_target raises) and stops
        target = choose_target(policy, prompt, 0, model, explicit_cloud=args.cloud, mode=args.route, yes=args.yes)
        name = model.display_name if model is not None and target == "local" else settings.cloud.model
        conv = store.create_conversation(title=_title(prompt), system_prompt=system, model=name)
        if target == "cloud":
            with _ctrl_c_stops(cancel):
                result = run_cloud_turn(store, replace(settings.cloud), conv.id, user_text=prompt, system_prompt=system,
                                        params=params, cancel=cancel, on_text=_print_text, config_dir=paths.config_dir,
                                        on_thinking=_print_thinking)
            print()
            return _report(result, "cloud", settings.cloud.provider, name, as_json=args.json)
        assert model is not None
        engine = _load(model, settings)
        try:
            with _ctrl_c_stops(cancel):
                result = run_turn(
                    store, engine, conv.id, system_prompt=system, params=params, cancel=cancel,
                    model_name=model.display_name, user_text=prompt, on_text=_print_text, on_thinking=_print_thinking,
                )
        finally:
            engine.unload()
    print()
    return _report(result, engine.name, engine.backend, model.display_name, as_json=args.json)


def _memory_db():  # type: ignore[no-untyped-def]
    return Path(":memory:")


def _title(prompt: str) -> str:
    line = prompt.strip().splitlines()[0] if prompt.strip() else "New chat"
    return line[:60] + ("…" if len(line) > 60 else "")


def _report(result: TurnResult, engine: str, backend: str, model: str, *, as_json: bool) -> int:
    if result.error is not None:
        print(f"Error: {result.error}", file=sys.stderr)
        return EXIT_ERROR
    if result.status == "stopped":
        print("[stopped: the partial answer was kept]", file=sys.stderr)
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


# -- chat -----------------------------------------------------------------------
CHAT_HELP = "Type a message and press Enter. Ctrl-C stops an answer; /new starts a new chat; /quit or Ctrl-D leaves."


def _chat(args: argparse.Namespace, paths: Paths, settings: Settings) -> int:
    params = _apply_overrides(args, settings)
    model = _pick_model(args.model, paths, settings)
    system = args.system if args.system is not None else settings.system_prompt
    engine = _load(model, settings)
    with ChatStore.open(paths.history_db) as store:
        policy = SendPolicy(store, settings)
        if args.conversation:
            conv = store.get_conversation(args.conversation)
            if conv is None:
                raise AssistantError(f"No conversation with id {args.conversation}.")
            for m in store.messages(conv.id):
                print(f"{'you' if m.role == 'user' else 'assistant'}> {m.content}")
        else:
            conv = None
        print(f"Chatting with {model.display_name}. {CHAT_HELP}", file=sys.stderr)
        cli_checks.tolerant_stdin()
        while True:
            try:
                text = cli_checks.clean_text(input("you> "), "message")
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if not text.strip():
                continue
            if text.strip() in ("/quit", "/exit"):
                break
            if text.strip() == "/new":
                conv = None
                print("(new chat)", file=sys.stderr)
                continue
            if conv is None:
                conv = store.create_conversation(title=_title(text), system_prompt=system, model=model.display_name)
            cancel = threading.Event()
            target = choose_target(policy, text, conv.id, model, explicit_cloud=False, mode=args.route, yes=args.yes)
            sys.stdout.write("assistant> " if target == "local" else f"{settings.cloud.model}> ")
            with _ctrl_c_stops(cancel):
                if target == "cloud":
                    result = run_cloud_turn(store, replace(settings.cloud), conv.id, user_text=text, system_prompt=system,
                                            params=params, cancel=cancel, on_text=_print_text, config_dir=paths.config_dir,
                                        on_thinking=_print_thinking)
                else:
                    result = run_turn(
                        store, engine, conv.id, system_prompt=system, params=params, cancel=cancel,
                        model_name=model.display_name, user_text=text, on_text=_print_text, on_thinking=_print_thinking,
                    )
            print()
            if result.error is not None:
                print(f"Error: {result.error}", file=sys.stderr)
            elif result.status == "stopped":
                print("[stopped]", file=sys.stderr)
    engine.unload()
    return 0
