"""Redaction and the exact outgoing preview."""

from __future__ import annotations

from assistant.chat.privacy import outgoing_messages, preview_text, redact_messages, redact_text
from assistant.core.types import Message
from assistant.engines.cloud import CloudEngine


def test_emails_phones_and_keys_are_replaced() -> None:
    text = (
        "Mail jane.doe+work@example.co.uk or call +44 20 7946 0958 / (555) 123-4567. "
        "My key is sk-proj-AbC123xyz789QwErTy and token ghp_16C7e42F292c6912E7710c838347Ae178B4a."
    )
    r = redact_text(text)
    assert "example.co.uk" not in r.text and "[email]" in r.text
    assert "7946" not in r.text and "123-4567" not in r.text and r.phones == 2
    assert "sk-proj" not in r.text and "ghp_" not in r.text and r.tokens == 2
    assert r.count == 5


def test_ordinary_text_is_left_alone() -> None:
    text = "In 2024-05-01 we sold 3 apples for 12.50 each; version 1.2.3 of the app, ISO 8601."
    assert redact_text(text).text == text


def test_redact_messages_keeps_roles() -> None:
    msgs, n = redact_messages([Message("system", "be kind"), Message("user", "a@b.org")])
    assert [(m.role, m.content) for m in msgs] == [("system", "be kind"), ("user", "[email]")] and n == 1


def test_outgoing_is_the_context_that_fits_redacted() -> None:
    engine = CloudEngine("openai-compatible", "m", "", base_url="http://127.0.0.1:9/v1")
    history = [Message("user", "old " * 400), Message("assistant", "ok"), Message("user", "mail me at x@y.com")]
    out = outgoing_messages(history, system_prompt="sys", n_ctx=300, count_tokens=engine.count_tokens,
                            max_tokens=64, redact=True)
    assert out[0] == Message("system", "sys")
    assert out[-1] == Message("user", "mail me at [email]")
    assert all("old old" not in m.content for m in out)  # the long old turn does not fit
    plain = outgoing_messages(history[-1:], system_prompt=None, n_ctx=300, count_tokens=engine.count_tokens,
                              max_tokens=64, redact=False)
    assert plain == [Message("user", "mail me at x@y.com")]
    assert "── You ──\nmail me at [email]" in preview_text(out)
