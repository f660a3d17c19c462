"""Cost of a call from a dated price table kept as data (streamchat/data/prices.json).

Prices are USD per million tokens, at each provider's standard rate for a prompt within
its base tier (long-context surcharges, batch and priority tiers are not modelled). An
unknown model costs None, never a guess: a model is priced only under its own name or a
dated snapshot of it (`claude-sonnet-4-5-20250929`), never under a sibling's
(`gpt-5.4-pro` is not `gpt-5.4`). Cached input tokens with no cached rate in the table,
or cache writes with no cache-write rate, also make the cost None rather than assume one.

Users add or override prices per Client (`Client(..., prices={"my-model": {"input": 1.0,
"output": 2.0}})`) or for the process (`streamchat.pricing.set_price(...)`). An entry
may also carry `context_window` (tokens), which `Chat.context_used` reads.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from .types import Usage

Price = Mapping[str, float]
_overrides: Dict[str, Dict[str, float]] = {}

_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|\d{3,4}|latest)$")
"""Suffixes that name a snapshot of the same model: -20250929, -2024-08-06, -001, -0709."""


@lru_cache(maxsize=1)
def _table() -> Dict[str, Any]:
    text = resources.files(__package__).joinpath("data/prices.json").read_text("utf-8")
    data: Dict[str, Any] = json.loads(text)
    return data


def table_date() -> str:
    """The date of the oldest source behind the shipped prices (see `sources`)."""
    return str(_table()["as_of"])


def sources() -> Dict[str, Any]:
    """Where each provider's prices come from, with the date of each source."""
    return dict(_table()["sources"])


def set_price(
    model: str,
    *,
    input: float,
    output: float,
    cached_input: Optional[float] = None,
    cache_write: Optional[float] = None,
    context_window: Optional[int] = None,
) -> None:
    """Add or replace one model's price for this process (USD per million tokens).

    `model` is a model name, or `provider:model` to price it for one provider only.
    """
    price: Dict[str, float] = {"input": input, "output": output}
    if cached_input is not None:
        price["cached_input"] = cached_input
    if cache_write is not None:
        price["cache_write"] = cache_write
    if context_window is not None:
        price["context_window"] = context_window
    _overrides[model] = price


def clear_prices() -> None:
    """Forget every `set_price` of this process."""
    _overrides.clear()


def _layers(extra: Optional[Mapping[str, Price]]) -> Iterator[Mapping[str, Price]]:
    yield extra or {}
    yield _overrides
    yield _table()["models"]


def price_of(
    provider: str, model: str, extra: Optional[Mapping[str, Price]] = None
) -> Optional[Price]:
    """The entry for a model: the caller's, then the process overrides, then the table.

    `provider:model` entries win over bare model names, so one provider's price for an
    open model (Groq's `openai/gpt-oss-120b`) does not leak to another. A dated snapshot
    name falls back to its undated alias; `models/` (Gemini's resource prefix) is ignored.
    """
    name = model[len("models/"):] if model.startswith("models/") else model
    candidates = [name]
    base = _SNAPSHOT.sub("", name)
    while base != candidates[-1]:
        candidates.append(base)
        base = _SNAPSHOT.sub("", base)
    for candidate in candidates:
        for layer in _layers(extra):
            for key in (f"{provider}:{candidate}", candidate):
                if key in layer:
                    return layer[key]
    return None


def context_window(
    provider: str, model: str, extra: Optional[Mapping[str, Price]] = None
) -> Optional[int]:
    """The model's context window in tokens, when the table knows it."""
    price = price_of(provider, model, extra)
    window = price.get("context_window") if price is not None else None
    return int(window) if window else None


def cost(usage: Usage, price: Price) -> Optional[float]:
    """USD for the usage; cached input tokens at the cached rate, tokens written to the
    cache at the cache-write rate, output (reasoning included) at the output rate. None
    when the counts or a needed rate are missing."""
    if usage.input_tokens is None and usage.output_tokens is None:
        return None
    cached = usage.cached_input_tokens or 0
    if cached and "cached_input" not in price:
        return None
    written = usage.cache_write_tokens or 0
    if written and "cache_write" not in price:
        return None
    fresh = max(0, (usage.input_tokens or 0) - cached - written)
    total = (
        fresh * price["input"]
        + cached * price.get("cached_input", 0.0)
        + written * price.get("cache_write", 0.0)
        + (usage.output_tokens or 0) * price["output"]
    )
    return round(total / 1_000_000, 8)


def pricer_for(
    provider: str, model: str, extra: Optional[Mapping[str, Price]] = None
) -> Optional[Callable[[Usage], Usage]]:
    """A function that fills in cost_usd, or None when the model's price is unknown."""
    price = price_of(provider, model, extra)
    if price is None:
        return None

    def priced(usage: Usage) -> Usage:
        if usage.cost_usd is not None:
            return usage  # the server said what it charged: that beats the table's estimate
        return usage.model_copy(update={"cost_usd": cost(usage, price)})

    return priced
