"""What cloud answers cost: the price table, the price of one answer, running totals
and the optional monthly limit.

The table ships in assistant/resources/prices.json; a copy in the config folder
(`prices.json`), when present, overrides it entry by entry, so a user can fix a price
the day a provider changes it. Prices are list prices per 1M tokens; models of an
OpenAI-compatible server cost nothing unless the user adds them.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.chat.store import ChatStore
from assistant.core.types import Usage
from assistant.errors import CloudLimitError, SettingsError

log = logging.getLogger(__name__)

BUILTIN = Path(__file__).resolve().parents[1] / "resources" / "prices.json"
OVERRIDE_NAME = "prices.json"


@dataclass(frozen=True)
class Price:
    input_per_m: float
    output_per_m: float
    verified: bool = True


PriceTable = dict[str, dict[str, Price]]  # provider -> model prefix -> price


def _parse(data: object, source: Path) -> PriceTable:
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise SettingsError(f"The price table {source} has no “models” section.", "Fix the file or delete it to use the built-in prices.")
    table: PriceTable = {}
    for provider, models in data["models"].items():
        if not isinstance(models, dict):
            continue
        for model, p in models.items():
            try:
                price = Price(float(p["input"]), float(p["output"]), bool(p.get("verified", True)))
            except (TypeError, KeyError, ValueError):
                raise SettingsError(
                    f"The price of {provider} {model} in {source} is not readable.",
                    'Each model needs numbers: {"input": 2.5, "output": 10.0} (US dollars per 1M tokens).',
                ) from None
            table.setdefault(provider, {})[model] = price
    return table


def load_prices(config_dir: Path | None = None) -> PriceTable:
    """The built-in table, with the user's copy in `config_dir` laid over it."""
    table = _parse(json.loads(BUILTIN.read_text(encoding="utf-8")), BUILTIN)
    if config_dir is not None:
        path = config_dir / OVERRIDE_NAME
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SettingsError(f"The price table {path} could not be read ({exc}).", "Fix the file or delete it to use the built-in prices.") from None
            for provider, models in _parse(data, path).items():
                table.setdefault(provider, {}).update(models)
    return table


def write_user_copy(config_dir: Path) -> Path:
    """Put an editable copy of the built-in table in the config folder (if none is there)."""
    path = config_dir / OVERRIDE_NAME
    if not path.exists():
        config_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(BUILTIN.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def price_for(table: PriceTable, provider: str, model: str) -> Price | None:
    """The longest model-id prefix in the provider's table that matches, or None."""
    best = ""
    for prefix in table.get(provider, {}):
        if model.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return table[provider][best] if best else None


def answer_cost(table: PriceTable, provider: str, model: str, usage: Usage | None) -> float | None:
    """US dollars for one answer; None when the model has no price (unknown, not free)."""
    price = price_for(table, provider, model)
    if price is None or usage is None:
        return None if price is None else 0.0
    return (usage.prompt_tokens * price.input_per_m + usage.completion_tokens * price.output_per_m) / 1_000_000


def month_start(now: float | None = None) -> float:
    """Midnight on the first of this month, local time, as a Unix time."""
    d = datetime.fromtimestamp(time.time() if now is None else now)
    return d.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_total(store: ChatStore, now: float | None = None) -> float:
    return store.cloud_spend(since=month_start(now))


def conversation_total(store: ChatStore, conversation_id: int) -> float:
    return store.cloud_spend(conversation_id=conversation_id)


def format_usd(amount: float) -> str:
    """$0.0012 for small sums (a single answer), $3.40 for larger ones."""
    return f"${amount:.4f}" if amount < 1 else f"${amount:,.2f}"


def check_monthly_limit(store: ChatStore, limit_usd: float, now: float | None = None) -> None:
    """Raise CloudLimitError when this month's cloud spending has reached the limit (0: none)."""
    if limit_usd <= 0:
        return
    spent = month_total(store, now)
    if spent >= limit_usd:
        raise CloudLimitError(
            f"This month's cloud limit of {format_usd(limit_usd)} is reached ({format_usd(spent)} spent): "
            "nothing was sent to the cloud.",
            "Answer with the local model, or raise the monthly limit in Settings → Cloud.",
        )
