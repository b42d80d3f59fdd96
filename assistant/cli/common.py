"""What the terminal commands share: picking and loading a model, the command line's
sampling overrides, Ctrl-C that stops an answer, and where text is printed."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

from assistant.chat.turn import TurnResult
from assistant.core.types import GenParams, ModelRef
from assistant.engines.base import Engine
from assistant.engines.factory import prepare
from assistant.engines.private import ref_from_spec
from assistant.errors import AssistantError, DiskFullError, HashMismatchError, ModelNotFoundError
from assistant.library.installed import installed_models, resolve_model
from assistant.paths import Paths
from assistant.settings import Settings

log = logging.getLogger(__name__)

# exit codes scripts can rely on (README: "Models from the terminal"); argparse's usage errors are 2
EXIT_ERROR = 1
EXIT_NOT_FOUND = 3  # no such model, repository, quantization or loaded model
EXIT_REFUSED = 4  # the user said no (a licence, a deletion), or --yes was needed without a terminal
EXIT_NETWORK = 5  # no connection, Offline mode, the Hub refused or failed, a download stopped
EXIT_INTERRUPTED = 130  # Ctrl-C (a download is paused: the same command resumes it)


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a typed error."""
    from assistant.documents.errors import CollectionNotFoundError
    from assistant.errors import DownloadError, HubError, ModelNotFoundError, NetworkBlockedError, RepoNotFoundError

    if isinstance(exc, (ModelNotFoundError, RepoNotFoundError, CollectionNotFoundError)) or getattr(exc, "gone", False):
        return EXIT_NOT_FOUND
    if isinstance(exc, UserRefused):
        return EXIT_REFUSED
    if isinstance(exc, (NetworkBlockedError, HubError)):
        return EXIT_NETWORK
    if isinstance(exc, DownloadError) and not isinstance(exc, (DiskFullError, HashMismatchError)):
        return EXIT_NETWORK
    return EXIT_ERROR


class UserRefused(AssistantError):
    """The user answered no, or a question needed a terminal (--yes answers it)."""


def pick_model(spec: str | None, paths: Paths, settings: Settings) -> ModelRef:
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


def apply_overrides(args: argparse.Namespace, settings: Settings) -> GenParams:
    if args.ctx:
        settings.context_length = args.ctx
    given = (("max_tokens", args.max_tokens), ("temperature", args.temperature), ("seed", args.seed))
    overrides = {k: v for k, v in given if v is not None}
    return dataclasses.replace(settings.generation, **overrides)


def load_engine(model: ModelRef, settings: Settings) -> Engine:
    engine, options, plan = prepare(model, settings)
    log.info("plan for %s: %s", model.path, plan.reason)
    print(f"Loading {model.display_name} ({plan.backend})...", file=sys.stderr, flush=True)
    engine.load(model, options)
    return engine


@contextmanager
def ctrl_c_stops(cancel: threading.Event) -> Iterator[None]:
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


def print_thinking(text: str) -> None:
    """A reasoning model's thinking goes to stderr: a pipe gets the answer only."""
    sys.stderr.write(text)
    sys.stderr.flush()


def print_text(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def title_from(prompt: str) -> str:
    line = prompt.strip().splitlines()[0] if prompt.strip() else "New chat"
    return line[:60] + ("…" if len(line) > 60 else "")


def cut_off_note(result: TurnResult) -> str:
    """What the terminal says under an answer that ended at the length limit ("" otherwise)."""
    chunk = result.chunk
    if result.status != "complete" or chunk is None or chunk.finish_reason != "length":
        return ""
    n = chunk.usage.completion_tokens if chunk.usage else 0
    return f"[cut off at the length limit ({n:,} tokens): pass a larger --max-tokens for a longer answer]"
