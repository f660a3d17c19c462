"""Bytes recorded from LiteLLM's proxy (1.108.7, mock models, on 127.0.0.1): what the
proxy really sends, rather than what its documentation says, read the way it means it.
tools/interop_check.py replays the same conversations against a live proxy."""

import pytest
from helpers import CHUNK_SIZES, FIXTURES, decode, fixture, folded, same_at_every_split
from loopback import Loopback

import streamchat
from streamchat.wire import openai_chat

CALL_ID = "2c01d84f-f789-41f8-80f0-71b283524b19"


def recorded_body(name):
    """A recorded error body, without its `: source` line."""
    return (FIXTURES / "openai" / name).read_bytes().split(b"\n", 1)[1]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_the_proxy_s_reported_cost_is_the_usage_s_cost(size):
    events, error = same_at_every_split(
        openai_chat, "openai", "litellm_usage_cost.sse", size, provider="openai-compatible"
    )
    assert error is None
    response = folded(events)
    assert response.text == "Hello from the LiteLLM mock, streamed in pieces."
    assert response.finish_reason == "stop"
    assert response.response_id == "chatcmpl-747ccf0b-fbdb-446a-8dea-bd65a3a0e973"
    assert response.model == "mock-text"
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (8, 12, 20)
    assert usage.reasoning_tokens == 0
    # NOTE: https://docs.litellm.ai/docs/completion/usage says the usage chunk's choices
    # are empty; the proxy sends one choice with an empty delta, which adds nothing.
    assert usage.cost_usd == pytest.approx(8.4e-6)


def test_a_reported_cost_wins_over_the_price_table():
    body = fixture("openai", "litellm_usage_cost.sse")

    def handler(ex):
        ex.start(headers={"x-litellm-call-id": "951fe4e6-8ceb-497e-baae-acd96ee525f1"})
        ex.write(body)
        ex.end()

    with Loopback(handler) as server:
        # gpt-4o-mini is in the table (8 in, 12 out: 4.2e-06 USD); the proxy said 8.4e-06.
        client = streamchat.Client("openai", model="gpt-4o-mini", api_key="k",
                                   base_url=server.url + "/v1")
        response = client.complete("Hi")
    assert response.usage.cost_usd == pytest.approx(8.4e-6)
    assert response.request_id == "951fe4e6-8ceb-497e-baae-acd96ee525f1"


def test_an_unreported_cost_is_still_priced_from_the_table():
    body = fixture("openai", "litellm_usage_cost.sse").replace(b',"cost":8.4e-6', b"")
    assert b'"cost"' not in body

    def handler(ex):
        ex.start()
        ex.write(body)
        ex.end()

    with Loopback(handler) as server:
        client = streamchat.Client("openai", model="gpt-4o-mini", api_key="k",
                                   base_url=server.url + "/v1")
        response = client.complete("Hi")
    assert response.usage.cost_usd == pytest.approx((8 * 0.15 + 12 * 0.6) / 1e6)


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("cost", [b'"free"', b"-1", b"true", b"null", b"1e999"])
def test_a_cost_that_is_not_a_price_is_ignored(cost, size):
    body = fixture("openai", "litellm_usage_cost.sse").replace(b"8.4e-6", cost)
    response = folded(decode(openai_chat, body, size, provider="openai-compatible"))
    assert response.usage.total_tokens == 20
    assert response.usage.cost_usd is None


def test_the_proxy_s_rate_limit_names_its_call_and_is_retried():
    body = recorded_body("litellm_rate_limit.txt")
    answer = fixture("openai", "litellm_usage_cost.sse")
    calls = []

    def limited(ex):
        calls.append(ex.path)
        ex.reply(429, body, headers={"x-litellm-call-id": CALL_ID})

    def served(ex):
        calls.append(ex.path)
        ex.start()
        ex.write(answer)
        ex.end()

    retry = streamchat.RetryPolicy(max_attempts=2, initial_delay=0, rate_limit_floor=0)
    with Loopback(limited, served) as server:
        client = streamchat.Client("openai", model="mock-429", api_key="k",
                                   base_url=server.url + "/v1", retry=retry)
        with client.stream("Hi") as stream:
            kinds = [event.type for event in stream]
    assert calls == ["/v1/chat/completions", "/v1/chat/completions"]
    assert kinds.count("retry") == 1
    assert stream.final().text.startswith("Hello from the LiteLLM mock")


def test_the_proxy_s_rate_limit_is_typed_with_its_call_id():
    body = recorded_body("litellm_rate_limit.txt")

    def limited(ex):
        ex.reply(429, body, headers={"x-litellm-call-id": CALL_ID})

    with Loopback(limited) as server, pytest.raises(streamchat.RateLimitError) as caught:
        client = streamchat.Client("openai", model="mock-429", api_key="k",
                                   base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=1))
        client.complete("Hi")
    error = caught.value
    assert error.status_code == 429
    assert error.request_id == CALL_ID
    assert error.retry_after is None
    assert "this is a mock rate limit error" in str(error)
