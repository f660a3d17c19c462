"""The price table and cost computation: lookups never guess, costs follow the provider's
per-million rates, users override prices, and usage events carry cost_usd end to end."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from helpers import WIRES, fake_client

from streamchat import pricing
from streamchat.providers import get_preset
from streamchat.testing.server import FakeServer
from streamchat.types import Usage

HOSTED = ("openai", "anthropic", "gemini", "xai", "groq", "deepseek")


@pytest.fixture(autouse=True)
def no_process_prices():
    pricing.clear_prices()
    yield
    pricing.clear_prices()


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def table():
    text = resources.files("streamchat").joinpath("data/prices.json").read_text("utf-8")
    return json.loads(text)


# -- the table itself -------------------------------------------------------------------


def test_every_entry_is_a_sane_price():
    for name, price in table()["models"].items():
        assert set(price) <= {"input", "cached_input", "cache_write", "output",
                              "context_window"}, name
        assert price["input"] >= 0 and price["output"] >= 0, name
        if "cached_input" in price:
            assert price["cached_input"] <= price["input"], name
        if "cache_write" in price:
            # Writing to the cache costs more than plain input (Anthropic: 1.25 times).
            assert price["cache_write"] >= price["input"], name
        if "context_window" in price:
            assert isinstance(price["context_window"], int) and price["context_window"] >= 8192


def test_the_table_is_dated_and_sourced():
    data = table()
    assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", data["as_of"])
    assert pricing.table_date() == data["as_of"]
    for provider in HOSTED:
        source = pricing.sources()[provider]
        assert source["url"].startswith("https://") and source["date"]


@pytest.mark.parametrize("provider", HOSTED)
def test_each_hosted_preset_default_model_is_priced(provider):
    model = get_preset(provider).default_model
    assert model and pricing.price_of(provider, model) is not None


@pytest.mark.parametrize("provider, model, window", [
    ("openai", "gpt-4.1", 1_047_576),
    ("anthropic", "claude-sonnet-4-5", 200_000),
    ("gemini", "gemini-2.5-flash", 1_048_576),
    ("xai", "grok-4", 256_000),
    ("groq", "llama-3.3-70b-versatile", 131_072),
])
def test_context_windows(provider, model, window):
    assert pricing.context_window(provider, model) == window


# -- lookups ------------------------------------------------------------------------------


@pytest.mark.parametrize("model, alias", [
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("grok-4-0709", "grok-4"),
    ("models/gemini-2.5-flash", "gemini-2.5-flash"),
    ("gemini-2.5-flash-001", "gemini-2.5-flash"),
])
def test_a_snapshot_is_priced_as_its_alias(model, alias):
    assert pricing.price_of("any", model) == pricing.price_of("any", alias) is not None


@pytest.mark.parametrize("model", [
    "gpt-5.4-pro",          # not gpt-5.4: pro models cost many times more
    "gpt-4.1-mini-search",  # not gpt-4.1-mini
    "claude-sonnet-4-5-lite",
    "my-finetune",
    "",
])
def test_unknown_models_are_never_guessed(model):
    assert pricing.price_of("openai", model) is None
    assert pricing.pricer_for("openai", model) is None


def test_provider_qualified_entries_stay_with_their_provider():
    assert pricing.price_of("groq", "openai/gpt-oss-120b") is not None
    assert pricing.price_of("openrouter", "openai/gpt-oss-120b") is None
    assert pricing.price_of("groq", "llama-3.3-70b-versatile") is not None
    assert pricing.price_of("vllm", "llama-3.3-70b-versatile") is None


# -- cost ------------------------------------------------------------------------------------


def test_cost_uses_the_cached_rate_for_cached_input():
    price = {"input": 2.0, "cached_input": 0.5, "output": 8.0}
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=100_000)
    # 600k fresh at $2 + 400k cached at $0.50 + 100k out at $8
    assert pricing.cost(usage, price) == pytest.approx(1.2 + 0.2 + 0.8)


def test_cost_is_none_without_counts_or_without_a_cached_rate():
    assert pricing.cost(Usage(), {"input": 1.0, "output": 1.0}) is None
    cached = Usage(input_tokens=100, cached_input_tokens=50, output_tokens=1)
    assert pricing.cost(cached, {"input": 1.0, "output": 1.0}) is None
    no_cache = Usage(input_tokens=100, cached_input_tokens=0, output_tokens=1)
    assert pricing.cost(no_cache, {"input": 1.0, "output": 1.0}) == pytest.approx(101e-6)


def test_the_shipped_price_of_a_flagship():
    priced = pricing.pricer_for("openai", "gpt-4.1")
    assert priced is not None
    usage = priced(Usage(input_tokens=2_000_000, output_tokens=500_000))
    assert usage.cost_usd == pytest.approx(2 * 2.0 + 0.5 * 8.0)


# -- overrides ---------------------------------------------------------------------------------


def test_set_price_adds_and_overrides():
    assert pricing.price_of("openai", "my-finetune") is None
    pricing.set_price("my-finetune", input=3.0, output=6.0, context_window=16384)
    assert pricing.price_of("openai", "my-finetune") == {
        "input": 3.0, "output": 6.0, "context_window": 16384
    }
    assert pricing.context_window("openai", "my-finetune") == 16384
    pricing.set_price("gpt-4.1", input=1.0, output=1.0)
    assert pricing.price_of("openai", "gpt-4.1") == {"input": 1.0, "output": 1.0}
    pricing.set_price("ollama:gpt-4.1", input=0.0, output=0.0)
    assert pricing.price_of("ollama", "gpt-4.1") == {"input": 0.0, "output": 0.0}
    pricing.clear_prices()
    assert pricing.price_of("openai", "gpt-4.1")["input"] == 2.0


def test_client_prices_win_over_the_process_and_the_table():
    pricing.set_price("gpt-4.1", input=5.0, output=5.0)
    extra = {"gpt-4.1": {"input": 9.0, "output": 9.0}}
    assert pricing.price_of("openai", "gpt-4.1", extra) == extra["gpt-4.1"]
    assert pricing.price_of("openai", "gpt-4.1-2025-04-14", extra) == extra["gpt-4.1"]


# -- end to end ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_usage_events_carry_the_cost(server, wire):
    client = fake_client(
        server, wire, prices={"m": {"input": 1.0, "cached_input": 0.1, "output": 4.0}}
    )
    server.enqueue(text="hi", usage={"input_tokens": 1000, "output_tokens": 50})
    stream = client.stream("hello")
    usages = [e.usage for e in stream if e.type in ("usage", "done") and e.usage]
    assert usages and all(u.cost_usd is not None for u in usages)
    final = stream.response.usage
    assert (final.input_tokens, final.output_tokens) == (1000, 50)
    assert final.cost_usd == pytest.approx((1000 * 1.0 + 50 * 4.0) / 1_000_000)


def test_an_unpriced_model_reports_usage_without_cost(server):
    client = fake_client(server, "openai", model="unlisted-model")
    server.enqueue(text="hi", usage={"input_tokens": 10, "output_tokens": 2})
    usage = client.complete("hello").usage
    assert usage is not None and usage.input_tokens == 10 and usage.cost_usd is None


def test_openai_cached_tokens_are_billed_at_the_cached_rate(server):
    client = fake_client(server, "openai", model="gpt-4.1-mini")
    server.enqueue(text="hi", usage={"input_tokens": 10_000, "cached_input_tokens": 8_000,
                                     "output_tokens": 1_000})
    usage = client.complete("hello").usage
    assert usage.cached_input_tokens == 8_000
    assert usage.cost_usd == pytest.approx((2_000 * 0.4 + 8_000 * 0.1 + 1_000 * 1.6) / 1e6)


def test_cache_writes_are_priced_at_the_cache_write_rate():
    price = {"input": 3.0, "cached_input": 0.3, "cache_write": 3.75, "output": 15.0}
    usage = Usage(input_tokens=9632, output_tokens=198, cached_input_tokens=6289,
                  cache_write_tokens=3337)
    expected = (6 * 3.0 + 6289 * 0.3 + 3337 * 3.75 + 198 * 15.0) / 1_000_000
    assert pricing.cost(usage, price) == round(expected, 8)


def test_cache_writes_without_a_rate_cost_none():
    usage = Usage(input_tokens=100, output_tokens=10, cache_write_tokens=50)
    assert pricing.cost(usage, {"input": 1.0, "output": 2.0}) is None


def test_the_table_prices_claude_cache_writes():
    for name, price in table()["models"].items():
        if name.startswith("claude-"):
            assert price["cache_write"] == pytest.approx(price["input"] * 1.25), name
