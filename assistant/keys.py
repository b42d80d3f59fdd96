"""API keys in the OS keyring, one entry per provider; nowhere else.

- Service name `assistant`, username = provider id ("openai", "anthropic",
  "openai-compatible:<name>").
- Insecure backends (keyring's fail/null, keyrings.alt's plaintext files) are refused
  with a hint on how to get a real keyring. There is no file fallback, by design.
- Every keyring call runs on a daemon thread joined with a timeout: a Secret Service
  unlock prompt can block forever, and the GUI must never hang on it.
- A key never appears in an error message (backend errors are sanitised) or a log
  line (`install_log_redaction` scrubs every key this process has seen).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from assistant.errors import KeyringError

SERVICE = "assistant"
DEFAULT_TIMEOUT_S = 5.0
REDACTED = "[REDACTED]"

T = TypeVar("T")

# every key value this process has stored or read, for log redaction; memory only
_known_keys: set[str] = set()
_known_lock = threading.Lock()


# ----------------------------------------------------------------- public API


def get_key(provider: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> str | None:
    """The provider's key, or None when none is stored."""
    _check_provider(provider)
    key = _run(lambda kr: kr.get_password(SERVICE, provider), timeout_s, secret=None)
    if key:
        _remember(key)
    return key or None


def set_key(provider: str, key: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Store (or replace) the provider's key."""
    _check_provider(provider)
    # pasted keys often carry a newline or spaces; they are never part of a key
    key = key.strip()
    if not key:
        raise KeyringError("The API key is empty.", "Paste the whole key from your provider's dashboard.")
    _remember(key)
    _run(lambda kr: kr.set_password(SERVICE, provider, key), timeout_s, secret=key)


def delete_key(provider: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Remove the provider's key; a key that is not there is not an error."""
    import keyring.errors

    _check_provider(provider)

    def delete(kr: Any) -> None:
        try:
            kr.delete_password(SERVICE, provider)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing stored: the wanted end state already holds

    _run(delete, timeout_s, secret=None)


def has_key(provider: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> bool:
    return get_key(provider, timeout_s) is not None


def protect(secret: str) -> None:
    """Redact `secret` from every log line from now on (a token given on a command line)."""
    _remember(secret)


def backend_name(timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """The keyring backend in use, e.g. "SecretService Keyring". Informational: an
    insecure backend is named, not refused (the key calls refuse it)."""
    import keyring

    kr = _call_with_timeout(keyring.get_keyring, timeout_s, secret=None)
    chosen = _secure_backend(kr)
    return str((chosen or kr).name)


def mask(key: str) -> str:
    """A form of the key safe to show: at most the first 3 and last 4 characters."""
    key = key.strip()
    if len(key) > 12:
        return f"{key[:3]}…{key[-4:]}"
    return "••••"


# ------------------------------------------------------------- log redaction


class RedactingFilter(logging.Filter):
    """Replaces every known key in a record's message, args and exception text.

    The last line of defence: an SDK at debug level once logged request headers
    with the key in them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact(text: str) -> str:
    with _known_lock:
        keys = sorted(_known_keys, key=len, reverse=True)  # longest first: a key may contain another
    for key in keys:
        if key in text:
            text = text.replace(key, REDACTED)
    return text


def redact_record(record: logging.LogRecord) -> None:
    if not _known_keys:
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to the handler to report
        message = str(record.msg)
    clean = redact(message)
    if clean != message:
        # freeze the formatted, redacted message so no later formatting can reintroduce the key
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        # formatters reuse a pre-filled exc_text, so the traceback is redacted too
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


_filter = RedactingFilter()
_installed_factory: Callable[..., logging.LogRecord] | None = None
_previous_factory: Callable[..., logging.LogRecord] | None = None


def install_log_redaction() -> RedactingFilter:
    """Redact known keys in every log record, whichever logger or handler it goes to.

    A filter on the root logger alone would miss records from child loggers (logger
    filters do not apply to propagated records), so the record factory redacts too;
    the filter is also put on the root logger and its current handlers. Idempotent.
    """
    global _installed_factory, _previous_factory
    root = logging.getLogger()
    if _filter not in root.filters:
        root.addFilter(_filter)
    for handler in root.handlers:
        if _filter not in handler.filters:
            handler.addFilter(_filter)
    if _installed_factory is None or logging.getLogRecordFactory() is not _installed_factory:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        _previous_factory, _installed_factory = previous, factory
        logging.setLogRecordFactory(factory)
    return _filter


def uninstall_log_redaction() -> None:
    """Undo install_log_redaction (tests)."""
    global _installed_factory, _previous_factory
    root = logging.getLogger()
    root.removeFilter(_filter)
    for handler in root.handlers:
        handler.removeFilter(_filter)
    if _installed_factory is not None and logging.getLogRecordFactory() is _installed_factory:
        logging.setLogRecordFactory(_previous_factory or logging.LogRecord)
    _installed_factory = _previous_factory = None


# ------------------------------------------------------------------ internals


def _remember(key: str) -> None:
    # very short strings would redact ordinary words; real API keys are far longer
    if len(key) >= 4:
        with _known_lock:
            _known_keys.add(key)


def _check_provider(provider: str) -> None:
    if not isinstance(provider, str) or not provider.strip():
        raise KeyringError("No provider was named for the API key.", "This is a bug: please report it.")


def _insecure_reason(kr: Any) -> str | None:
    """Why this backend must not hold keys, or None when it is a real keyring."""
    cls = type(kr)
    module, name = cls.__module__, cls.__name__
    if module == "keyring.backends.fail":
        return "No system keyring is available"
    if module == "keyring.backends.null":
        return "The keyring is switched off (the null backend is configured)"
    # keyrings.alt keeps secrets in files (plain, or encrypted with a password read from
    # a terminal a GUI does not have): never the right home for API keys
    if "Plaintext" in name or module.startswith("keyrings.alt"):
        return f"The configured keyring ({module}.{name}) keeps secrets in a plain file, which is not safe"
    return None


def _secure_backend(kr: Any) -> Any | None:
    """The backend to use: `kr` itself, or for keyring's chainer its best secure member
    (the chainer would otherwise fall through to a plaintext file when the real one fails)."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(kr, ChainerBackend):
        members = [b for b in kr.backends if _insecure_reason(b) is None]
        return members[0] if members else None
    return None if _insecure_reason(kr) else kr


def _fix_hint() -> str:
    if sys.platform == "darwin":
        return "The macOS Keychain should always be there: check that you are logged in to a normal user session."
    if sys.platform.startswith("win"):
        return "Windows Credential Manager should always be there: check that you are logged in to a normal user session."
    return (
        "Install and unlock GNOME Keyring (package `gnome-keyring`) or KWallet, or run the app inside a "
        "desktop session. On a headless machine: "
        '`dbus-run-session -- sh -c "echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; assistant"`. '
        "The app never stores keys in a plain file."
    )


def _sanitise(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, REDACTED)
        # the same key as repr() shows it, should it contain escapable characters
        text = text.replace(repr(secret)[1:-1], REDACTED)
    return redact(text)


def _run(op: Callable[[Any], T], timeout_s: float, secret: str | None) -> T:
    """Resolve the backend and run `op` on it, both off the calling thread."""

    def work() -> T:
        import keyring

        kr = keyring.get_keyring()
        chosen = _secure_backend(kr)
        if chosen is None:
            reason = _insecure_reason(kr) or "No secure keyring is available"
            raise KeyringError(f"{reason}, so API keys cannot be stored safely.", _fix_hint())
        return op(chosen)

    return _call_with_timeout(work, timeout_s, secret)


def _call_with_timeout(fn: Callable[[], T], timeout_s: float, secret: str | None) -> T:
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    # daemon: a call stuck on an unlock prompt must not keep the process alive at exit
    thread = threading.Thread(target=target, name="keyring-call", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise KeyringError(
            f"The system keyring did not answer within {timeout_s:g} s.",
            "It may be locked and waiting for your password: unlock it "
            "(for example by logging in to the desktop) and try again.",
        )
    if failure:
        exc = failure[0]
        if isinstance(exc, KeyringError):
            raise KeyringError(_sanitise(exc.message, secret), _sanitise(exc.hint, secret)) from None
        detail = _sanitise(f"{type(exc).__name__}: {exc}", secret)
        if type(exc).__name__ == "KeyringLocked" or "prompt dismissed" in str(exc).lower():
            # a locked keyring whose password prompt could not be shown (no desktop, or dismissed)
            raise KeyringError(
                "The system keyring is locked: it needs its password, and no password prompt could be shown.",
                "Unlock it (for example by logging in to the desktop, or with `gnome-keyring-daemon --unlock`) "
                "and try again. The app never stores keys in a plain file.",
            ) from None
        # `from None`: the original exception (and its frames' locals) may hold the key
        raise KeyringError(f"The system keyring failed: {detail}", _keyring_failure_hint(exc)) from None
    return result[0]


def _keyring_failure_hint(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KeyringLocked":
        return "The keyring is locked: unlock it (for example by logging in to the desktop) and try again."
    if name in ("InitError", "NoKeyringError", "SecretServiceNotAvailableException"):
        return _fix_hint()
    return "Check that the system keyring is running and unlocked, then try again."
