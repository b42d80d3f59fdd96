"""The tool registry: qualified names, a chat's switched-on tools, the OpenAI tool shape."""

from __future__ import annotations

import re

import pytest

from assistant.core.types import ToolCall
from assistant.errors import ToolError
from assistant.tools.registry import EnabledTools, ToolInfo, ToolRegistry, qualified_name, to_openai

ADD = ToolInfo("calc", "add", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "integer"}}})
_OPENAI_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def test_qualified_names_join_server_and_tool() -> None:
    assert qualified_name("calc", "add") == "calc__add"
    exact = qualified_name("s" * 30, "t" * 32)
    assert exact == "s" * 30 + "__" + "t" * 32 and len(exact) == 64  # 64 fits as it is


def test_a_name_is_cleaned_then_made_unique() -> None:
    assert qualified_name("my server", "read").startswith("my_server__read_")
    assert qualified_name("日本", "read").startswith("x__read_")
    assert qualified_name("(files)", "read").startswith("files__read_")
    assert ToolInfo("s", "t").input_schema == {"type": "object", "properties": {}}
    assert len({ADD, ToolInfo(ADD.server, ADD.name, ADD.description, dict(ADD.input_schema))}) == 1  # hashable


@pytest.mark.parametrize("server_a, server_b", [("my server", "my_server"), ("files.v2", "files_v2"), ("é", "ü")])
def test_servers_whose_names_clean_up_the_same_stay_apart(server_a: str, server_b: str) -> None:
    a, b = qualified_name(server_a, "read"), qualified_name(server_b, "read")
    assert a != b
    assert _OPENAI_NAME.match(a) and _OPENAI_NAME.match(b)


def test_a_long_name_is_cut_to_64_and_stays_unique() -> None:
    a = qualified_name("s" * 50, "t" * 50 + "1")
    b = qualified_name("s" * 50, "t" * 50 + "2")
    assert len(a) == len(b) == 64 and a != b
    assert _OPENAI_NAME.match(a)


def test_openai_shape() -> None:
    assert to_openai(ADD) == {"type": "function", "function": {
        "name": "calc__add",
        "description": "Add two numbers. (from the MCP server calc)",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
    }}
    bare = to_openai(ToolInfo("s", "noop", "", {}))
    assert bare["function"]["parameters"] == {"type": "object", "properties": {}}
    assert bare["function"]["description"] == "noop (from the MCP server s)"


def test_the_chat_gets_only_its_switched_on_tools() -> None:
    reg = ToolRegistry()
    reg.set_server_tools("calc", [ADD, ToolInfo("calc", "sub")])
    reg.set_server_tools("web", [ToolInfo("web", "fetch")])
    enabled = EnabledTools()
    assert reg.openai_tools(enabled) == []
    enabled.switch(ADD, True)
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["calc__add"]
    enabled.switch_server("web", True)
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["calc__add", "web__fetch"]
    reg.set_server_tools("web", [ToolInfo("web", "fetch"), ToolInfo("web", "search")])  # listed later: covered
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["calc__add", "web__fetch", "web__search"]
    enabled.switch(ToolInfo("web", "fetch"), False)
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["calc__add", "web__search"]
    enabled.switch_server("calc", False)
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["web__search"]
    enabled.switch(ToolInfo("web", "fetch"), True)  # on again, by itself
    enabled.switch(ToolInfo("web", "search"), False)
    enabled.switch_server("web", True)  # the whole server on again: the one-by-one choices go
    assert [t["function"]["name"] for t in reg.openai_tools(enabled)] == ["web__fetch", "web__search"]
    enabled.switch_server("web", False)
    assert reg.openai_tools(enabled) == []


def test_switching_a_tool_off_and_on() -> None:
    enabled = EnabledTools()
    enabled.switch(ADD, True)
    enabled.switch(ADD, False)
    assert not enabled.is_on(ADD)
    enabled.switch_server("calc", True)
    enabled.switch(ADD, False)
    enabled.switch(ADD, True)
    enabled.switch(ADD, True)
    assert enabled.is_on(ADD) and enabled.off == set()


def test_enabled_tools_are_stored_with_the_chat() -> None:
    enabled = EnabledTools()
    enabled.switch(ADD, True)
    enabled.switch_server("web", True)
    enabled.switch(ToolInfo("web", "fetch"), False)
    again = EnabledTools.from_json(enabled.to_json())
    assert again == enabled
    assert EnabledTools.from_json({"servers": [1, "ok"], "tools": [["a"], ["a", "b"]], "off": "x"}) == EnabledTools(
        {("a", "b")}, {"ok"}, set())
    assert EnabledTools.from_json(None) == EnabledTools()
    assert EnabledTools.from_json({"off": 5, "tools": None}) == EnabledTools()


def test_a_servers_new_list_replaces_its_old_one() -> None:
    reg = ToolRegistry()
    reg.set_server_tools("calc", [ADD])
    reg.set_server_tools("calc", [ToolInfo("calc", "mul")])
    assert reg.names() == ["calc__mul"]
    reg.remove_server("calc")
    assert reg.tools() == []


def test_resolve_a_models_call() -> None:
    reg = ToolRegistry()
    reg.set_server_tools("calc", [ADD])
    tool, args = reg.resolve(ToolCall("calc__add", '{"a": 2}', "c1"))
    assert (tool, args) == (ADD, {"a": 2})
    assert reg.resolve(ToolCall("calc__add", ""))[1] == {}
    with pytest.raises(ToolError, match="no tool named 'add'"):
        reg.resolve(ToolCall("add", "{}"))
    with pytest.raises(ToolError, match="not valid JSON"):
        reg.resolve(ToolCall("calc__add", '{"a": '))
    with pytest.raises(ToolError, match="should be a JSON object"):
        reg.resolve(ToolCall("calc__add", "[1]"))
