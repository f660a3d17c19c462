"""Backoff arithmetic and the server's hints, without waiting for any of it."""

import random

import pytest

import streamchat
from streamchat.errors import RateLimitError, ServerError
from streamchat.transport import retry_after_seconds
from streamchat.wire.errors import error_from_response


def test_exponential_backoff_within_jitter():
    policy = streamchat.RetryPolicy(initial_delay=1.0, multiplier=2.0, jitter=0.2, max_delay=60)
    rng = random.Random(7)
    for attempt, base in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)]:
        delay = policy.delay(attempt, ServerError("boom"), rng)
        assert base * 0.8 <= delay <= base * 1.2


def test_delay_is_capped_by_max_delay():
    policy = streamchat.RetryPolicy(initial_delay=10, multiplier=10, jitter=0, max_delay=30)
    assert policy.delay(3, ServerError("boom")) == 30


def test_server_hint_wins_but_is_capped():
    policy = streamchat.RetryPolicy(max_delay=20)
    assert policy.delay(1, RateLimitError("slow down", retry_after=3.5)) == 3.5
    assert policy.delay(1, RateLimitError("slow down", retry_after=600)) == 20


def test_rate_limit_without_a_hint_waits_at_least_the_floor():
    policy = streamchat.RetryPolicy(initial_delay=0.1, jitter=0, rate_limit_floor=5)
    assert policy.delay(1, RateLimitError("429")) == 5
    assert policy.delay(1, ServerError("500")) == pytest.approx(0.1)


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "12"}, 12.0),
    ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
    ({"Retry-After": "Sat, 21 Nov 2026 10:00:30 GMT"}, 30.0),
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_header_forms(headers, expected):
    import email.utils

    now = email.utils.parsedate_to_datetime("Sat, 21 Nov 2026 10:00:00 GMT").timestamp()
    assert retry_after_seconds(headers, now=now) == expected


def test_gemini_retry_delay_in_the_error_body():
    body = ('{"error": {"code": 429, "message": "Resource has been exhausted", '
            '"status": "RESOURCE_EXHAUSTED", "details": [{"@type": '
            '"type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17s"}]}}')
    error = error_from_response("gemini", 429, body)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 17.0


@pytest.mark.parametrize("status, cls, retryable", [
    (400, streamchat.InvalidRequestError, False), (401, streamchat.AuthenticationError, False),
    (403, streamchat.PermissionDeniedError, False), (404, streamchat.NotFoundError, False),
    (408, streamchat.ServerError, True), (409, streamchat.ServerError, True),
    (422, streamchat.InvalidRequestError, False), (429, streamchat.RateLimitError, True),
    (500, streamchat.ServerError, True), (502, streamchat.ServerError, True),
    (503, streamchat.ServerError, True), (504, streamchat.ServerError, True),
    (529, streamchat.OverloadedError, True),
])
def test_status_classes_and_which_are_retried(status, cls, retryable):
    error = error_from_response("p", status, '{"error": {"message": "m"}}', endpoint="POST /x")
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status_code == status
    assert f"p returned HTTP {status} from POST /x: m" in str(error)


@pytest.mark.parametrize("message", [
    "prompt is too long: 215000 tokens > 200000 maximum",
    "This model's maximum context length is 8192 tokens.",
    "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
])
def test_context_overflow_across_providers(message):
    error = error_from_response("p", 400, {"error": {"message": message}})
    assert isinstance(error, streamchat.ContextOverflowError)
    assert not error.retryable
