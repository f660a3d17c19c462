"""The resilience matrix: every fault against every wire format, through the fake server.

For each: the right exception or the right recovery, retry events with the right delays
(recorded, never slept), no repeated text, `.partial` holding what arrived, and no
thread left behind.
"""

import pytest
from conftest import wait_for_threads

import streamchat
from streamchat.testing import FakeServer

WIRES = ["openai", "openai-responses", "anthropic", "gemini", "ollama"]
TEXT = "one two three four five six seven eight"


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def client(server, wire, attempts=2, **timeouts):
    return streamchat.Client(
        wire, model="fake-model", api_key="sk-test", base_url=server.base_url(wire),
        retry=streamchat.RetryPolicy(max_attempts=attempts, jitter=0, initial_delay=0.5),
        timeouts=streamchat.Timeouts(**timeouts) if timeouts else None,
    )


def collect(stream):
    events, error = [], None
    try:
        for event in stream:
            events.append(event)
    except streamchat.StreamChatError as exc:
        error = exc
    return events, error


def texts(events):
    return "".join(e.text for e in events if e.type == "text")


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status, retry_after, delay", [
    (429, 2, 2.0), (500, None, 0.5), (502, None, 0.5), (503, "3", 3.0), (529, None, 0.5),
])
def test_retryable_status_then_recovery(server, wire, status, retry_after, delay, no_backoff,
                                        thread_baseline):
    server.enqueue(status=status, retry_after=retry_after)
    server.enqueue(text=TEXT)
    events, error = collect(client(server, wire).stream("hi"))
    assert error is None
    kinds = [e.type for e in events]
    assert kinds[:3] == ["start", "retry", "start"] and kinds[-1] == "done"
    assert no_backoff == [delay]
    assert texts(events) == TEXT
    assert len(server.requests) == 2
    assert wait_for_threads(thread_baseline) <= thread_baseline


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("status, error_class", [
    (400, streamchat.InvalidRequestError), (401, streamchat.AuthenticationError),
    (403, streamchat.PermissionDeniedError), (404, streamchat.NotFoundError),
    (422, streamchat.InvalidRequestError),
])
def test_client_errors_are_never_retried(server, wire, status, error_class, no_backoff):
    server.enqueue(status=status)
    _, error = collect(client(server, wire).stream("hi"))
    assert isinstance(error, error_class)
    assert error.status_code == status and error.provider == wire
    assert wire in str(error) and str(status) in str(error)
    assert no_backoff == [] and len(server.requests) == 1
    assert error.partial.text == ""


@pytest.mark.parametrize("wire", WIRES)
def test_retries_exhausted_raise_the_last_error(server, wire, no_backoff):
    server.enqueue(status=503)
    server.enqueue(status=503)
    events, error = collect(client(server, wire).stream("hi"))
    assert isinstance(error, streamchat.ServerError)
    assert [e.type for e in events] == ["start", "retry", "start"]
    assert len(server.requests) == 2


@pytest.mark.parametrize("wire", WIRES)
def test_reset_before_headers_is_retried(server, wire, no_backoff):
    server.enqueue(reset="before_headers")
    server.enqueue(text=TEXT)
    events, error = collect(client(server, wire).stream("hi"))
    assert error is None and texts(events) == TEXT
    assert "retry" in [e.type for e in events]


@pytest.mark.parametrize("wire", WIRES)
def test_truncation_before_content_is_retried(server, wire, no_backoff):
    server.enqueue(text=TEXT, truncate_after=0)
    server.enqueue(text=TEXT)
    events, error = collect(client(server, wire).stream("hi"))
    assert error is None and texts(events) == TEXT
    assert [e.type for e in events].count("retry") == 1


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("fault", [
    {"truncate_after": 8}, {"malformed_after": 8}, {"error_event": True},
])
def test_failure_after_content_raises_with_partial_and_never_repeats(server, wire, fault,
                                                                     no_backoff,
                                                                     thread_baseline):
    server.enqueue(text=TEXT, chunk_size=4, **fault)
    server.enqueue(text="SHOULD NEVER BE SENT")
    events, error = collect(client(server, wire).stream("hi"))
    shown = texts(events)
    assert isinstance(error, streamchat.StreamChatError)
    assert shown and TEXT.startswith(shown)
    assert error.partial.text == shown
    assert no_backoff == [] and len(server.requests) == 1
    assert wait_for_threads(thread_baseline) <= thread_baseline


@pytest.mark.parametrize("wire", WIRES)
def test_reset_mid_body_never_repeats_text(server, wire, no_backoff):
    server.enqueue(text=TEXT, chunk_size=4, reset="after_first_byte")
    server.enqueue(text=TEXT)
    events, error = collect(client(server, wire).stream("hi"))
    shown = texts(events)
    if error is None:
        # Cut before any content: retried once, and the text appears exactly once.
        assert shown == TEXT and [e.type for e in events].count("retry") == 1
    else:
        assert TEXT.startswith(shown) and error.partial.text == shown


@pytest.mark.parametrize("wire", ["openai", "openai-responses", "anthropic", "gemini"])
def test_ping_only_stall_hits_the_idle_deadline(server, wire):
    server.enqueue(text=TEXT, chunk_size=4, stall_after=8, keepalive=0.02)
    events, error = collect(
        client(server, wire, attempts=1, idle=0.3, first_token=5).stream("hi")
    )
    assert isinstance(error, streamchat.StreamTimeoutError)
    assert error.phase == "idle"
    assert error.partial.text == texts(events) != ""


@pytest.mark.parametrize("wire", WIRES)
def test_silent_start_hits_first_token_and_is_retried(server, wire, no_backoff):
    server.enqueue(text=TEXT, stall_after=0)
    server.enqueue(text=TEXT)
    events, error = collect(client(server, wire, first_token=0.3).stream("hi"))
    assert error is None and texts(events) == TEXT
    retry = next(e for e in events if e.type == "retry")
    assert "first_token" in retry.error


@pytest.mark.parametrize("wire", WIRES)
def test_total_deadline(server, wire):
    server.enqueue(text=TEXT, chunk_size=2, chunk_delay=0.05)
    _, error = collect(client(server, wire, attempts=1, total=0.3).stream("hi"))
    assert isinstance(error, streamchat.StreamTimeoutError) and error.phase == "total"
    assert TEXT.startswith(error.partial.text)
