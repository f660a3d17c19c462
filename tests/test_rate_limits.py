"""Rate limits: the headers each provider sends, read into `RateLimit`; carried by the
response and by `RateLimitError`; sent by the fake when scripted; and shared by the
streams of one Client so that a 429 with a wait holds them all."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest

import streamchat
from streamchat import RateLimitError
from streamchat.testing import FakeServer, render
from streamchat.testing.script import make_script
from streamchat.transport import rate_limit_of
from streamchat.types import RateLimit

NOW = 1767225600.0  # 2026-01-01T00:00:00Z

# NOTE: https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers
OPENAI = {
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-limit-tokens": "150000",
    "x-ratelimit-remaining-requests": "59",
    "x-ratelimit-remaining-tokens": "149984",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-reset-tokens": "6m0s",
}
# NOTE: https://console.groq.com/docs/rate-limits#handling-rate-limits (a 429's set)
GROQ = {
    "retry-after": "2",
    "x-ratelimit-limit-requests": "14400",
    "x-ratelimit-limit-tokens": "18000",
    "x-ratelimit-remaining-requests": "14370",
    "x-ratelimit-remaining-tokens": "17997",
    "x-ratelimit-reset-requests": "2m59.56s",
    "x-ratelimit-reset-tokens": "7.66s",
}
# NOTE: https://docs.anthropic.com/en/api/rate-limits#response-headers
ANTHROPIC = {
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:30Z",
    "anthropic-ratelimit-tokens-limit": "40000",
    "anthropic-ratelimit-tokens-remaining": "38000",
    "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01.5Z",
    "anthropic-ratelimit-input-tokens-limit": "30000",
    "anthropic-ratelimit-output-tokens-limit": "8000",
}
# NOTE: https://openrouter.ai/docs/api-reference/limits; a free model's 429 (the reset is
# a Unix time in milliseconds), as quoted in Gitlawb/openclaude#936.
OPENROUTER = {
    "X-RateLimit-Limit": "50",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "1767225660000",
}


@pytest.mark.parametrize("headers, expected", [
    (OPENAI, RateLimit(requests_limit=60, requests_remaining=59, requests_reset=1.0,
                       tokens_limit=150000, tokens_remaining=149984, tokens_reset=360.0)),
    (GROQ, RateLimit(requests_limit=14400, requests_remaining=14370, requests_reset=179.56,
                     tokens_limit=18000, tokens_remaining=17997, tokens_reset=7.66)),
    (ANTHROPIC, RateLimit(requests_limit=50, requests_remaining=0, requests_reset=30.0,
                          tokens_limit=40000, tokens_remaining=38000, tokens_reset=1.5)),
    (OPENROUTER, RateLimit(requests_limit=50, requests_remaining=0, requests_reset=60.0)),
], ids=["openai", "groq", "anthropic", "openrouter"])
def test_each_providers_headers_read_into_one_shape(headers: Dict[str, str],
                                                    expected: RateLimit) -> None:
    limits = rate_limit_of(headers, now=NOW)

    assert limits is not None
    assert limits.model_dump() == pytest.approx(expected.model_dump())


@pytest.mark.parametrize("value, seconds", [
    ("20ms", 0.02), ("1s", 1.0), ("6m0s", 360.0), ("1h2m3.5s", 3723.5), ("12", 12.0),
])
def test_resets_as_durations(value: str, seconds: float) -> None:
    limits = rate_limit_of({"x-ratelimit-reset-requests": value}, now=NOW)

    assert limits is not None and limits.requests_reset == pytest.approx(seconds)


def test_no_headers_or_unreadable_ones_give_none_or_gaps() -> None:
    assert rate_limit_of({"content-type": "application/json"}) is None
    limits = rate_limit_of({"x-ratelimit-limit-requests": "lots",
                            "x-ratelimit-remaining-requests": "3",
                            "x-ratelimit-reset-requests": "soon"}, now=NOW)
    assert limits == RateLimit(requests_remaining=3)


def test_wait_is_the_reset_of_the_allowance_that_ran_out() -> None:
    assert RateLimit(requests_remaining=0, requests_reset=30, tokens_remaining=5,
                     tokens_reset=90).wait == 30
    assert RateLimit(requests_remaining=0, requests_reset=30, tokens_remaining=0,
                     tokens_reset=90).wait == 90
    assert RateLimit(requests_remaining=2, requests_reset=30).wait is None


# --- through the fake provider -----------------------------------------------------------


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def client(server: FakeServer, wire: str = "openai", **options: Any) -> streamchat.Client:
    options.setdefault("timeouts", streamchat.Timeouts(first_token=10, idle=10))
    return streamchat.Client(wire, model="m", api_key="sk-test-key-0123456789",
                             base_url=server.base_url(wire), **options)


SCRIPTED = {"requests_limit": 100, "requests_remaining": 7, "requests_reset": 12.0,
            "tokens_limit": 5000, "tokens_remaining": 4000, "tokens_reset": 90.0}


@pytest.mark.parametrize("wire", ["openai", "openai-responses", "anthropic"])
def test_the_response_carries_the_request_id_and_the_scripted_rate_limit(server, wire):
    server.enqueue(text="hello", rate_limit=SCRIPTED)

    response = client(server, wire).complete("hi")

    assert response.request_id is not None and response.request_id.startswith("req_")
    assert response.rate_limit is not None
    assert response.rate_limit.requests_remaining == 7
    assert response.rate_limit.tokens_limit == 5000
    # Anthropic sends reset times to the second; OpenAI durations to the millisecond.
    assert response.rate_limit.requests_reset == pytest.approx(12.0, abs=1.1)
    assert response.rate_limit.tokens_reset == pytest.approx(90.0, abs=1.1)


@pytest.mark.parametrize("wire", ["gemini", "ollama"])
def test_wires_without_rate_limit_headers_send_none(server, wire):
    server.enqueue(text="hello", rate_limit=SCRIPTED)

    response = client(server, wire).complete("hi")

    assert response.rate_limit is None


def test_the_fake_renders_openai_durations_and_anthropic_times() -> None:
    script = make_script(text="x", rate_limit=SCRIPTED)

    openai = dict(render(script, "openai").headers)
    anthropic = dict(render(script, "anthropic", now=NOW).headers)

    assert openai["x-ratelimit-reset-requests"] == "12s"
    assert openai["x-ratelimit-reset-tokens"] == "1m30s"
    assert anthropic["anthropic-ratelimit-tokens-reset"] == "2026-01-01T00:01:30Z"
    assert anthropic["anthropic-ratelimit-requests-remaining"] == "7"


def test_rate_limit_error_carries_the_state_and_waits_for_the_exhausted_reset(
        server, no_backoff):
    server.enqueue(status=429, rate_limit={"requests_limit": 60, "requests_remaining": 0,
                                           "requests_reset": 4.0})

    with pytest.raises(RateLimitError) as caught:
        client(server, retry=streamchat.RetryPolicy(max_attempts=1)).complete("hi")

    error = caught.value
    assert error.rate_limit is not None and error.rate_limit.requests_remaining == 0
    # No Retry-After header: the reset of the allowance that ran out is the wait.
    assert error.retry_after == pytest.approx(4.0, abs=0.01)
    assert error.request_id is not None


# --- shared between the streams of one Client ---------------------------------------------


def test_twenty_streams_wait_for_the_moment_a_429_named(server, no_backoff):
    shared = client(server, retry=streamchat.RetryPolicy(max_attempts=1))
    server.enqueue(status=429, retry_after=1)
    with pytest.raises(RateLimitError):
        shared.complete("first")
    until = shared._limits.until(shared._limit_key)
    assert until is not None
    server.clear()
    notices: List[List[str]] = [[] for _ in range(20)]
    errors: List[BaseException] = []

    def run(slot: int) -> None:
        try:
            for event in shared.stream(f"question {slot}"):
                if event.type == "status":
                    notices[slot].append(event.message)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert len(server.requests) == 20
    # Every request arrived after the moment the 429 named, not one before it.
    assert min(r.received_at for r in server.requests) >= until
    assert all(len(n) == 1 and "rate-limited" in n[0] for n in notices)


def test_an_interrupt_ends_the_wait_at_once(server, no_backoff):
    shared = client(server, retry=streamchat.RetryPolicy(max_attempts=1))
    server.enqueue(status=429, retry_after=600)
    with pytest.raises(RateLimitError):
        shared.complete("first")
    server.clear()
    stream = shared.stream("second")

    kinds = []
    for event in stream:
        kinds.append(event.type)
        if event.type == "status":
            stream.interrupt()

    assert kinds == ["status", "cancelled"]
    assert stream.response is not None and stream.response.finish_reason == "cancelled"
    assert server.requests == []
    stream._worker.thread.join(timeout=5)
    assert not stream._worker.thread.is_alive()


def test_a_wait_past_the_total_deadline_fails_at_once(server, no_backoff):
    shared = client(server, retry=streamchat.RetryPolicy(max_attempts=1),
                    timeouts=streamchat.Timeouts(total=30))
    server.enqueue(status=429, retry_after=600)
    with pytest.raises(RateLimitError):
        shared.complete("first")
    server.clear()

    with pytest.raises(RateLimitError, match="total deadline"):
        shared.complete("second")

    assert server.requests == []


def test_other_keys_and_other_clients_do_not_wait(server, no_backoff):
    first = client(server, retry=streamchat.RetryPolicy(max_attempts=1))
    server.enqueue(status=429, retry_after=600)
    with pytest.raises(RateLimitError):
        first.complete("first")
    other = client(server)

    events = [e.type for e in other.stream("hi")]

    assert "status" not in events and events[-1] == "done"
    assert first._limit_key != "" and "sk-test" not in first._limit_key


def test_openrouter_quotes_its_rate_limit_headers_in_the_error_body(server, no_backoff):
    # NOTE: a free model's 429 from OpenRouter, as quoted in Gitlawb/openclaude#936.
    server.enqueue(status=429, body={"error": {
        "message": "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 "
                   "free model requests per day",
        "code": 429,
        "metadata": {"headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0",
                                 "X-RateLimit-Reset": str(int((time.time() + 3) * 1000))}},
    }})

    with pytest.raises(RateLimitError) as caught:
        client(server, retry=streamchat.RetryPolicy(max_attempts=1)).complete("hi")

    limits = caught.value.rate_limit
    assert limits is not None
    assert (limits.requests_limit, limits.requests_remaining) == (50, 0)
    assert caught.value.retry_after == pytest.approx(3.0, abs=1.0)


def test_hostile_values_are_no_information() -> None:
    limits = rate_limit_of({"x-ratelimit-limit-requests": "inf",
                            "x-ratelimit-remaining-requests": "nan",
                            "x-ratelimit-reset-requests": "inf",
                            "x-ratelimit-limit-tokens": "1e400"}, now=NOW)

    assert limits is None
