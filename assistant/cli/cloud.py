"""The cloud from a terminal: `ask --cloud`, the routing modes (`--route`), and the
consent question, asked at the prompt or skipped with `--yes`.

The rules are chat/dispatch.py's, the same the window follows; only the asking is
the terminal's own.
"""

from __future__ import annotations

import sys
from typing import Callable

from assistant.chat.dispatch import ConsentRequest, SendPolicy, Target
from assistant.chat.router import LocalModelInfo
from assistant.core.types import ModelRef

PREVIEW_CHARS = 400  # per message, in the consent question


def choose_target(
    policy: SendPolicy,
    prompt: str,
    conversation_id: int,
    model: ModelRef | None,
    *,
    explicit_cloud: bool,
    mode: str | None,
    yes: bool,
    ask: Callable[[str], str] = input,
) -> Target:
    """"local" or "cloud" for this prompt. An explicit cloud request that the rules refuse
    (no cloud set up, Offline mode, the monthly limit, a never-cloud chat) raises the
    AssistantError that says why."""
    if explicit_cloud or model is None:
        policy.check_cloud_allowed(conversation_id)
        return "cloud"
    local = LocalModelInfo(model.display_name, None, policy.settings.context_length)
    d = policy.decide(prompt, conversation_id, local=local, model_path=model.path, mode=mode)
    if d.notice:
        print(d.notice, file=sys.stderr)
    if d.consent is None:
        return d.target
    return "cloud" if ask_consent(d.consent, yes=yes, ask=ask) else "local"


def ask_consent(req: ConsentRequest, *, yes: bool, ask: Callable[[str], str] = input) -> bool:
    """Show the question, the reason and exactly what would be sent; True to send."""
    err = sys.stderr
    print(req.question, file=err)
    print(f"Why: {req.reason}", file=err)
    print("It would send" + (" (e-mail addresses, phone numbers and keys hidden):" if req.redacted else ":"), file=err)
    for m in req.messages:
        text = m.content if len(m.content) <= PREVIEW_CHARS else m.content[:PREVIEW_CHARS] + "…"
        print(f"  [{m.role}] {text}", file=err)
    if yes:
        print("Sending (--yes).", file=err)
        return True
    if not sys.stdin.isatty():
        print("Not sent: there is no terminal to ask. Answered locally; pass --yes to send without asking.", file=err)
        return False
    try:
        answer = ask("Send it? [y/N] ")
    except EOFError:
        answer = ""
    sent = answer.strip().lower() in ("y", "yes")
    if not sent:
        print("Kept local.", file=err)
    return sent
