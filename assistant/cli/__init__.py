"""The terminal commands, one module per command group (ask, chat, serve, docs, models; doctor is
assistant/doctor.py). Plain Python, no Qt. `run` is what `assistant <command>` calls."""

from __future__ import annotations

import argparse
import logging
import sys

from assistant import network
from assistant.cli import checks
from assistant.cli.common import EXIT_INTERRUPTED, exit_code_for
from assistant.errors import AssistantError
from assistant.logs import setup_logging
from assistant.paths import get_paths, unwritable_message
from assistant.settings import load_settings

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    from assistant.cli.ask import run_ask
    from assistant.cli.chat import run_chat
    from assistant.cli.serve import run_serve
    from assistant.doctor import run_doctor

    paths = get_paths().ensure()
    setup_logging(paths.log_file, verbose=args.verbose)
    unwritable = paths.unwritable()
    if unwritable:
        print(f"Warning: {unwritable_message(unwritable)}", file=sys.stderr)
    loaded = load_settings(paths.settings_file)
    if loaded.warning:
        print(f"Warning: {loaded.warning}", file=sys.stderr)
    settings = loaded.settings
    network.set_offline(settings.offline_mode)  # the app's Offline mode holds in the terminal too
    try:
        if args.command in ("ask", "chat"):
            checks.check_args(args)
        if args.command == "doctor":
            return run_doctor(paths, settings, model=args.model, as_json=args.json,
                              reset_safe_mode=getattr(args, "reset_safe_mode", False))
        if args.command == "ask":
            return run_ask(args, paths, settings)
        if args.command == "chat":
            return run_chat(args, paths, settings)
        if args.command == "serve":
            return run_serve(args, paths, settings)
        if args.command == "docs":
            from assistant.cli.docs import run_docs

            return run_docs(args, paths, settings)
        if args.command == "tools":
            from assistant.cli.tools import run_tools

            return run_tools(args, paths, settings)
        if args.command == "models":
            from assistant.cli.models import run_models

            network.set_origin("terminal")  # the network record says these requests came from here
            return run_models(args, paths, settings)
    except AssistantError as exc:
        log.info("%s failed: %s", args.command, exc.message)  # the log file only: stderr gets it once, below
        print(f"Error: {exc}", file=sys.stderr)
        return exit_code_for(exc)  # what went wrong, in the exit code too (README)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    raise SystemExit(f"unknown command {args.command}")
