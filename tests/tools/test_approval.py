"""The approval policy: ask, always allow (remembered in settings, revocable), deny."""

from __future__ import annotations

import io
from pathlib import Path

from assistant.paths import get_paths
from assistant.settings import Settings, load_settings, save_settings
from assistant.tools.approval import (
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    approve_all,
    declined_text,
    terminal_approver,
)

REQ = ApprovalRequest("files", "delete", {"path": "/tmp/x", "force": True}, "Delete a file.")


class Answers:
    """An approver that answers from a list and counts the questions (the user's part)."""

    def __init__(self, *answers: Decision) -> None:
        self.answers = list(answers)
        self.asked: list[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> Decision:
        self.asked.append(request)
        return self.answers.pop(0)


def _policy() -> tuple[Settings, ApprovalPolicy]:
    settings = Settings()
    path = get_paths().settings_file
    return settings, ApprovalPolicy(settings, lambda: save_settings(settings, path))


def test_every_call_asks_by_default(home: Path) -> None:
    _, policy = _policy()
    user = Answers(Decision.ALLOW_ONCE, Decision.ALLOW_ONCE)
    assert policy.decide(REQ, user) is Decision.ALLOW_ONCE
    assert policy.decide(REQ, user) is Decision.ALLOW_ONCE
    assert user.asked == [REQ, REQ]
    assert policy.always_allowed() == []


def test_always_is_remembered_per_tool_in_the_settings_file(home: Path) -> None:
    _, policy = _policy()
    user = Answers(Decision.ALWAYS, Decision.ALLOW_ONCE)
    assert policy.decide(REQ, user) is Decision.ALWAYS
    assert policy.decide(REQ, user) is Decision.ALWAYS  # not asked again
    other_tool = ApprovalRequest("files", "read", {})
    other_server = ApprovalRequest("backup", "delete", {})
    assert policy.decide(other_tool, user) is Decision.ALLOW_ONCE
    assert len(user.asked) == 2 and user.asked[1] is other_tool
    # saved: a new start reads it back
    loaded = load_settings(get_paths().settings_file)
    assert loaded.warning == ""
    again = ApprovalPolicy(loaded.settings)
    assert again.always_allowed() == [("files", "delete")]
    assert not again.is_always_allowed("backup", "delete") and other_server.tool == "delete"


def test_revoke_asks_again(home: Path) -> None:
    settings, policy = _policy()
    policy.allow_always("files", "delete")
    policy.allow_always("files", "delete")  # once only
    assert settings.tools.always_allowed == [{"server": "files", "tool": "delete"}]
    assert policy.revoke("files", "delete") is True
    assert policy.revoke("files", "delete") is False
    assert load_settings(get_paths().settings_file).settings.tools.always_allowed == []
    user = Answers(Decision.DENY)
    assert policy.decide(REQ, user) is Decision.DENY
    assert user.asked == [REQ]


def test_deny_gives_the_model_a_result_saying_so() -> None:
    text = declined_text(REQ)
    assert text.startswith("The user declined this call of delete (MCP server files); it was not run.")


def test_yes_allows_without_remembering(home: Path) -> None:
    settings, policy = _policy()
    assert policy.decide(REQ, approve_all) is Decision.ALLOW_ONCE
    assert settings.tools.always_allowed == []


def test_the_terminal_prompt_shows_the_exact_arguments() -> None:
    answers = [("o\n", Decision.ALLOW_ONCE), ("once\n", Decision.ALLOW_ONCE), ("Y\n", Decision.ALLOW_ONCE),
               ("yes\n", Decision.ALLOW_ONCE), ("a\n", Decision.ALWAYS), ("always\n", Decision.ALWAYS),
               ("d\n", Decision.DENY), ("", Decision.DENY), ("maybe\n", Decision.DENY)]
    for typed, decision in answers:
        out = io.StringIO()
        assert terminal_approver(io.StringIO(typed), out)(REQ) is decision, typed
        shown = out.getvalue()
        assert "delete (MCP server files)" in shown
        assert '{\n  "force": true,\n  "path": "/tmp/x"\n}' in shown
        assert shown.endswith("Allow? [o]nce, [a]lways for this tool, [d]eny: ")


def test_the_arguments_are_shown_as_written() -> None:
    assert ApprovalRequest("s", "t", {"name": "Zoë"}).arguments_text == '{\n  "name": "Zoë"\n}'


def test_a_malformed_always_entry_is_dropped_on_load(home: Path) -> None:
    path = get_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"tools": {"always_allowed": [{"server": "a", "tool": "b"}, {"server": 3}], '
                    '"call_timeout_s": 0}}')
    loaded = load_settings(path)
    assert ApprovalPolicy(loaded.settings).always_allowed() == [("a", "b")]
    half = Settings()
    half.tools.always_allowed = [{"server": "a"}, {"tool": "b"}, {"server": "c", "tool": "d"}]
    assert ApprovalPolicy(half).always_allowed() == [("c", "d")]  # a half entry allows nothing
    assert loaded.settings.tools.call_timeout_s == 60.0
    assert "tools.always_allowed[1].server" in loaded.warning and "tools.call_timeout_s" in loaded.warning
