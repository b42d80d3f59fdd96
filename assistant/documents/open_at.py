"""Open a cited file at its page or line: the command line of a viewer or editor found on
PATH that can be told where to start, or None (the caller then opens the file with the
system's default app, at its first page).

PDF viewers (flags from their manual pages): evince `--page-index=N`, okular `--page N`,
zathura `--page=N`, atril and xreader `--page-index=N`, qpdfview `FILE#N`; all count pages
from 1, as the sources do. Editors, for text, Markdown, CSV and source code: VS Code
`--goto FILE:LINE`, gedit `FILE +LINE`, kate `--line LINE FILE`.

The system's default app for the file's type (`xdg-mime query default`) is tried first when
it is one of these, so the user's choice wins over the order below. Qt-free: the window
starts the command detached and says which app opened the file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

Which = Callable[[str], str | None]


@dataclass(frozen=True)
class Opener:
    app: str  # "Evince": said to the user
    argv: list[str]  # the program (full path) first
    where: str  # "page 3" / "line 12"


@dataclass(frozen=True)
class _App:
    exe: str
    name: str
    desktop: str  # a word of its .desktop file id, to match the system's default
    args: Callable[[str, int], list[str]]  # (file, page or line) -> arguments


PDF_VIEWERS = (
    _App("evince", "Evince", "evince", lambda f, n: [f"--page-index={n}", f]),
    _App("okular", "Okular", "okular", lambda f, n: ["--page", str(n), f]),
    _App("zathura", "zathura", "zathura", lambda f, n: [f"--page={n}", f]),
    _App("atril", "Atril", "atril", lambda f, n: [f"--page-index={n}", f]),
    _App("xreader", "Xreader", "xreader", lambda f, n: [f"--page-index={n}", f]),
    _App("qpdfview", "qpdfview", "qpdfview", lambda f, n: [f"{f}#{n}"]),
)
EDITORS = (
    _App("code", "VS Code", "code", lambda f, n: ["--goto", f"{f}:{n}"]),
    _App("gedit", "gedit", "gedit", lambda f, n: [f, f"+{n}"]),  # gedit [FILE] [+LINE]
    _App("kate", "Kate", "kate", lambda f, n: ["--line", str(n), f]),
)
LINE_KINDS = frozenset({"text", "markdown", "code", "csv"})  # a Word file's "lines" are paragraphs: no
MIME = {"pdf": "application/pdf", "markdown": "text/markdown", "csv": "text/csv"}


def default_desktop_id(mime: str, which: Which = shutil.which) -> str:
    """The desktop file id of the system's default app for `mime` ("" when unknown)."""
    if sys.platform != "linux" or which("xdg-mime") is None:
        return ""
    try:
        out = subprocess.run(["xdg-mime", "query", "default", mime], capture_output=True, text=True, timeout=3,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip().lower()


def open_at(path: Path | str, *, kind: str = "", page: int | None = None, line: int | None = None,
            which: Which = shutil.which, default_app: str | None = None) -> Opener | None:
    """The command that opens `path` at `page` (PDF) or `line` (text, code), or None."""
    file = str(Path(path).resolve())
    apps: tuple[_App, ...]
    if kind == "pdf" and page and page > 0:
        apps, n, unit = PDF_VIEWERS, page, "page"
    elif kind in LINE_KINDS and line and line > 0:
        apps, n, unit = EDITORS, line, "line"
    else:
        return None
    if default_app is None:
        default_app = default_desktop_id(MIME.get(kind, "text/plain"), which)
    ordered = sorted(apps, key=lambda a: not (default_app and a.desktop in default_app))
    for app in ordered:
        if app.exe == "qpdfview" and "#" in file:  # '#' starts qpdfview's page
            continue
        exe = which(app.exe)
        if exe:
            return Opener(app.name, [exe, *app.args(file, n)], f"{unit} {n}")
    return None
