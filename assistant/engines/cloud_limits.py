"""Cloud models' context windows (by model-id prefix) and the token estimate used
before a request: the providers' tokenizers are not local."""

from __future__ import annotations

DEFAULT_CONTEXT = 128_000
# prefix -> context window in tokens; the longest matching prefix wins
KNOWN_CONTEXT: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "claude": 200_000,
}

CHARS_PER_TOKEN = 4


def context_for(model: str) -> int:
    best = ""
    for prefix in KNOWN_CONTEXT:
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return KNOWN_CONTEXT[best] if best else DEFAULT_CONTEXT


def estimate_tokens(text: str) -> int:
    """An estimate, not a count: about 4 characters a token for English text."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
