"""What goes to the cloud, exactly: optional redaction and the preview the user consents to.

Redaction is pattern-based and conservative: e-mail addresses, phone numbers and
strings that look like API keys or tokens become placeholders such as
`[email]`. The preview is built with the same function the cloud turn uses
(`outgoing_messages`), so what the user saw is what is sent.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from assistant.chat.context import answer_reserve, build_context
from assistant.core.image_format import image_info
from assistant.core.types import Message
from assistant.errors import AssistantError

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# +44 20 7946 0958, +33 6 12 34 56 78, +49 30 901820, +1 (555) 123-4567, +33612345678,
# (555) 123-4567, 555-123-4567, 0171 555 1234: 7 to 15 digits in phone-like groups. After a
# country code any grouping goes (one digit: a French mobile; six: a Berlin number), so
# no part of the number is left behind; without one, groups of 2-4 digits.
PHONE = re.compile(
    r"(?<![\w+])(?<!\w[.-])(?:"
    r"\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,12}(?:[\s.-]\d{1,8}){0,4}"
    r"|(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}"
    r")(?![\w])"
)
DATE = re.compile(r"\d{4}([-./ ])\d{1,2}\1\d{1,2}|\d{1,2}([-./ ])\d{1,2}\2\d{4}")
# sk-..., ghp_..., glpat-..., xoxb-..., hf_..., AKIA..., JWTs, Bearer tokens, and long
# random-looking strings. GitHub and Hugging Face write `_` after the prefix, GitLab
# and Slack `-`.
TOKEN = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"
    r"|\b(?:ghp|gho|ghu|ghs|ghr|github_pat|hf)_[A-Za-z0-9_-]{8,}"
    r"|\b(?:xox[abposr]|glpat|gldt|glptt)-[A-Za-z0-9_-]{8,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,}"
    r"|\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"
)


@dataclass(frozen=True)
class Redaction:
    text: str
    emails: int = 0
    phones: int = 0
    tokens: int = 0

    @property
    def count(self) -> int:
        return self.emails + self.phones + self.tokens


def _is_phone(match: str) -> bool:
    digits = sum(ch.isdigit() for ch in match)
    # dates (2024-05-01, 12.05.2024) and version numbers have few digits or look like dates
    return 7 <= digits <= 15 and not DATE.fullmatch(match.strip())


def redact_text(text: str) -> Redaction:
    counts = {"tokens": 0, "emails": 0, "phones": 0}

    def sub(kind: str, label: str) -> Callable[[re.Match[str]], str]:
        def replace(m: re.Match[str]) -> str:
            if kind == "phones" and not _is_phone(m.group(0)):
                return m.group(0)
            counts[kind] += 1
            return label

        return replace

    # tokens first: a key may contain digit runs that would look like a phone number
    text = TOKEN.sub(sub("tokens", "[key]"), text)
    text = EMAIL.sub(sub("emails", "[email]"), text)
    text = PHONE.sub(sub("phones", "[phone]"), text)
    return Redaction(text, counts["emails"], counts["phones"], counts["tokens"])


def redact_messages(messages: list[Message]) -> tuple[list[Message], int]:
    """The messages with redaction applied, and how many things were replaced."""
    out, n = [], 0
    for m in messages:
        r = redact_text(m.content)
        calls = []
        for c in m.tool_calls:  # a call's arguments are outgoing text too
            arguments, k = _redact_json(c.arguments)
            calls.append(replace(c, arguments=arguments))
            n += k
        out.append(replace(m, content=r.text, thinking="", tool_calls=calls))
        n += r.count
    return out, n


def _redact_json(text: str) -> tuple[str, int]:
    """Redaction inside a call's JSON arguments: the strings in it, so the JSON stays valid."""
    try:
        value = json.loads(text)
    except ValueError:
        r = redact_text(text)
        return r.text, r.count
    count = 0

    def walk(v: Any) -> Any:
        nonlocal count
        if isinstance(v, str):
            r = redact_text(v)
            count += r.count
            return r.text
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    value = walk(value)
    return json.dumps(value, ensure_ascii=False), count


def outgoing_messages(
    history: list[Message],
    *,
    system_prompt: str | None,
    n_ctx: int,
    count_tokens: Callable[[list[Message]], int],
    max_tokens: int,
    redact: bool,
) -> list[Message]:
    """Exactly the messages a cloud request carries: the context that fits the cloud
    model's window, redacted when the user asked for it. `history` ends with the prompt."""
    messages = build_context(
        history,
        system_prompt=system_prompt,
        n_ctx=n_ctx,
        count_tokens=count_tokens,
        reserve=answer_reserve(n_ctx, max_tokens),
    )
    return redact_messages(messages)[0] if redact else messages


class OutgoingMessages(list[Message]):
    """The messages of a cloud request (a list), with what the preview says about their images:
    the names they were attached as (path -> name) and how many the chat's "never send
    images" mark left out. SendPolicy.outgoing_preview gives one; preview_text reads it."""

    def __init__(self, messages: list[Message], image_names: dict[str, str] | None = None,
                 images_withheld: int = 0) -> None:
        super().__init__(messages)
        self.image_names = dict(image_names or {})
        self.images_withheld = images_withheld


def withhold_images(messages: list[Message]) -> tuple[list[Message], int]:
    """The messages without their images (a chat marked "never send images"), and how many were left out."""
    n = sum(len(m.images) for m in messages)
    return ([replace(m, images=[]) for m in messages] if n else messages), n


def image_label(path: str, names: dict[str, str] | None = None) -> str:
    """'photo.jpg (1.2 MB, 640 × 480)': the name it was attached as, its size and pixels."""
    name = (names or {}).get(path) or os.path.basename(path)
    try:
        size = os.path.getsize(path)
        info = image_info(path)
    except (OSError, AssistantError):
        return f"{name} (cannot be read: it would not be sent)"
    amount = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{max(1, round(size / 1e3))} kB"
    return f"{name} ({amount}, {info.width} × {info.height})"


def preview_text(messages: list[Message]) -> str:
    """The outgoing messages as the consent dialog shows them: a message's images listed by
    name, size and pixels; images left out by the chat's "never send images" mark are said to
    be (both known when `messages` is OutgoingMessages)."""
    image_names = messages.image_names if isinstance(messages, OutgoingMessages) else None
    images_withheld = messages.images_withheld if isinstance(messages, OutgoingMessages) else 0
    names = {"system": "System", "user": "You", "assistant": "Assistant"}
    parts = []
    for m in messages:
        if m.role == "tool":  # what a tool returned goes too, and is shown as such
            parts.append(f"── Tool result{f' ({m.name})' if m.name else ''} ──\n{m.content}")
            continue
        text = m.content
        for c in m.tool_calls:
            text += ("\n" if text else "") + f"[calls {c.name} with {c.arguments}]"
        for path in m.images:
            text += ("\n" if text else "") + f"[image: {image_label(path, image_names)}]"
        parts.append(f"── {names.get(m.role, m.role)} ──\n{text}")
    if images_withheld:
        parts.append(f"({images_withheld} image{'s' if images_withheld > 1 else ''} left out: this chat is marked"
                     " “Never send images”.)")
    return "\n\n".join(parts)
