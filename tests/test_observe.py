"""Logging and hooks: one INFO line per attempt, warnings for retries, fallbacks and
interrupted streams, DEBUG bodies only when asked, never a key; on_request before every
attempt and on_response exactly once per stream, whose exceptions never break it."""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from typing import Any, List, Optional, Tuple

import pytest

import streamchat
from streamchat import ChatResponse, StreamChatError
from streamchat.observe import RequestInfo, log_from_environment, logger, safe_url
from streamchat.testing import FakeServer

KEY = "sk-test-secret-0123456789"


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def client(server: FakeServer, wire: str = "openai", **options: Any) -> streamchat.Client:
    options.setdefault("timeouts", streamchat.Timeouts(first_token=10, idle=10))
    return streamchat.Client(wire, model="m", api_key=KEY, base_url=server.base_url(wire),
                             **options)


def lines(caplog: pytest.LogCaptureFixture, level: int) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "streamchat" and r.levelno == level]


# --- logging --------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", ["openai", "anthropic", "gemini", "ollama"])
def test_one_info_line_per_attempt_with_what_an_operator_needs(server, caplog, wire):
    caplog.set_level(logging.INFO, logger="streamchat")
    server.enqueue(text="Hello there", usage={"input_tokens": 12, "output_tokens": 3})

    response = client(server, wire).complete("hi")

    [record] = lines(caplog, logging.INFO)
    fields = record.streamchat  # type: ignore[attr-defined]
    assert fields["provider"] == wire and fields["model"] == "m"
    assert fields["status"] == 200 and fields["attempt"] == 1
    assert fields["request_id"] == response.request_id
    assert fields["input_tokens"] == 12 and fields["output_tokens"] == 3
    assert fields["finish_reason"] == "stop"
    assert fields["ttft"] is not None and fields["duration"] >= fields["ttft"]
    assert fields["url"].startswith(server.url)
    message = record.getMessage()
    assert "-> 200" in message and "input_tokens=12" in message and "finish=stop" in message


def test_retries_and_fallbacks_warn_and_every_attempt_has_its_line(server, caplog, no_backoff):
    caplog.set_level(logging.INFO, logger="streamchat")
    server.enqueue(status=503)
    server.enqueue(status=503)
    server.enqueue(text="from the fallback")
    backup = client(server, "anthropic")

    response = client(server, retry=streamchat.RetryPolicy(max_attempts=2),
                      fallbacks=[backup]).complete("hi")

    assert response.text == "from the fallback"
    statuses = [r.streamchat["status"] for r in lines(caplog, logging.INFO)]  # type: ignore[attr-defined]
    assert statuses == [503, 503, 200]
    warnings = [r.getMessage() for r in lines(caplog, logging.WARNING)]
    assert len(warnings) == 2
    assert "retrying in" in warnings[0] and "attempt 1 of 2" in warnings[0]
    assert "falling back to anthropic m" in warnings[1]


def interrupted_after_first_text(server: FakeServer) -> streamchat.Stream:
    server.enqueue(text="one two three four five six", chunk_size=3, stall_after=3)
    stream = client(server).stream("hi")
    for event in stream:
        if event.type == "text":
            stream.interrupt()
    server.release()
    return stream


def test_an_interrupted_stream_is_an_info_line_not_a_warning(server, caplog):
    caplog.set_level(logging.INFO, logger="streamchat")
    interrupted_after_first_text(server)

    attempt, ended = lines(caplog, logging.INFO)
    assert "finish=interrupted" in attempt.getMessage()
    assert "stream cancelled" in ended.getMessage()
    assert lines(caplog, logging.WARNING) == []


def test_an_interrupted_stream_makes_no_log_record_at_the_default_level(server, caplog):
    """A thousand streams stopped at once must not build a thousand records nobody reads."""
    caplog.set_level(logging.WARNING, logger="streamchat")
    stream = interrupted_after_first_text(server)

    assert stream.final().finish_reason == "cancelled"
    assert [r for r in caplog.records if r.name == "streamchat"] == []


def test_a_failed_stream_warns_once(server, caplog):
    caplog.set_level(logging.INFO, logger="streamchat")
    server.enqueue(status=401)

    with pytest.raises(streamchat.AuthenticationError):
        client(server).complete("hi")

    [warning] = lines(caplog, logging.WARNING)
    assert "stream failed: AuthenticationError" in warning.getMessage()


def test_a_kept_warning_record_does_not_keep_the_failed_stream_alive(server, caplog):
    # A handler that keeps records (pytest's here; a buffering one in an app) must not keep
    # the stream alive through its error. (A raised error and its traceback's frames form
    # a cycle with the stream, which the collector frees: hence the collection.)
    server.enqueue(status=401)
    stream = client(server).stream("hi")
    with pytest.raises(streamchat.AuthenticationError):
        stream.final()
    gone = weakref.ref(stream)
    del stream
    gc.collect()

    assert gone() is None
    assert len(lines(caplog, logging.WARNING)) == 1  # the record is still kept


def test_a_request_never_sent_has_no_attempt_line(caplog):
    caplog.set_level(logging.INFO, logger="streamchat")

    def broken() -> str:
        raise RuntimeError("no credential available")

    azure = streamchat.Client("azure", model="dep", base_url="http://127.0.0.1:9",
                              token_provider=broken)
    with pytest.raises(streamchat.AuthenticationError):
        azure.complete("hi")

    assert lines(caplog, logging.INFO) == []
    [failed] = lines(caplog, logging.WARNING)
    assert "stream failed: AuthenticationError" in failed.getMessage()


def test_debug_shows_the_request_body_with_credentials_masked(server, caplog):
    caplog.set_level(logging.DEBUG, logger="streamchat")
    server.enqueue(text="ok")

    client(server).complete("what is in the body?")

    [debug] = lines(caplog, logging.DEBUG)
    assert "what is in the body?" in debug.getMessage()
    assert "[redacted]" in debug.getMessage()


def test_no_key_in_any_log_line(server, caplog, no_backoff):
    caplog.set_level(logging.DEBUG, logger="streamchat")
    # A server that quotes the key it rejected, then a retry and a failure.
    server.enqueue(status=500, body={"error": {"message": f"bad key {KEY}"}})
    server.enqueue(status=401, body={"error": {"message": f"Incorrect API key {KEY}"}})

    with pytest.raises(StreamChatError):
        client(server).complete("hi")

    assert caplog.records
    assert KEY not in caplog.text
    assert all(KEY not in str(r.__dict__) for r in caplog.records)


def test_info_logging_costs_nothing_per_event(server, monkeypatch):
    checks: List[int] = []
    original = logger.isEnabledFor
    monkeypatch.setattr(logger, "isEnabledFor",
                        lambda level: checks.append(level) or original(level))
    server.enqueue(text="x" * 2000, chunk_size=1)

    response = client(server).complete("hi")

    assert len(response.text) == 2000
    assert len(checks) <= 3  # per attempt and per stream, never per event


def test_safe_url_masks_credentials_in_the_query() -> None:
    url = "https://example.com/v1beta/models/m:generateContent?alt=sse&key=AIzaSECRET"

    assert safe_url(url) == (
        "https://example.com/v1beta/models/m:generateContent?alt=sse&key=[redacted]"
    )
    assert safe_url("https://h/deploy?api-version=2024&token=t0k3n-abcdef",
                    secrets=["t0k3n-abcdef"]) == "https://h/deploy?api-version=2024&token=[redacted]"


def test_streamchat_log_puts_the_logger_on_stderr_at_that_level() -> None:
    before = (logger.level, list(logger.handlers))
    try:
        log_from_environment("debug")
        log_from_environment("debug")  # once is enough: no second handler
        added = [h for h in logger.handlers if h not in before[1]]
        assert logger.level == logging.DEBUG and len(added) == 1
        log_from_environment("nonsense")
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before[0])
        logger.handlers[:] = before[1]
    assert not logging.getLogger().handlers or all(
        not getattr(h, "_streamchat_env", False) for h in logging.getLogger().handlers
    )


# --- hooks ------------------------------------------------------------------------------------


def test_on_request_sees_every_attempt_with_masked_credentials(server, no_backoff):
    seen: List[Tuple[RequestInfo, str]] = []
    server.enqueue(status=503)
    server.enqueue(text="ok")

    client(server, on_request=lambda info: seen.append(
        (info, threading.current_thread().name))).complete("hi")

    assert [info.attempt for info, _ in seen] == [1, 2]
    info, thread = seen[0]
    assert thread == "streamchat-openai"  # the worker's, before sending
    assert info.provider == "openai" and info.model == "m" and info.method == "POST"
    assert info.url == server.base_url("openai") + "/chat/completions"
    assert info.headers["Authorization"] == "[redacted]"
    assert info.body["messages"][-1]["content"] == "hi"
    assert KEY not in repr(info)


def test_on_request_may_veto_the_attempt_by_closing_its_own_stream(server, caplog):
    caplog.set_level(logging.INFO, logger="streamchat")
    streams: List[streamchat.Stream] = []
    made = threading.Event()

    def veto(info: RequestInfo) -> None:
        assert made.wait(5)
        streams[0].close()  # from the worker thread, which close() must not wait for

    streams.append(client(server, on_request=veto).stream("vetoed"))
    made.set()

    # Closed before this thread iterates, or while it does: cancelled either way.
    assert streams[0].final().finish_reason == "cancelled"
    client(server).complete("sent")  # recorded after anything the vetoed call had sent
    assert [r.json["messages"][-1]["content"] for r in server.requests] == ["sent"]
    assert not [r for r in caplog.records if "hook raised" in r.getMessage()]


Ended = List[Tuple[ChatResponse, Optional[StreamChatError]]]


def test_on_response_once_for_a_normal_end(server):
    ended: Ended = []
    server.enqueue(text="a b c d e f g h", chunk_size=1)

    response = client(server, on_response=lambda r, e: ended.append((r, e))).complete("hi")

    assert len(ended) == 1
    assert ended[0][0] == response and ended[0][1] is None
    assert ended[0][0].request_id is not None


def test_on_response_once_for_an_error_with_the_error(server):
    ended: Ended = []
    server.enqueue(text="partial answer", error_event="overloaded")

    with pytest.raises(streamchat.ServerError) as caught:
        client(server, on_response=lambda r, e: ended.append((r, e))).complete("hi")

    [(response, error)] = ended
    assert error is caught.value
    assert response.text == "partial answer"


def test_on_response_once_for_an_interrupt_and_for_a_close(server):
    ended: Ended = []
    chat = client(server, on_response=lambda r, e: ended.append((r, e)))
    server.enqueue(text="one two three four", chunk_size=2)
    server.enqueue(text="one two three four", chunk_size=2)

    stream = chat.stream("hi")
    for event in stream:
        if event.type == "text":
            stream.interrupt()
    with chat.stream("again") as second:
        next(iter(second))
    second.close()

    assert [r.finish_reason for r, _ in ended] == ["cancelled", "cancelled"]
    assert all(e is None for _, e in ended)


def test_a_dropped_stream_is_reported_once_when_dropped(server, no_collector):
    ended: Ended = []
    server.enqueue(text="never read", stall_after=1)
    stream = client(server, on_response=lambda r, e: ended.append((r, e))).stream("hi")
    assert server.wait_for_requests(1)

    del stream
    server.release()

    assert len(ended) == 1 and ended[0][0].finish_reason == "cancelled"


def test_a_stream_that_ended_is_not_reported_again_when_dropped(server, no_collector):
    ended: Ended = []
    stream = client(server, on_response=lambda r, e: ended.append((r, e))).stream("hi")
    stream.final()

    del stream

    assert [r.finish_reason for r, _ in ended] == ["stop"]


def test_per_call_hooks_replace_the_clients(server):
    on_client: Ended = []
    on_call: Ended = []
    server.enqueue(text="ok")

    client(server, on_response=lambda r, e: on_client.append((r, e))).complete(
        "hi", on_response=lambda r, e: on_call.append((r, e)))

    assert len(on_call) == 1 and on_client == []


def test_a_failing_hook_is_logged_and_the_stream_carries_on(server, caplog):
    caplog.set_level(logging.INFO, logger="streamchat")
    server.enqueue(text="still fine")

    def boom(*args: Any) -> None:
        raise RuntimeError("hook bug")

    response = client(server, on_request=boom, on_response=boom).complete("hi")

    assert response.text == "still fine"
    failures = [r for r in caplog.records if r.exc_info and "hook raised" in r.getMessage()]
    assert len(failures) == 2
