"""`assistant serve`'s refusals, said in plain words (the real command in a subprocess)."""

from __future__ import annotations

from pathlib import Path

from assistant.cli.common import EXIT_NOT_FOUND
from assistant.paths import get_paths
from assistant.settings import Settings, save_settings


def test_offline_mode_refuses_the_local_network(run_cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    save_settings(Settings(offline_mode=True), get_paths().settings_file)
    r = run_cli("serve", "--host", "0.0.0.0", "--port", "0", "--token", "t0k3n-for-this-test")
    assert r.returncode == 1 and "Offline mode is on: the API server does not listen on the network" in r.stderr
    assert "t0k3n-for-this-test" not in r.stderr + r.stdout


def test_a_bad_port_and_an_unknown_model(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("serve", "--port", "70000", "--token", "x")
    assert r.returncode == 1 and "is not a port number" in r.stderr
    r = run_cli("serve", "--port", "0", "--token", "x", "--model", "no-such-model")
    assert r.returncode == EXIT_NOT_FOUND and "No installed model is called 'no-such-model'" in r.stderr
