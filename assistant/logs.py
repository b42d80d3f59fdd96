"""Logging set-up: a rotating file in the log folder; only warnings reach stderr."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from assistant.keys import install_log_redaction


def setup_logging(log_file: Path, *, verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_assistant_configured", False):
        return
    # DEBUG records only when they are written: a library's per-event debug call (sse-starlette
    # logs every chunk it streams) otherwise costs a record that no handler takes
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fh = _file_handler(log_file)
    if fh is not None:
        fh.setLevel(logging.DEBUG if verbose else logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    err = logging.StreamHandler()
    err.setLevel(logging.DEBUG if verbose else logging.WARNING)
    err.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    if fh is not None:
        root.addHandler(fh)
    root.addHandler(err)
    # third-party loggers that would print request details at DEBUG
    for name in ("httpx", "httpcore", "httpx2", "httpcore2", "urllib3", "filelock"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # API keys never reach a log, even if a library logs request headers at DEBUG

    install_log_redaction()
    root._assistant_configured = True  # type: ignore[attr-defined]


def _file_handler(log_file: Path) -> logging.Handler | None:
    """The rotating log file; None when its folder cannot be written (read-only, full):
    the caller says so in words (paths.unwritable), and warnings still reach stderr."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        return logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
