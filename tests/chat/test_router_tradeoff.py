"""The "send to the cloud" level: it moves the router's threshold, and the shipped
figures for each level are the ones measured on the held-out test split."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.chat.router import LocalModelInfo, assess, threshold_for
from assistant.chat.router_tradeoff import LEVELS, TRADEOFF_PATH, describe, shift_for, tradeoff
from assistant.settings import CloudSettings

TINY = LocalModelInfo("Gemma 3 1B", 1.0, 8192)


def test_levels_move_the_threshold_from_rarely_to_often() -> None:
    shifts = [shift_for(level) for level in sorted(LEVELS)]
    assert shifts == sorted(shifts, reverse=True) and shift_for(0) == 0.0
    assert shift_for(9) == shift_for(2) and shift_for(-9) == shift_for(-2)
    assert threshold_for(TINY, shift_for(-2)) > threshold_for(TINY) > threshold_for(TINY, shift_for(2))
    assert CloudSettings().send_level == 0


def test_the_same_prompt_goes_out_more_often_at_often() -> None:
    prompts = ["Why is the sky blue?", "Summarise the plot of Hamlet in three sentences.",
               "What's 23 x 19?", "Explain how a hash map works.", "Write a haiku about the sea."]
    sent = {lv: sum(assess(p, [], TINY, shift=shift_for(lv)).hard for p in prompts) for lv in (-2, 0, 2)}
    assert sent[-2] <= sent[0] <= sent[2] and sent[-2] < sent[2]


def test_shipped_figures_cover_every_level_and_trade_precision_for_recall() -> None:
    data = json.loads(TRADEOFF_PATH.read_text(encoding="utf-8"))
    assert "test6.jsonl" in data["about"] and data["prompts"] >= 110
    assert set(data["sizes"]) == set(data["sizes_structural"]) == {"1B", "8B", "32B"}
    for semantic in (True, False):
        for size in ("1B", "8B", "32B"):
            rows = [tradeoff(level, size, semantic=semantic) for level in sorted(LEVELS)]
            assert all(r.precision is not None and r.recall is not None and r.sent is not None for r in rows)
            recalls = [r.recall for r in rows]
            sent = [r.sent for r in rows]
            assert recalls == sorted(recalls) and sent == sorted(sent)  # "often" sends more, catches more
    assert tradeoff(0, semantic=True) != tradeoff(0, semantic=False)  # two routers, two sets of figures
    assert describe(0).startswith("Balanced: on the test prompts, with a 1B model, ")
    assert "%" in describe(-2) and describe(2).startswith("Often:")
    with_model, without = describe(1), describe(1, semantic=False)
    assert f"{tradeoff(1).recall:.0%} of what needs it is sent" in with_model and "embedding" not in with_model
    assert f"{tradeoff(1, semantic=False).recall:.0%} of what needs it is sent" in without
    assert without.endswith("(The router without the documents' embedding model: it is not in use.)")


def test_the_app_reads_no_test_file() -> None:
    import assistant.chat.router_tradeoff as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    assert "router_data" not in source and ".jsonl" not in source
