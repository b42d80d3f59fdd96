"""Starting a stdio MCP server without network access (Linux): the command runs under
`unshare --user --map-root-user --net`, in a network namespace of its own where only a
loopback that is down exists, so no connection can leave it (not even to 127.0.0.1 on
this computer). It needs unprivileged user namespaces; `sandbox_available` says in
words when the system does not allow them.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

UNSHARE_ARGS = ("--user", "--map-root-user", "--net", "--")


@functools.cache
def sandbox_available() -> tuple[bool, str]:
    """(True, "") when a server can be started without network access here; (False, why)
    otherwise. Tried once per process: `unshare ... true` must succeed."""
    if not sys.platform.startswith("linux"):
        return False, "starting a server without network access needs Linux (network namespaces)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return False, "the unshare command (util-linux) is not installed"
    true = shutil.which("true") or "/bin/true"
    try:
        done = subprocess.run([unshare, *UNSHARE_ARGS, true], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"unshare could not be run ({exc})"
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[:200] or f"exit status {done.returncode}"
        return False, ("this system does not allow unprivileged user namespaces "
                       f"(unshare said: {said}); an administrator can allow them with the "
                       "kernel.unprivileged_userns_clone or apparmor_restrict_unprivileged_userns sysctl")
    return True, ""


def sandboxed_command(command: str, args: list[str]) -> tuple[str, list[str]]:
    """The command line that runs `command args` in a network namespace of its own."""
    unshare = shutil.which("unshare") or "unshare"
    return unshare, [*UNSHARE_ARGS, command, *args]
