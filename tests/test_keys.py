"""Keys in a real Secret Service (a private gnome-keyring), and the refusals around it."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest
from support.secret_service import SecretService, locked_secret_service, running_secret_service

from assistant import keys
from assistant.errors import KeyringError

SECRET = "sk-test-SECRET123456"


@pytest.fixture(scope="module")
def _service() -> Iterator[SecretService]:
    with running_secret_service() as service:
        yield service


@pytest.fixture
def secret_service(_service: SecretService) -> Iterator[SecretService]:
    """The module's Secret Service as the keyring backend, with no entries left behind."""
    import keyring.backends.SecretService

    keyring.set_keyring(keyring.backends.SecretService.Keyring())
    yield _service
    for provider in ("openai", "anthropic", "openai-compatible:local"):
        keys.delete_key(provider)


@pytest.fixture(autouse=True)
def _restore_backend() -> Iterator[None]:
    saved = keyring.get_keyring()
    yield
    keyring.set_keyring(saved)


def _files_containing(text: str, *roots: Path) -> list[Path]:
    hits = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath, name)
                try:
                    if text.encode() in path.read_bytes():
                        hits.append(path)
                except OSError:
                    pass
    return hits


# --------------------------------------------------------------- real keyring


def test_round_trip_per_provider(secret_service: SecretService) -> None:
    assert keyring.get_keyring().priority > 0  # SecretService is viable on the private bus
    for provider, key in [
        ("openai", "sk-openai-0123456789abcdef"),
        ("anthropic", "sk-ant-0123456789abcdef"),
        ("openai-compatible:local", "local-key-0123456789"),
    ]:
        assert keys.get_key(provider) is None
        assert not keys.has_key(provider)
        keys.set_key(provider, key)
        assert keys.get_key(provider) == key
        assert keys.has_key(provider)
        keys.delete_key(provider)
        assert keys.get_key(provider) is None
        assert not keys.has_key(provider)


def test_replace_and_strip(secret_service: SecretService) -> None:
    keys.set_key("openai", "sk-first-000000000000")
    keys.set_key("openai", "  sk-second-11111111111\n")
    assert keys.get_key("openai") == "sk-second-11111111111"


def test_delete_missing_is_fine(secret_service: SecretService) -> None:
    keys.delete_key("anthropic")
    keys.delete_key("anthropic")
    assert keys.get_key("anthropic") is None


def test_providers_are_independent(secret_service: SecretService) -> None:
    keys.set_key("openai", "sk-openai-aaaaaaaaaaaa")
    keys.set_key("anthropic", "sk-ant-bbbbbbbbbbbbbb")
    keys.delete_key("openai")
    assert keys.get_key("openai") is None
    assert keys.get_key("anthropic") == "sk-ant-bbbbbbbbbbbbbb"


def test_key_is_not_in_plain_files(secret_service: SecretService, home: Path) -> None:
    keys.set_key("openai", SECRET)
    # gnome-keyring encrypts its files; neither it nor the app leaves the key readable
    assert _files_containing(SECRET, home, secret_service.root) == []


def test_backend_name_is_secret_service(secret_service: SecretService) -> None:
    assert "SecretService" in keys.backend_name()


def test_empty_key_refused(secret_service: SecretService) -> None:
    with pytest.raises(KeyringError, match="empty"):
        keys.set_key("openai", "  \n")


# ------------------------------------------------------------ refused backends


def test_no_backend_says_how_to_fix(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_home = tmp_path / "user"
    fake_home.mkdir()
    # any file fallback would land under one of these
    monkeypatch.setenv("HOME", str(fake_home))
    monkeypatch.setenv("XDG_DATA_HOME", str(fake_home / ".local/share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(fake_home / ".config"))
    keyring.set_keyring(keyring.backends.fail.Keyring())

    with pytest.raises(KeyringError) as err:
        keys.set_key("openai", SECRET)
    text = str(err.value)
    assert "No system keyring" in text
    assert "gnome-keyring" in text and "dbus-run-session" in text
    assert SECRET not in text
    with pytest.raises(KeyringError, match="No system keyring"):
        keys.get_key("openai")
    with pytest.raises(KeyringError, match="No system keyring"):
        keys.delete_key("openai")
    assert _files_containing(SECRET, home, fake_home) == []


def test_null_backend_refused() -> None:
    keyring.set_keyring(keyring.backends.null.Keyring())
    with pytest.raises(KeyringError, match="null"):
        keys.set_key("openai", SECRET)


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """A stand-in for keyrings.alt's PlaintextKeyring: really writes the secret to a file."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def get_password(self, service: str, username: str) -> str | None:
        return self.path.read_text() if self.path.exists() else None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.path.write_text(password)

    def delete_password(self, service: str, username: str) -> None:
        self.path.unlink(missing_ok=True)


def test_plaintext_backend_refused(home: Path, tmp_path: Path) -> None:
    store = tmp_path / "plain" / "keyring_pass.cfg"
    store.parent.mkdir()
    keyring.set_keyring(PlaintextKeyring(store))
    with pytest.raises(KeyringError) as err:
        keys.set_key("openai", SECRET)
    assert "plain file" in str(err.value)
    assert SECRET not in str(err.value)
    assert not store.exists()
    assert _files_containing(SECRET, home, tmp_path) == []


# ------------------------------------------------------------- failure modes


class BlockingKeyring(keyring.backend.KeyringBackend):
    """Stands for a Secret Service stuck on an unlock prompt nobody answers."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


def test_timeout() -> None:
    backend = BlockingKeyring()
    keyring.set_keyring(backend)
    try:
        start = time.monotonic()
        with pytest.raises(KeyringError) as err:
            keys.get_key("openai", timeout_s=0.5)
        assert time.monotonic() - start < 10  # the backend blocks for 30 s: the timeout, not the backend, ended it
        assert "did not answer within 0.5 s" in str(err.value)
        assert "unlock" in err.value.hint
        with pytest.raises(KeyringError, match="did not answer"):
            keys.set_key("openai", SECRET, timeout_s=0.2)
    finally:
        backend.release.set()  # let the stuck daemon threads finish


class LeakyKeyring(keyring.backend.KeyringBackend):
    """A backend whose error message repeats the secret, as some D-Bus errors do."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"could not store {password!r} for {username}")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("boom")


def test_error_text_never_holds_the_key() -> None:
    keyring.set_keyring(LeakyKeyring())
    with pytest.raises(KeyringError) as err:
        keys.set_key("openai", SECRET)
    assert SECRET not in str(err.value)
    assert "PasswordSetError" in str(err.value) and "openai" in str(err.value)
    # nothing chained either: a traceback would print the original message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    with pytest.raises(KeyringError, match="boom"):
        keys.delete_key("openai")


# ------------------------------------------------------------- display, logs


def test_mask() -> None:
    assert keys.mask("sk-proj-0123456789abcd") == "sk-…abcd"
    assert keys.mask("short-key-12") == "••••"
    assert keys.mask("") == "••••"
    assert "0123456789" not in keys.mask("sk-proj-0123456789abcd")


def test_log_redaction(secret_service: SecretService) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("x")
    logger.addHandler(handler)
    keys.install_log_redaction()
    try:
        keys.set_key("openai", SECRET)
        logger.warning("header %s", f"Bearer {SECRET}")
        try:
            raise ValueError(f"bad key {SECRET}")
        except ValueError:
            logger.exception("failed")
        logger.warning("nothing secret %d", 42)
    finally:
        keys.uninstall_log_redaction()
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "header Bearer [REDACTED]" in out
    assert "ValueError: bad key [REDACTED]" in out
    assert "nothing secret 42" in out
    assert SECRET not in out


def test_redacts_keys_read_back(secret_service: SecretService) -> None:
    """A key read from the keyring (set by an earlier run) is redacted as well."""
    import keyring.backends.SecretService

    keyring.backends.SecretService.Keyring().set_password(keys.SERVICE, "anthropic", "sk-ant-from-earlier-run-42")
    assert keys.get_key("anthropic") == "sk-ant-from-earlier-run-42"
    assert keys.redact("x sk-ant-from-earlier-run-42 y") == "x [REDACTED] y"


def test_a_locked_keyring_says_what_to_do() -> None:
    """A real gnome-keyring that nobody unlocked (a desktop where the password was never
    typed): storing a key fails in plain words, with how to fix it, and leaks nothing."""
    with locked_secret_service():
        with pytest.raises(KeyringError) as err:
            keys.set_key("openai", SECRET, timeout_s=5)
        assert err.value.message.startswith("The system keyring is locked")
        assert err.value.hint.startswith("Unlock it")
        assert SECRET not in str(err.value) + err.value.hint
        with pytest.raises(KeyringError, match="is locked"):  # reading says the same, not "no key"
            keys.get_key("openai", timeout_s=5)
