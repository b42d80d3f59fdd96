"""A private, real Secret Service for tests: its own D-Bus session bus and gnome-keyring.

Everything lives in a fresh temp dir (bus socket, XDG_RUNTIME_DIR, HOME, XDG_DATA_HOME),
so the real user's keyring is never touched. CI installs the Debian packages
`dbus` and `gnome-keyring`; where they are missing the tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.errors import KeyringError
from support.keyring_ready import wait_until_writable

PASSWORD = "test-keyring-password"
START_ATTEMPTS = 3
WRITABLE_TIMEOUT_S = 10.0
# Only the bus address goes into this process's environment (the keyring client and any CLI
# subprocess find the service through it); the daemon's own folders go to the daemon alone,
# so HOME never changes under the tests (the test model lives in HOME's cache).
_ENV_VARS = ("DBUS_SESSION_BUS_ADDRESS",)


# A session bus WITHOUT service activation. The stock session config would start a second
# gnome-keyring-daemon (with the real HOME, never unlocked) the moment a client asks for
# org.freedesktop.secrets before ours has registered; ours then says "another secret
# service is running" and every write fails with "Prompt dismissed". On a busy machine
# that happened to about half the starts. (--address replaces the placeholder <listen>.)
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@dataclass
class SecretService:
    root: Path
    home: Path
    bus_address: str


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _wait_for_service(deadline: float) -> None:
    """Until org.freedesktop.secrets answers on the bus (the daemon registers asynchronously)."""
    import secretstorage

    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with contextlib.closing(secretstorage.dbus_init()) as conn:
                if secretstorage.check_service_availability(conn):
                    return
        except Exception as exc:  # the bus or the service is not up yet
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"gnome-keyring-daemon did not appear on the private bus: {last}")


def _start_keyring(gk_daemon: str, env: dict[str, str], unlocked: bool) -> subprocess.Popen[bytes]:
    # --foreground keeps it our child so teardown can stop it; --unlock reads the
    # password from stdin and creates an unlocked "login" keyring as the default. Without
    # it the daemon has no unlocked collection: like a desktop where nobody typed the password.
    args = [gk_daemon, "--foreground", "--components=secrets"] + (["--unlock"] if unlocked else [])
    gk = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    assert gk.stdin is not None
    if unlocked:
        gk.stdin.write(PASSWORD.encode())
    gk.stdin.close()
    return gk


@contextlib.contextmanager
def _one_secret_service(dbus_daemon: str, gk_daemon: str, timeout_s: float, unlocked: bool = True) -> Iterator[SecretService]:
    """One bus + gnome-keyring in fresh folders, writable, with os.environ and `keyring` on them."""
    import keyring
    import keyring.backends.SecretService

    # a short path under /tmp: AF_UNIX socket paths are limited to ~108 bytes
    root = Path(tempfile.mkdtemp(prefix="ss-", dir="/tmp"))
    run_dir, home, data = root / "run", root / "home", root / "data"
    for d in (run_dir, home, data):
        d.mkdir(mode=0o700)
    saved_env = {name: os.environ.get(name) for name in _ENV_VARS}
    saved_keyring = keyring.get_keyring()
    bus: subprocess.Popen[bytes] | None = None
    gk: subprocess.Popen[bytes] | None = None
    try:
        config = root / "bus.conf"
        config.write_text(_BUS_CONFIG, encoding="utf-8")
        bus = subprocess.Popen(
            [dbus_daemon, f"--config-file={config}", "--nofork", "--print-address=1", f"--address=unix:path={root / 'bus'}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon_env = dict(os.environ, XDG_RUNTIME_DIR=str(run_dir), HOME=str(home), XDG_DATA_HOME=str(data))
        gk = _start_keyring(gk_daemon, daemon_env, unlocked)
        _wait_for_service(time.monotonic() + timeout_s)
        backend = keyring.backends.SecretService.Keyring()
        if backend.priority <= 0:
            raise RuntimeError("the SecretService backend is not viable on the private bus")
        keyring.set_keyring(backend)
        if unlocked:  # a fresh daemon may still be creating its login collection ("Prompt dismissed")
            wait_until_writable(WRITABLE_TIMEOUT_S)
        yield SecretService(root=root, home=home, bus_address=address)
    finally:
        keyring.set_keyring(saved_keyring)
        _stop(gk)
        _stop(bus)
        if bus is not None and bus.stdout is not None:
            bus.stdout.close()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)


def _daemons() -> tuple[str, str]:
    dbus_daemon = shutil.which("dbus-daemon")
    gk_daemon = shutil.which("gnome-keyring-daemon")
    if not dbus_daemon or not gk_daemon:
        missing = "dbus-daemon (Debian: dbus)" if not dbus_daemon else "gnome-keyring-daemon (Debian: gnome-keyring)"
        pytest.skip(f"no Secret Service to test against: {missing} is not installed")
    return dbus_daemon, gk_daemon


@contextlib.contextmanager
def locked_secret_service(timeout_s: float = 15.0) -> Iterator[SecretService]:
    """A real gnome-keyring that nobody unlocked: every write needs a password prompt."""
    dbus_daemon, gk_daemon = _daemons()
    with _one_secret_service(dbus_daemon, gk_daemon, timeout_s, unlocked=False) as service:
        yield service


@contextlib.contextmanager
def running_secret_service(timeout_s: float = 15.0) -> Iterator[SecretService]:
    """Start dbus-daemon + an unlocked gnome-keyring, point os.environ and `keyring` at them."""
    dbus_daemon, gk_daemon = _daemons()
    for attempt in range(1, START_ATTEMPTS + 1):
        with contextlib.ExitStack() as stack:
            try:
                service = stack.enter_context(_one_secret_service(dbus_daemon, gk_daemon, timeout_s))
            except KeyringError:
                # now and then a new daemon never gets its login collection and refuses every
                # write ("Prompt dismissed") however long we wait: start over in new folders
                if attempt == START_ATTEMPTS:
                    raise
                continue
            yield service
            return
