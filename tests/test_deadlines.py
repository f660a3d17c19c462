"""Every deadline fires within 100 ms of its time, whatever the server sends: a status line
or headers a byte at a time, a chunk-size line that never ends, comments forever.

A socket timeout bounds each read, not the wait for a whole line, so a server that keeps
sending single bytes would hold a read open for as long as it likes. These servers write
raw bytes to the socket, below http.server's own framing."""

from __future__ import annotations

import threading
import time
from typing import Any, List, Tuple

import pytest
from loopback import Exchange, Loopback
from timing import SchedulingLag

import streamchat

HANG_GUARD = 10.0  # only to fail instead of hanging; never a performance claim
WITHIN = 0.1  # the contract: a deadline fires within 100 ms of its time
TRICKLE = 0.02  # seconds between two bytes
OK_HEADERS = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")


def chunk(text: str) -> bytes:
    data = b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


def raw(*parts: bytes, then: bytes, every: float = TRICKLE):
    """Write `parts` at once, then the bytes of `then` one at a time, again and again,
    until the client hangs up."""

    def handler(ex: Exchange) -> None:
        out = ex.handler.wfile
        for part in parts:
            out.write(part)
        out.flush()
        try:
            while not ex.server.release.is_set():
                for byte in then:
                    out.write(bytes([byte]))
                    out.flush()
                    time.sleep(every)
        except OSError:
            ex.server.disconnected.set()

    return handler


def timed(server: Loopback, timeouts: streamchat.Timeouts) -> Tuple[List[Any], BaseException,
                                                                      float, float]:
    """Run one stream in a helper thread: its events, its error, when the error came (from
    the start, or from the last output when `idle` is the deadline in question) and the
    worst scheduling lag meanwhile (see timing.SchedulingLag)."""
    c = streamchat.Client("openai", model="m", api_key="sk-test-deadline",
                          base_url=server.url + "/v1", timeouts=timeouts,
                          retry=streamchat.RetryPolicy(max_attempts=1))
    result: dict = {"events": []}

    def run() -> None:
        started = time.monotonic()
        try:
            for event in c.stream("hi"):
                result["events"].append(event)
                if event.type == "text" and timeouts.idle is not None:
                    started = time.monotonic()  # idle counts from the last output
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    with SchedulingLag() as lag:
        thread.start()
        thread.join(HANG_GUARD)
    assert not thread.is_alive(), "no deadline fired"
    assert "error" in result, "the stream ended without its deadline"
    return result["events"], result["error"], result["elapsed"], lag.worst


def assert_fired(error: BaseException, elapsed: float, phase: str, seconds: float,
                 lag: float) -> None:
    """On time: not before, and within WITHIN after, plus what the OS made any thread of
    this process wait meanwhile (under a millisecond on an idle machine)."""
    assert isinstance(error, streamchat.StreamTimeoutError), repr(error)
    assert error.phase == phase
    assert seconds - 0.01 <= elapsed <= seconds + WITHIN + lag, (
        f"{phase} fired after {elapsed:.3f} s (scheduling lag {lag:.3f} s)")


CASES = [
    pytest.param(streamchat.Timeouts(first_token=0.4, total=1.0), "first_token", 0.4,
                 id="first_token"),
    pytest.param(streamchat.Timeouts(first_token=None, idle=None, total=0.4), "total", 0.4,
                 id="total"),
]


@pytest.mark.parametrize("timeouts, phase, seconds", CASES)
def test_a_status_line_trickled_a_byte_at_a_time(timeouts, phase, seconds):
    with Loopback(raw(then=OK_HEADERS[:-2] + b"X-Pad: " + b"a" * 200 + b"\r\n")) as server:
        _, error, elapsed, lag = timed(server, timeouts)
    assert_fired(error, elapsed, phase, seconds, lag)


@pytest.mark.parametrize("timeouts, phase, seconds", CASES)
def test_headers_trickled_a_byte_at_a_time(timeouts, phase, seconds):
    status = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    with Loopback(raw(status, then=b"X-Slow: " + b"z" * 500 + b"\r\n")) as server:
        _, error, elapsed, lag = timed(server, timeouts)
    assert_fired(error, elapsed, phase, seconds, lag)


@pytest.mark.parametrize("timeouts, phase, seconds", CASES)
def test_a_chunk_size_line_that_never_ends(timeouts, phase, seconds):
    with Loopback(raw(OK_HEADERS, then=b"0" * 1000)) as server:
        _, error, elapsed, lag = timed(server, timeouts)
    assert_fired(error, elapsed, phase, seconds, lag)


def test_a_chunk_size_line_that_never_ends_after_output_meets_the_total_deadline():
    timeouts = streamchat.Timeouts(first_token=0.2, idle=None, total=0.5)
    with Loopback(raw(OK_HEADERS, chunk("hello"), then=b"0" * 1000)) as server:
        events, error, elapsed, lag = timed(server, timeouts)
    assert [e.text for e in events if e.type == "text"] == ["hello"]
    assert_fired(error, elapsed, "total", 0.5, lag)
    assert error.partial.text == "hello"


def test_chunk_extensions_trickled_forever_meet_the_idle_deadline():
    timeouts = streamchat.Timeouts(first_token=5, idle=0.3)
    with Loopback(raw(OK_HEADERS, chunk("hello"), then=b"1;" + b"x" * 1000)) as server:
        events, error, elapsed, lag = timed(server, timeouts)
    assert [e.type for e in events] == ["start", "text"]
    assert isinstance(error, streamchat.StreamTimeoutError) and error.phase == "idle"
    # idle counts from the text, which came a few milliseconds after the start
    assert elapsed <= 0.3 + WITHIN + lag, f"idle fired after {elapsed:.3f} s (lag {lag:.3f})"


@pytest.mark.parametrize("comment", [b": ping\n\n", b":\n", b"event: ping\ndata: {}\n\n"])
def test_comments_forever_meet_the_first_token_deadline(comment):
    timeouts = streamchat.Timeouts(first_token=0.4, total=2.0)
    framed = b"%x\r\n%s\r\n" % (len(comment), comment)
    with Loopback(raw(OK_HEADERS, then=framed, every=0.0)) as server:
        _, error, elapsed, lag = timed(server, timeouts)
    assert_fired(error, elapsed, "first_token", 0.4, lag)


def test_comments_trickled_a_byte_at_a_time_meet_the_total_deadline():
    timeouts = streamchat.Timeouts(first_token=None, idle=None, total=0.5)
    framed = b"%x\r\n%s\r\n" % (len(b": ping\n\n"), b": ping\n\n")
    with Loopback(raw(OK_HEADERS, chunk("hi"), then=framed)) as server:
        _, error, elapsed, lag = timed(server, timeouts)
    assert_fired(error, elapsed, "total", 0.5, lag)


@pytest.mark.parametrize("seconds", [0.2, 0.5])
def test_first_token_fires_on_time_on_a_silent_server(seconds):
    with Loopback(silent) as server:
        _, error, elapsed, lag = timed(server, streamchat.Timeouts(first_token=seconds))
    assert_fired(error, elapsed, "first_token", seconds, lag)


def silent(ex: Exchange) -> None:
    ex.server.release.wait(HANG_GUARD)


def test_the_error_says_which_deadline_and_what_to_do():
    with Loopback(raw(OK_HEADERS, then=b"0" * 1000)) as server:
        _, error, _, _ = timed(server, streamchat.Timeouts(first_token=0.2))
    message = str(error)
    assert "first_token" in message and "Timeouts(first_token=" in message
    assert "openai" in message


def test_an_error_body_trickled_a_byte_at_a_time_meets_the_total_deadline():
    with Loopback(raw(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n",
                      then=b"x")) as server:
        _, error, elapsed, lag = timed(server, streamchat.Timeouts(first_token=0.3, total=0.6))
    assert isinstance(error, streamchat.ServerError), repr(error)
    assert elapsed <= 0.6 + WITHIN + lag, f"the error body was read for {elapsed:.3f} s"


def test_a_stream_with_only_a_first_token_deadline_may_then_pause_for_longer():
    """After the first output no deadline applies; no timeout of the first may linger."""
    def handler(ex: Exchange) -> None:
        out = ex.handler.wfile
        out.write(OK_HEADERS + chunk("early "))
        out.flush()
        time.sleep(0.5)  # longer than first_token: only a leftover timeout would fire here
        end = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        out.write(chunk("late") + b"%x\r\n%s\r\n0\r\n\r\n" % (len(end), end))
        out.flush()

    with Loopback(handler) as server:
        c = streamchat.Client("openai", model="m", api_key="sk-test-deadline",
                              base_url=server.url + "/v1",
                              timeouts=streamchat.Timeouts(first_token=0.2, idle=None),
                              retry=streamchat.RetryPolicy(max_attempts=1))
        response = c.complete("hi")
    assert response.text == "early late"
    assert response.finish_reason == "stop"
