"""The files a collection follows: its roots (files and folders), walked safely.

Symbolic links are followed, but a folder already seen (same device and inode) is not
entered again, so a link loop ends. Dot folders (.git, .venv) are skipped. A folder with
more than MAX_FILES readable documents is cut there and says so. Folders that cannot be
read are named in the notes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from assistant.documents.formats import MAX_FILES, supported


@dataclass
class Walk:
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cut: bool = False


def walk_roots(roots: list[str], *, limit: int = MAX_FILES) -> Walk:
    out = Walk()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()

    def add(p: Path) -> bool:
        key = str(p)
        if key not in seen_files:
            if len(out.files) >= limit:
                out.cut = True
                return False
            seen_files.add(key)
            out.files.append(p)
        return True

    for root in roots:
        rp = Path(root)
        if not rp.exists():
            out.notes.append(f"{root} is gone (moved or deleted); its files were removed from the collection.")
            continue
        if rp.is_file():
            if not add(rp):
                break
            continue
        if out.cut:
            break

        def onerror(err: OSError) -> None:
            out.notes.append(f"{err.filename} could not be opened ({err.strerror}); its files were skipped.")

        for folder, dirs, names in os.walk(rp, followlinks=True, onerror=onerror):
            try:
                st = os.stat(folder)
            except OSError:
                dirs[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen_dirs:  # a symlink loop, or a folder reached twice
                dirs[:] = []
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith(".") or not supported(Path(name)):
                    continue
                if not add(Path(folder) / name):
                    break
            if out.cut:
                break
        if out.cut:
            break
    if out.cut:
        out.notes.append(f"More than {limit:,} documents were found; the first {limit:,} were added. "
                         "Make collections of smaller folders to index the rest.")
    return out
