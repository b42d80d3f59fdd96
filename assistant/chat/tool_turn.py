"""A chat turn with tools: `run_turn` again after each answer that ends in calls, with the
calls approved and run in between (tools/loop.py), up to the session's round limit.

Each answer is its own message; its calls and their results are stored with it
(ChatStore.save_tools), so history_messages sends them back to the model as the
assistant's calls and the tool results, and the window shows them under the answer.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from assistant.chat.store import ChatStore
from assistant.chat.turn import TurnResult, run_turn
from assistant.core.types import GenParams
from assistant.engines.base import Engine
from assistant.tools.loop import ToolSession, skipped


def run_with_tools(store: ChatStore, engine: Engine, conversation_id: int, *, session: ToolSession, params: GenParams,
                   cancel: threading.Event, user_text: str | None = None, **kw: Any) -> TurnResult:
    """The turn's last answer (the one without calls, or the one the limit or Stop ended).
    `kw` goes to run_turn (system_prompt, model_name, on_text...)."""
    params = session.params(params)
    result = run_turn(store, engine, conversation_id, params=params, cancel=cancel, user_text=user_text, **kw)
    rounds = 0
    while result.chunk is not None and result.chunk.tool_calls:
        calls = result.chunk.tool_calls
        if rounds >= session.max_rounds:
            store.save_tools(result.message_id, [r.to_dict() for r in skipped(calls, session.box)])
            result.rounds_limited = True
            break
        records = session.execute(calls, cancel)
        store.save_tools(result.message_id, [r.to_dict() for r in records])
        rounds += 1
        if cancel.is_set():
            break
        # a forced call is forced once: the next answer may answer in words (as agent SDKs do)
        params = replace(params, tool_choice="auto")
        result = run_turn(store, engine, conversation_id, params=params, cancel=cancel, **kw)
    result.tool_rounds = rounds
    return result
