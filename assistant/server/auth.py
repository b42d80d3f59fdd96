"""The API server's token: generated once, kept in the OS keyring, never logged."""

from __future__ import annotations

import hmac
import secrets

from assistant import keys

KEY_ID = "api-server-token"  # the keyring entry (keys.py's "provider" slot)


def get_or_create_token() -> str:
    """The stored token, or a new one stored now. Runs keyring calls: not on a GUI thread."""
    token = keys.get_key(KEY_ID)
    if token:
        return token
    return new_token()


def new_token() -> str:
    """A fresh token, stored in place of the old one (old clients get 401 from now on)."""
    token = secrets.token_urlsafe(32)
    keys.set_key(KEY_ID, token)
    return token


def token_from_headers(headers: dict[str, str]) -> str:
    """The token a request carries: `Authorization: Bearer T` (OpenAI SDK) or
    `x-api-key: T` (Anthropic SDK). Header names are lower case (ASGI)."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get("x-api-key", "").strip()


def matches(given: str, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))
