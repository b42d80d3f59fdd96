"""Route llama.cpp's own log into Python logging, and capture it during a load.

llama.cpp says why a load failed (unknown architecture, bad tensor data) only in its
log; llama-cpp-python turns that into a bare "failed to load". Capturing the lines
lets the engine name the real cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import threading
from typing import Iterator

log = logging.getLogger("llama.cpp")

_lock = threading.Lock()
_captures: list[list[str]] = []
_callback = None  # the ctypes callback must stay alive for the life of the process
# what llama.cpp says when a stop aborts llama_decode (GGML_STATUS_ABORTED, decode ret 2): not an error
_ABORTED = re.compile(r"failed with error 1$|compute status: 1$|failed to decode, ret = 2$")


def install() -> None:
    global _callback
    if _callback is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", "replace").rstrip("\n")
        if not line:
            return
        with _lock:
            for lines in _captures:
                lines.append(line)
        # ggml levels: 1 debug, 2 info, 3 warn, 4 error, 5 continuation. llama.cpp
        # warns about harmless model quirks, so warnings stay at INFO in our log.
        if level == 4 and _ABORTED.search(line):
            level = 2
        log.log({4: logging.ERROR, 3: logging.INFO}.get(level, logging.DEBUG), "%s", line)

    _callback = _on_log
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))


@contextlib.contextmanager
def capture() -> Iterator[list[str]]:
    lines: list[str] = []
    with _lock:
        _captures.append(lines)
    try:
        yield lines
    finally:
        with _lock:
            # by identity: two captures may hold equal lines
            _captures[:] = [c for c in _captures if c is not lines]


_mtmd_installed = False


def install_mtmd(mtmd: object) -> None:
    """libmtmd (vision) and its helpers log on their own: the same route, so a projector's
    load failure (a width that does not match the model) can be captured and named."""
    global _mtmd_installed
    install()
    if _mtmd_installed:
        return
    mtmd.mtmd_log_set(_callback, ctypes.c_void_p(0))  # type: ignore[attr-defined]
    mtmd.mtmd_helper_log_set(_callback, ctypes.c_void_p(0))  # type: ignore[attr-defined]
    _mtmd_installed = True
