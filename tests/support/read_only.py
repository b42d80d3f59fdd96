"""A folder made read-only for the tests, even for root (CI runs as root, and plain
permissions do not stop root): `chattr +i` on it and everything in it (Debian:
e2fsprogs, installed by .ci/run), or for a command a read-only bind mount of it in a
mount namespace of its own (`unshare -m`), which gives the real EROFS of a read-only disk."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def immutable(root: Path) -> Iterator[None]:
    if shutil.which("chattr") is None:
        pytest.fail("chattr (Debian: e2fsprogs) is needed to make a folder read-only for root")
    r = subprocess.run(["chattr", "-R", "+i", str(root)], capture_output=True, text=True)
    if r.returncode != 0:
        subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
        pytest.fail(f"chattr +i failed here: {r.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(root)], check=True)


def read_only_mount_prefix(root: Path) -> list[str] | None:
    """The words that run a command with `root` mounted read-only, or None where a mount
    namespace cannot be made (then use `immutable`)."""
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro '{root}' '{root}' && ! touch '{root}/.probe'"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(root)]
