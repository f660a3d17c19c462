"""Cost of a call from a dated price table kept as data (streamchat/data/prices.json).

Prices are per million tokens. An unknown model costs None, never a guess. Users add or
override prices per Client (`Client(..., prices={...})`) or for the process
(`streamchat.pricing.set_price(...)`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Dict, Mapping, Optional

from .types import Usage

Price = Mapping[str, float]
_overrides: Dict[str, Dict[str, float]] = {}


@lru_cache(maxsize=1)
def _table() -> Dict[str, Any]:
    text = resources.files(__package__).joinpath("data/prices.json").read_text("utf-8")
    data: Dict[str, Any] = json.loads(text)
    return data


def table_date() -> str:
    """The day the shipped prices were checked."""
    return str(_table()["as_of"])


def set_price(
    model: str, *, input: float, output: float, cached_input: Optional[float] = None
) -> None:
    """Add or replace one model's price for this process (USD per million tokens)."""
    price = {"input": input, "output": output}
    if cached_input is not None:
        price["cached_input"] = cached_input
    _overrides[model] = price


def price_of(provider: str, model: str, extra: Optional[Mapping[str, Price]] = None) -> Optional[Price]:
    """The price entry for a model: the caller's, then the process overrides, then the table.

    Dated model names (claude-sonnet-4-5-20250929) fall back to their undated alias.
    """
    models: Dict[str, Price] = _table()["models"]
    for source in (extra or {}, _overrides, models):
        for name in (f"{provider}:{model}", model):
            if name in source:
                return source[name]
    best = ""
    for name in list(extra or {}) + list(_overrides) + list(models):
        if model.startswith(name + "-") and len(name) > len(best):
            best = name
    if best:
        return (extra or {}).get(best) or _overrides.get(best) or models.get(best)
    return None


def cost(usage: Usage, price: Price) -> Optional[float]:
    """USD for the usage; cached input tokens at the cached rate when the table has one."""
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    cached = usage.cached_input_tokens or 0
    fresh = max(0, (usage.input_tokens or 0) - cached)
    cached_rate = price.get("cached_input", price["input"])
    total = fresh * price["input"] + cached * cached_rate + (usage.output_tokens or 0) * price["output"]
    return round(total / 1_000_000, 8)


def pricer_for(
    provider: str, model: str, extra: Optional[Mapping[str, Price]] = None
) -> Optional[Callable[[Usage], Usage]]:
    """A function that fills in cost_usd, or None when the model's price is unknown."""
    price = price_of(provider, model, extra)
    if price is None:
        return None

    def priced(usage: Usage) -> Usage:
        return usage.model_copy(update={"cost_usd": cost(usage, price)})

    return priced
