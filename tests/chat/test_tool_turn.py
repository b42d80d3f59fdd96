"""A chat turn with tools on the real engine (the test GGUF, Gemma's template: the
Generic format): the forced call is approved and run, its result is stored with the
answer and goes back to the model; a denied call, the round limit, Stop, and a tool that
fails each end the way the user is told."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.chat.store import ChatStore
from assistant.chat.tool_turn import run_with_tools
from assistant.chat.turn import history_messages
from assistant.core.types import GenParams, ToolCall
from assistant.errors import AssistantError
from assistant.tools.loop import DENIED, DENIED_RESULT, DONE, FAILED, SKIPPED, STOPPED, ToolRecord, ToolSession

ADD = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"],
       "additionalProperties": False}


class Adder:
    """A real tool (it adds), counting its calls; `fail` makes it raise as a broken server would."""

    def __init__(self, fail: bool = False, on_call: Any = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail, self.on_call = fail, on_call

    def specs(self) -> list[dict[str, Any]]:
        return [{"type": "function", "function": {"name": "add", "description": "Add two integers", "parameters": ADD}}]

    def server_of(self, name: str) -> str:
        return "calc"

    def call(self, name: str, arguments: dict[str, Any], cancel: threading.Event) -> str:
        self.calls.append(arguments)
        if self.on_call is not None:
            self.on_call()
        if self.fail:
            raise AssistantError("The calc server crashed.", "Start it again.")
        return str(arguments["a"] + arguments["b"])


PARAMS = GenParams(max_tokens=100, seed=2, parallel_tool_calls=False)


def turn(store: ChatStore, engine: Any, session: ToolSession, cancel: threading.Event | None = None) -> Any:
    conv = store.create_conversation(title="t", system_prompt=None, model="m")
    result = run_with_tools(store, engine, conv.id, session=session, params=PARAMS, cancel=cancel or threading.Event(),
                            user_text="What is 2 + 3?", system_prompt=None, model_name="m")
    return conv.id, result


def test_an_approved_call_runs_and_its_result_goes_back(tmp_path: Path, gemma_engine: Any) -> None:
    box, asked = Adder(), []
    seen: list[tuple[str, bool]] = []
    # one round: a base model shown a call in its history tends to call again (then skipped)
    session = ToolSession(box, lambda call, server: asked.append((call.name, server)) or True, tool_choice="required",
                          on_call=lambda call, rec: seen.append((call.name, rec is None)), max_rounds=1)
    with ChatStore.open(tmp_path / "h.db") as store:
        conv, result = turn(store, gemma_engine, session)
        assert asked == [("add", "calc")] and len(box.calls) == 1 and seen == [("add", True), ("add", False)]
        rows = store.messages(conv)
        assert [r.role for r in rows] == ["user", "assistant", "assistant"]
        records = [ToolRecord.from_dict(d) for d in store.tools(rows[1].id)]
        assert len(records) == 1 and records[0].status == DONE and records[0].server == "calc"
        args = json.loads(records[0].call.arguments)
        assert records[0].result == str(args["a"] + args["b"])
        assert result.message_id == rows[2].id and result.tool_rounds == 1
        again = [ToolRecord.from_dict(d) for d in store.tools(rows[2].id)]
        assert result.rounds_limited == bool(again) and all(r.status == SKIPPED for r in again)
        history = history_messages(store, conv)
        assert [m.role for m in history][:3] == ["user", "assistant", "tool"]
        assert history[1].tool_calls == [records[0].call] and history[2].content == records[0].result
        assert history[2].tool_call_id == records[0].call.id
        # the next answer's prompt carries the call and its result
        prompt = gemma_engine.render_prompt(history[:3], GenParams(tools=box.specs()))
        assert '{"tool_calls": [{"name": "add", "arguments": ' + records[0].call.arguments + "}]}" in prompt
        assert '{"tool_response": {"name": "add", "id": "' + records[0].call.id + '", "content": "' + records[0].result in prompt


def test_a_denied_call_is_not_run_and_the_model_is_told(tmp_path: Path, gemma_engine: Any) -> None:
    box = Adder()
    session = ToolSession(box, lambda call, server: False, tool_choice="required", max_rounds=1)
    with ChatStore.open(tmp_path / "h.db") as store:
        conv, _ = turn(store, gemma_engine, session)
        rows = store.messages(conv)
        record = ToolRecord.from_dict(store.tools(rows[1].id)[0])
        assert box.calls == [] and record.status == DENIED and record.result == DENIED_RESULT
        assert history_messages(store, conv)[2].content == DENIED_RESULT


def test_the_round_limit_stores_the_calls_it_did_not_run(tmp_path: Path, gemma_engine: Any) -> None:
    box = Adder()
    session = ToolSession(box, lambda call, server: True, tool_choice="required", max_rounds=0)
    with ChatStore.open(tmp_path / "h.db") as store:
        conv, result = turn(store, gemma_engine, session)
        assert result.rounds_limited and box.calls == []
        rows = store.messages(conv)
        assert len(rows) == 2 and ToolRecord.from_dict(store.tools(rows[1].id)[0]).status == SKIPPED


def test_a_failing_tool_and_stop(tmp_path: Path, gemma_engine: Any) -> None:
    with ChatStore.open(tmp_path / "h.db") as store:
        conv, _ = turn(store, gemma_engine, ToolSession(Adder(fail=True), lambda c, s: True, tool_choice="required", max_rounds=1))
        record = ToolRecord.from_dict(store.tools(store.messages(conv)[1].id)[0])
        assert record.status == FAILED and record.result == "Error: The calc server crashed."
        cancel = threading.Event()
        box = Adder(on_call=cancel.set)  # Stop pressed while the tool runs
        conv, result = turn(store, gemma_engine, ToolSession(box, lambda c, s: True, tool_choice="required"), cancel)
        rows = store.messages(conv)
        assert len(rows) == 2 and len(box.calls) == 1  # no answer after Stop
        assert ToolRecord.from_dict(store.tools(rows[1].id)[0]).status == DONE


def test_arguments_that_are_not_an_object_fail_without_running() -> None:
    box = Adder()
    session = ToolSession(box, lambda c, s: True)
    recs = session.execute([ToolCall("add", "[1, 2]", "c1"), ToolCall("add", "{oops", "c2")], threading.Event())
    assert [r.status for r in recs] == [FAILED, FAILED] and box.calls == []
    cancel = threading.Event()
    cancel.set()
    assert session.execute([ToolCall("add", '{"a": 1, "b": 2}', "c3")], cancel)[0].status == STOPPED


@pytest.mark.parametrize("kind", ["db"])
def test_records_round_trip(kind: str) -> None:
    r = ToolRecord(ToolCall("add", '{"a": 1}', "c9"), "calc", DONE, "1", 0.25)
    assert ToolRecord.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_a_chats_tools_and_its_answers_calls_are_kept_with_it(tmp_path: Path) -> None:
    from assistant.tools.registry import EnabledTools

    with ChatStore.open(tmp_path / "h.db") as store:
        a = store.create_conversation(title="a", system_prompt=None, model="m")
        b = store.create_conversation(title="b", system_prompt=None, model="m")
        on = EnabledTools(servers={"calc"}, off={("calc", "crash")})
        store.set_enabled_tools(a.id, on.to_json())
        assert EnabledTools.from_json(store.enabled_tools(a.id)) == on and store.enabled_tools(b.id) is None
        store.add_message(a.id, "user", "q")
        answer = store.begin_answer(a.id, "llama.cpp", "m")
        store.save_tools(answer, [ToolRecord(ToolCall("add", "{}", "c1"), "calc", DONE, "3").to_dict()])
        assert store.conversation_tools(a.id) == {answer: store.tools(answer)} and store.conversation_tools(b.id) == {}
        store.delete_messages_from(a.id, answer)
        assert store.tools(answer) == []  # gone with its message
        store.set_enabled_tools(a.id, None)
        assert store.enabled_tools(a.id) is None
