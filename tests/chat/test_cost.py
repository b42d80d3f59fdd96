"""Prices, totals from the real store, and the monthly limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assistant.chat.cost import (
    answer_cost,
    check_monthly_limit,
    conversation_total,
    format_usd,
    load_prices,
    month_start,
    month_total,
    price_for,
    write_user_copy,
)
from assistant.chat.store import ChatStore
from assistant.core.types import Usage
from assistant.errors import CloudLimitError, SettingsError


def test_builtin_table_has_dated_common_models() -> None:
    raw = json.loads((Path(__file__).resolve().parents[2] / "assistant/resources/prices.json").read_text())
    assert raw["checked"] and raw["source"]
    table = load_prices()
    assert price_for(table, "openai", "gpt-4o-mini-2024-07-18").input_per_m == 0.15  # longest prefix wins
    assert price_for(table, "openai", "gpt-4o-2024-08-06").output_per_m == 10.0
    assert price_for(table, "anthropic", "claude-sonnet-4-5-20250929") is not None
    assert price_for(table, "openai-compatible", "anything") is None


def test_answer_cost() -> None:
    table = load_prices()
    cost = answer_cost(table, "openai", "gpt-4o", Usage(prompt_tokens=1000, completion_tokens=500))
    assert cost == pytest.approx((1000 * 2.5 + 500 * 10) / 1e6)
    assert answer_cost(table, "openai-compatible", "x", Usage(1, 1)) is None
    assert format_usd(0.0075) == "$0.0075" and format_usd(12.3) == "$12.30"


def test_user_copy_overrides(tmp_path: Path) -> None:
    path = write_user_copy(tmp_path)
    data = json.loads(path.read_text())
    data["models"]["openai-compatible"] = {"gemma": {"input": 1.0, "output": 2.0}}
    data["models"]["openai"]["gpt-4o"] = {"input": 9.0, "output": 9.0}
    path.write_text(json.dumps(data))
    table = load_prices(tmp_path)
    assert price_for(table, "openai-compatible", "gemma-3-270m").output_per_m == 2.0
    assert price_for(table, "openai", "gpt-4o").input_per_m == 9.0
    assert price_for(table, "openai", "gpt-4.1").input_per_m == 2.0  # the rest stays
    path.write_text('{"models": {"openai": {"gpt-4o": {"input": "lots"}}}}')
    with pytest.raises(SettingsError, match="not readable"):
        load_prices(tmp_path)


def test_totals_and_monthly_limit(tmp_path: Path) -> None:
    with ChatStore.open(tmp_path / "h.sqlite3") as store:
        a = store.create_conversation("a")
        b = store.create_conversation("b")
        for conv, cost in ((a.id, 0.25), (a.id, 0.5), (b.id, 1.0)):
            mid = store.begin_answer(conv, "cloud", "gpt-4o", origin="cloud", provider="openai")
            store.finish_answer(mid, "x", "complete", cost_usd=cost)
        local = store.begin_answer(a.id, "llama.cpp", "gemma", origin="local")
        store.finish_answer(local, "y", "complete")
        assert store.get_message(local).origin == "local" and store.get_message(local).cost_usd is None
        assert conversation_total(store, a.id) == pytest.approx(0.75)
        assert month_total(store) == pytest.approx(1.75)
        assert month_total(store, now=time.time() + 40 * 86400) == 0.0  # next month starts at zero
        check_monthly_limit(store, 0)  # no limit
        check_monthly_limit(store, 2.0)
        with pytest.raises(CloudLimitError, match=r"limit of \$1.50 is reached") as info:
            check_monthly_limit(store, 1.5)
        assert "Settings → Cloud" in info.value.hint
    assert month_start(time.mktime((2026, 3, 17, 12, 0, 0, 0, 0, -1))) == time.mktime((2026, 3, 1, 0, 0, 0, 0, 0, -1))


# -- each rule at its edge (mutation testing found these untested) ------------------------------------
def test_the_user_copy_is_prices_json_in_a_folder_made_for_it(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "config"
    path = write_user_copy(folder)
    assert path == folder / "prices.json" and path.read_text() == (Path(__file__).resolve().parents[2] / "assistant/resources/prices.json").read_text()
    path.write_text('{"models": {}}')
    assert write_user_copy(folder) == path and path.read_text() == '{"models": {}}'  # an existing copy is kept
    (tmp_path / "exists").mkdir()
    assert write_user_copy(tmp_path / "exists").exists()


@pytest.mark.parametrize("text", ['{"models": [1]}', "[1, 2]", '{"other": {}}', '"prices"'])
def test_a_user_copy_without_models_is_refused_in_words(tmp_path: Path, text: str) -> None:
    (tmp_path / "prices.json").write_text(text)
    with pytest.raises(SettingsError, match="has no “models” section"):
        load_prices(tmp_path)


def test_an_unreadable_user_copy_is_refused_in_words(tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text("{oops")
    with pytest.raises(SettingsError, match="could not be read"):
        load_prices(tmp_path)
    (tmp_path / "prices.json").write_text('{"models": {"openai": {"gpt-x": {"input": "cheap", "output": 1}}}}')
    with pytest.raises(SettingsError, match="The price of openai gpt-x .* is not readable"):
        load_prices(tmp_path)
    (tmp_path / "prices.json").write_text('{"models": {"openai": {"gpt-x": {"output": 1}}}}')
    with pytest.raises(SettingsError, match="not readable"):
        load_prices(tmp_path)


def test_a_provider_that_is_not_a_table_is_skipped_and_verified_is_kept(tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text(json.dumps({"models": {
        "broken": [1, 2], "mine": {"a": {"input": 1, "output": 2}, "b": {"input": 1, "output": 2, "verified": False}}}}))
    table = load_prices(tmp_path)
    assert "broken" not in table or table["broken"] == load_prices()["broken"]
    assert table["mine"]["a"].verified is True and table["mine"]["b"].verified is False
    assert table["mine"]["a"].input_per_m == 1.0 and isinstance(table["mine"]["a"].input_per_m, float)


def test_the_longest_prefix_wins_whatever_the_order() -> None:
    from assistant.chat.cost import Price

    for order in (["gpt-4o-mini", "gpt-4o"], ["gpt-4o", "gpt-4o-mini"]):
        table = {"openai": {k: Price(len(k), 0) for k in order}}
        assert price_for(table, "openai", "gpt-4o-mini-2024").input_per_m == len("gpt-4o-mini")
        assert price_for(table, "openai", "gpt-4o-2024").input_per_m == len("gpt-4o")
    assert price_for({"openai": {}}, "openai", "gpt") is None and price_for({}, "x", "y") is None


def test_the_cost_of_one_answer_exactly() -> None:
    from assistant.chat.cost import Price

    table = {"p": {"m": Price(2.5, 10.0)}}
    assert answer_cost(table, "p", "m", Usage(1_000_000, 0)) == 2.5
    assert answer_cost(table, "p", "m", Usage(0, 1_000_000)) == 10.0
    assert answer_cost(table, "p", "m", Usage(400_000, 100_000)) == 2.0
    assert answer_cost(table, "p", "m", None) == 0.0  # no usage reported: nothing counted, not unknown
    assert answer_cost(table, "p", "other", None) is None


def test_sums_of_a_dollar_and_more_in_cents() -> None:
    assert format_usd(1) == "$1.00" and format_usd(0.999) == "$0.9990" and format_usd(1234.5) == "$1,234.50"


def test_the_limit_is_reached_at_exactly_the_limit(tmp_path: Path) -> None:
    with ChatStore.open(tmp_path / "h.sqlite3") as store:
        conv = store.create_conversation("a")
        mid = store.begin_answer(conv.id, "cloud", "m", origin="cloud", provider="p")
        store.finish_answer(mid, "x", "complete", cost_usd=0.5)
        check_monthly_limit(store, 0.75)
        with pytest.raises(CloudLimitError, match=r"limit of \$0.5000 is reached \(\$0.5000 spent\)"):
            check_monthly_limit(store, 0.5)  # at exactly the limit, nothing more goes out
        with pytest.raises(CloudLimitError):
            check_monthly_limit(store, 0.25)
        check_monthly_limit(store, 0)
        check_monthly_limit(store, -1)


def test_a_price_is_verified_unless_said_otherwise() -> None:
    from assistant.chat.cost import Price

    assert Price(1.0, 2.0).verified is True and Price(1.0, 2.0, verified=False).verified is False
