"""McpTools: the servers of mcp.json, their tools, and a model's call run end to end
(resolved, approved or not, run with its limits) against the real SDK test server."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core.types import ToolCall
from assistant.errors import ToolCancelledError
from assistant.settings import Settings, ToolSettings
from assistant.tools.approval import ApprovalPolicy, ApprovalRequest, Decision, approve_all
from assistant.tools.manager import McpTools
from assistant.tools.mcp_config import McpConfig, ServerConfig
from assistant.tools.registry import EnabledTools

SERVER = str(Path(__file__).resolve().parents[1] / "support" / "mcp_server.py")


@pytest.fixture(scope="module")
def tools() -> Iterator[McpTools]:
    config = McpConfig({"tests": ServerConfig("tests", command=sys.executable, args=[SERVER]),
                        "ghost": ServerConfig("ghost", command="no-such-mcp-command")})
    t = McpTools(config, ApprovalPolicy(Settings()), ToolSettings(call_timeout_s=0.5, max_result_kb=1))
    problems = t.refresh()
    assert list(problems) == ["ghost"] and "'no-such-mcp-command' was not found" in problems["ghost"]
    yield t
    t.close()


def test_the_tools_of_every_server_that_started(tools: McpTools) -> None:
    names = tools.registry.names()
    assert "tests__echo" in names and not any(n.startswith("ghost") for n in names)
    enabled = EnabledTools(servers={"tests"})
    shapes = tools.registry.openai_tools(enabled)
    assert {s["function"]["name"] for s in shapes} == set(names)


def test_an_approved_call_runs(tools: McpTools) -> None:
    out = tools.run(ToolCall("tests__add", '{"a": 1, "b": 2}', "c1"), approve_all)
    assert (out.text, out.status, out.tool and out.tool.name) == ("3", "ok", "add")


def test_the_approver_sees_the_exact_call_and_deny_answers_the_model(tools: McpTools) -> None:
    asked: list[ApprovalRequest] = []

    def no(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision.DENY

    out = tools.run(ToolCall("tests__echo", '{"text": "rm -rf"}'), no)
    assert asked == [ApprovalRequest("tests", "echo", {"text": "rm -rf"}, "Return the text unchanged.")]
    assert out.status == "declined" and out.result is None
    assert out.text.startswith("The user declined this call of echo")


def test_failures_become_text_for_the_model(tools: McpTools) -> None:
    unknown = tools.run(ToolCall("echo", "{}"), approve_all)
    assert unknown.status == "error" and unknown.text.startswith("Error: There is no tool named 'echo'.")
    slow = tools.run(ToolCall("tests__sleep", '{"seconds": 5}'), approve_all)  # the settings' 0.5 s limit
    assert slow.status == "timeout" and "did not answer within 0.5 s" in slow.text
    big = tools.run(ToolCall("tests__echo", '{"text": "%s"}' % ("y" * 2000)), approve_all)
    assert big.status == "ok" and big.text.endswith("(cut: the tool returned 2 KB; the first 1 KB is shown)")


def test_stop_ends_the_loop(tools: McpTools) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ToolCancelledError):
        tools.run(ToolCall("tests__sleep", '{"seconds": 5}'), approve_all, cancel, timeout_s=30)
