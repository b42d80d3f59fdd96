"""Reaching the Hub: which address (huggingface.co or a mirror), the user's token, rate limits.

- The endpoint is the `hub_endpoint` setting (an HF_ENDPOINT-style mirror or self-hosted
  proxy), else huggingface_hub's default (huggingface.co, or HF_ENDPOINT when set).
- The Hugging Face token lives in the OS keyring (`keys`, provider "huggingface"), like the
  cloud keys. It is sent only to the endpoint's own origin (`auth_headers_for`): never to
  the storage a download is redirected to, nor anywhere else. httpx also drops it on a
  redirect to another origin. `keys` scrubs it from every log line; the network record
  holds no headers.
- 429 answers: `retry_after` reads `Retry-After` (seconds or an HTTP date) and the IETF
  `RateLimit` header (`"api";r=0;t=55`) that the Hub sends.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from assistant import keys
from assistant.errors import AssistantError

HF_TOKEN_PROVIDER = "huggingface"
DEFAULT_ENDPOINT = "https://huggingface.co"
MAX_RATE_WAIT_S = 600.0  # longer than this, tell the user instead of waiting
_RATELIMIT = re.compile(r"\"?(?P<kind>[\w-]+)\"?\s*;\s*r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+)")


def default_endpoint() -> str:
    from huggingface_hub import constants

    return str(constants.ENDPOINT).rstrip("/")


def endpoint_from_setting(value: str | None) -> str | None:
    """The setting's address, normalised ("" or None: the default)."""
    value = (value or "").strip().rstrip("/")
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    return value


def valid_endpoint(value: str) -> str | None:
    """Why this address cannot be a Hub endpoint, or None when it can."""
    url = urlsplit(endpoint_from_setting(value) or DEFAULT_ENDPOINT)
    if url.scheme not in ("http", "https") or not url.hostname:
        return "The Hub address should look like https://hf-mirror.example.org."
    if url.query or url.fragment:
        return "The Hub address should not have a ? or # part."
    return None


def stored_token() -> str | None:
    """The user's Hugging Face token from the keyring; None when none is stored or the
    keyring cannot be read (downloads of public models need none)."""
    try:
        return keys.get_key(HF_TOKEN_PROVIDER)
    except AssistantError:
        return None


def same_origin(url: str, endpoint: str) -> bool:
    a, b = urlsplit(url), urlsplit(endpoint)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def auth_headers_for(url: str, endpoint: str, token: str | None) -> dict[str, str]:
    """{"Authorization": "Bearer …"} for a request to the endpoint itself; {} for anywhere else."""
    if token and same_origin(url, endpoint):
        return {"Authorization": f"Bearer {token}"}
    return {}


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a 429 (or 503) asks us to wait: Retry-After first, then RateLimit's t=."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = (lower.get("retry-after") or "").strip()
    if value:
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            return max(0.0, when - (now if now is not None else time.time()))
    m = _RATELIMIT.search(lower.get("ratelimit") or "")
    if m and int(m.group("r")) == 0:
        return float(m.group("t"))
    reset = (lower.get("ratelimit-reset") or lower.get("x-ratelimit-reset") or "").strip()
    return float(reset) if reset.isdigit() else None


def gated_message(repo_id: str, endpoint: str, have_token: bool) -> tuple[str, str]:
    """(message, hint) for a gated repo the user has no access to."""
    page = f"{endpoint.rstrip('/')}/{repo_id}"
    if have_token:
        return (f"{repo_id} is a gated model, and your Hugging Face token does not have access to it yet.",
                f"Open {page} while logged in, accept the licence there (some need the owner's approval), "
                "then try again.")
    return (f"{repo_id} is a gated model: its licence must be accepted before downloading.",
            f"Open {page}, log in and accept the licence, then add a Hugging Face token in Settings "
            "(Settings → Hugging Face) and try again.")
