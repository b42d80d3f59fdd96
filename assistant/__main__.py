"""`python -m assistant` and the `assistant` command: the desktop app by default,
subcommands for use without a window."""

from __future__ import annotations

import argparse
import sys

from assistant import __version__
from assistant.cli.docs import add_ask_args as add_docs_ask_args
from assistant.cli.docs import add_parser as add_docs_parser
from assistant.cli.models import add_parser as add_models_parser
from assistant.cli.serve import add_parser as add_serve_parser
from assistant.cli.tools import add_ask_args as add_tools_ask_args
from assistant.cli.tools import add_parser as add_tools_parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assistant", description="A private AI assistant that runs on your computer.")
    p.add_argument("--version", action="version", version=f"assistant {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = p.add_subparsers(dest="command")

    ask = sub.add_parser("ask", help="answer one prompt and print it")
    ask.add_argument("prompt", nargs="+", help="the prompt (use - to read it from standard input)")
    _model_args(ask)
    ask.add_argument("--json", action="store_true", help="end with one JSON line of usage and speed")
    ask.add_argument("--no-history", action="store_true", help="do not save this exchange")
    ask.add_argument("--cloud", action="store_true", help="send this prompt to the cloud model set up in the app")
    ask.add_argument("--image", action="append", metavar="FILE",
                     help="show the model a picture (PNG, JPEG, GIF, BMP; repeat for several): a vision model's projector "
                          "must be beside it")
    _routing_args(ask)
    add_docs_ask_args(ask)
    add_tools_ask_args(ask)

    chat = sub.add_parser("chat", help="chat in the terminal; saved to the same history as the app")
    _model_args(chat)
    chat.add_argument("--conversation", type=int, help="continue a stored conversation by id")
    _routing_args(chat)

    doctor = sub.add_parser("doctor", help="what this computer has and how models will run")
    doctor.add_argument("--model", help="also show the plan for this model (path or name)")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--reset-safe-mode", action="store_true",
                        help="forget the safe-mode settings remembered after engine crashes")

    add_serve_parser(sub)
    add_docs_parser(sub)
    add_models_parser(sub)
    add_tools_parser(sub)
    sub.add_parser("gui", help="start the desktop app (the default)")
    return p


def _routing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--route", choices=("local", "ask", "auto"),
                   help="where hard prompts go: local only, ask first, or the cloud automatically (default: the app's setting)")
    p.add_argument("--yes", action="store_true",
                   help="send to the cloud without asking when the route says ask; with --tools, run tool calls without asking")


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="path to a .gguf file or MLX folder, an installed model's name, "
                                   "or SERVER:MODEL for a model on one of your own servers")
    p.add_argument("--system", help="system prompt")
    p.add_argument("--max-tokens", type=int, help="longest answer, in tokens")
    p.add_argument("--temperature", type=float, help="0 = always the likeliest word")
    p.add_argument("--ctx", type=int, help="context window in tokens")
    p.add_argument("--seed", type=int, help="fixed sampling seed: the same prompt gives the same answer")


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen app's engine processes (engines/host.py) start here
    args = build_parser().parse_args(argv)
    if args.command in (None, "gui"):
        from assistant.app import run_app

        return run_app(sys.argv[:1])
    from assistant import cli

    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
