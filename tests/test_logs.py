"""The app's logging set-up: the log file takes INFO and up (DEBUG with --verbose), and no
DEBUG record is made that no handler would write (a library's per-chunk debug call costs
the API server's streams otherwise)."""

from __future__ import annotations

import logging

import pytest

from assistant.logs import setup_logging
from assistant.paths import get_paths


@pytest.mark.parametrize("verbose", [False, True])
def test_debug_records_are_made_only_when_written(app_root_logger: logging.Logger, verbose: bool) -> None:
    paths = get_paths().ensure()
    setup_logging(paths.log_file, verbose=verbose)
    chatty = logging.getLogger("sse_starlette.sse")
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(lambda *a, **k: made.append(r := factory(*a, **k)) or r)  # type: ignore[func-returns-value]
    try:
        chatty.debug("chunk: %s", "data: {}")
        logging.getLogger("assistant.test").info("an info line")
    finally:
        logging.setLogRecordFactory(factory)
    assert [r.levelname for r in made] == (["DEBUG", "INFO"] if verbose else ["INFO"])
    for h in app_root_logger.handlers:
        h.flush()
    text = paths.log_file.read_text()
    assert "an info line" in text and (("chunk: data: {}" in text) is verbose)
