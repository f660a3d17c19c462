"""Servers that misbehave on purpose, over real sockets: memory stays bounded, every
deadline fires, and no server can hold a worker thread once its stream is over."""

from __future__ import annotations

import threading
import time
from typing import Any, List, Optional, Tuple

import pytest
from conftest import wait_for_threads
from loopback import OK_END, Exchange, Loopback, chunk

import streamchat
from streamchat.framing import FrameTooLargeError

HANG_GUARD = 10.0  # only to fail instead of hanging; never a performance claim
LIMIT = 64 * 1024


def make_client(server: Loopback, provider: str = "openai", **kwargs: Any) -> streamchat.Client:
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    base = server.url if provider == "ollama" else server.url + "/v1"
    return streamchat.Client(provider, model="m", api_key="sk-test-hostile", base_url=base,
                             **kwargs)


def consume(stream: streamchat.Stream) -> Tuple[List[Any], Optional[BaseException], float]:
    """Iterate in a helper thread so that a hang fails the test instead of CI."""
    result: dict = {"events": []}
    started = time.monotonic()

    def run() -> None:
        try:
            for event in stream:
                result["events"].append(event)
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc
        result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the stream hung"
    return result["events"], result.get("error"), result["elapsed"]


def texts(events: List[Any]) -> str:
    return "".join(e.text for e in events if e.type == "text")


def flood(piece: bytes, sent: List[int], *, prefix: bytes = b"", every: float = 0.0):
    """A handler that writes `prefix`, then `piece` until the client goes away."""

    def handler(ex: Exchange) -> None:
        ex.start()
        if prefix:  # an empty chunk would end a chunked body
            ex.write(prefix)
            sent.append(len(prefix))
        try:
            while not ex.server.release.is_set():
                ex.write(piece)
                sent.append(len(piece))
                if every:
                    time.sleep(every)
        except OSError:
            ex.server.disconnected.set()

    return handler


# -- bounded memory ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "prefix", "piece"),
    [
        # one SSE line that never ends
        ("openai", chunk("before") + b'data: {"choices":[{"delta":{"content":"', b"a" * 4096),
        # one SSE event of endless data lines, never a blank line
        ("openai", chunk("before"), b"data: " + b"b" * 200 + b"\n"),
        # one NDJSON line that never ends
        ("ollama", b'{"message":{"content":"before"},"done":false}\n{"message":{"content":"',
         b"c" * 4096),
    ],
    ids=["sse-line", "sse-event", "ndjson-line"],
)
def test_an_endless_frame_is_refused_at_the_limit(provider, prefix, piece, thread_baseline):
    sent: List[int] = []
    with Loopback(flood(piece, sent, prefix=prefix)) as server:
        client = make_client(server, provider, max_frame_bytes=LIMIT)
        events, error, _ = consume(client.stream("hi"))
        assert isinstance(error, FrameTooLargeError)
        assert isinstance(error, streamchat.ProtocolError) and not error.retryable
        assert f"more than {LIMIT} bytes" in str(error)
        assert error.provider == provider  # framing knows no provider; the stream names it
        assert texts(events) == "before" == error.partial.text
        assert server.disconnected.wait(HANG_GUARD), "the connection was left open"
        # What the server managed to push is the limit plus what the kernel buffers
        # held: it never depends on how long the server would go on.
        assert sum(sent) < LIMIT + 16 * 1024 * 1024
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_the_default_limit_is_several_mib_and_configurable():
    from streamchat.framing import DEFAULT_MAX_FRAME_BYTES

    assert 1024 * 1024 <= DEFAULT_MAX_FRAME_BYTES <= 64 * 1024 * 1024
    big = "x" * (LIMIT * 2)
    body = chunk(big) + OK_END
    with Loopback(lambda ex: (ex.start(), ex.write(body), ex.end())) as server:
        assert make_client(server).complete("hi").text == big
    with Loopback(lambda ex: (ex.start(), ex.write(body), ex.end())) as server:
        _, error, _ = consume(make_client(server, max_frame_bytes=LIMIT).stream("hi"))
        assert isinstance(error, FrameTooLargeError)


# -- deadlines -------------------------------------------------------------------------


@pytest.mark.parametrize("ping", [b": ping\n\n", b": ping\n", b"event: ping\ndata: \n\n"])
def test_endless_pings_before_any_output_hit_the_first_token_deadline(ping):
    sent: List[int] = []
    with Loopback(flood(ping, sent, every=0.01)) as server:
        timeouts = streamchat.Timeouts(first_token=0.4, idle=30)
        events, error, elapsed = consume(make_client(server, timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError)
        assert error.phase == "first_token"
        assert [e.type for e in events] == ["start"]
        assert 0.35 <= elapsed < 0.4 + 2.0
        assert len(sent) > 10, "the server was not pinging"


def test_endless_pings_after_output_hit_the_idle_deadline():
    sent: List[int] = []
    with Loopback(flood(b": keep-alive\n\n", sent, prefix=chunk("so far"), every=0.01)) as server:
        timeouts = streamchat.Timeouts(first_token=30, idle=0.4)
        events, error, elapsed = consume(make_client(server, timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError) and error.phase == "idle"
        assert texts(events) == "so far" == error.partial.text
        assert elapsed < 0.4 + 2.0


def test_anthropic_pings_do_not_count_as_output():
    ping = b'event: ping\ndata: {"type": "ping"}\n\n'
    sent: List[int] = []
    with Loopback(flood(ping, sent, every=0.01)) as server:
        timeouts = streamchat.Timeouts(first_token=0.4)
        _, error, _ = consume(make_client(server, "anthropic", timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError)
        assert error.phase == "first_token"


def trickle(body: bytes, delay: float):
    def handler(ex: Exchange) -> None:
        ex.start()
        try:
            for position in range(len(body)):
                if ex.server.release.is_set():
                    return
                ex.write(body[position:position + 1])
                time.sleep(delay)
        except OSError:
            ex.server.disconnected.set()

    return handler


def test_output_trickled_byte_by_byte_stops_at_the_total_deadline():
    body = b"".join(chunk(f"w{i} ") for i in range(200)) + OK_END
    with Loopback(trickle(body, 0.002)) as server:
        timeouts = streamchat.Timeouts(first_token=5, idle=5, total=1.0)
        events, error, elapsed = consume(make_client(server, timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError) and error.phase == "total"
        shown = texts(events)
        assert shown.startswith("w0 w1 ") and error.partial.text == shown
        assert 0.9 <= elapsed < 1.0 + 2.0
        assert server.disconnected.wait(HANG_GUARD)


def test_a_server_that_stalls_inside_the_headers_hits_the_deadline():
    def handler(ex: Exchange) -> None:
        ex.handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        ex.handler.wfile.flush()
        ex.server.release.wait(HANG_GUARD)

    with Loopback(handler) as server:
        timeouts = streamchat.Timeouts(first_token=0.5)
        _, error, elapsed = consume(make_client(server, timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError)
        assert error.phase == "first_token"
        assert elapsed < 0.5 + 2.0


def trickle_body(status: int, body: bytes, content_type: Optional[str] = None):
    """A handler that sends `body` with a Content-Length, one byte every 5 ms."""

    def handler(ex: Exchange) -> None:
        ex.handler.send_response(status)
        if content_type:
            ex.handler.send_header("Content-Type", content_type)
        ex.handler.send_header("Content-Length", str(len(body)))
        ex.handler.end_headers()
        try:
            for position in range(len(body)):
                if ex.server.release.is_set():
                    return
                ex.handler.wfile.write(body[position:position + 1])
                ex.handler.wfile.flush()
                time.sleep(0.005)
        except OSError:
            pass

    return handler


def test_an_error_body_trickled_slowly_stops_at_the_total_deadline():
    body = b'{"error": {"message": "' + b"x" * 5000 + b'"}}'
    with Loopback(trickle_body(500, body)) as server:
        timeouts = streamchat.Timeouts(first_token=30, idle=30, total=1.0)
        _, error, elapsed = consume(make_client(server, timeouts=timeouts).stream("hi"))
        assert isinstance(error, streamchat.StreamChatError)
        assert elapsed < 1.0 + 2.0


def test_a_non_streamed_body_trickled_slowly_stops_at_the_total_deadline():
    body = b'{"choices": [{"message": {"content": "' + b"y" * 5000 + b'"}}]}'
    with Loopback(trickle_body(200, body, "application/json")) as server:
        timeouts = streamchat.Timeouts(first_token=30, idle=30, total=1.0)
        client = make_client(server, timeouts=timeouts, stream=False)
        _, error, elapsed = consume(client.stream("hi"))
        assert isinstance(error, streamchat.StreamTimeoutError) and error.phase == "total"
        assert elapsed < 1.0 + 2.0


def test_too_many_headers_is_a_typed_error():
    def handler(ex: Exchange) -> None:
        ex.handler.send_response(200)
        for number in range(500):
            ex.handler.send_header(f"X-Junk-{number}", "j" * 100)
        ex.handler.end_headers()
        ex.handler.wfile.flush()

    with Loopback(handler) as server:
        _, error, _ = consume(make_client(server).stream("hi"))
        assert isinstance(error, streamchat.ConnectionFailedError)


# -- the terminal event ----------------------------------------------------------------


def workers_gone(timeout: float = 2.0) -> bool:
    """True once no streamchat worker thread is alive (bounded wait, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while any(t.name.startswith("streamchat-") for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("after", [b"", b": still here\n\n", b"garbage that never ends " * 50])
def test_a_server_that_never_closes_after_the_end_cannot_hold_the_worker(after,
                                                                          thread_baseline):
    def handler(ex: Exchange) -> None:
        ex.start()
        ex.write(chunk("all of it") + OK_END)
        if not after:
            if ex.wait_for_disconnect(HANG_GUARD):
                ex.server.disconnected.set()
            return
        try:
            while not ex.server.release.is_set():
                ex.write(after)
                time.sleep(0.005)
        except OSError:
            ex.server.disconnected.set()

    with Loopback(handler) as server:
        stream = make_client(server).stream("hi")
        # The server holds the body open at least as long as consume()'s hang guard, so the
        # stream can only end here at its terminal event.
        events, error, _ = consume(stream)
        assert error is None and events[-1].type == "done"
        assert stream.response.text == "all of it"
        assert workers_gone(), "a worker outlived its stream"
        assert server.disconnected.wait(HANG_GUARD), "the connection was never dropped"
    assert wait_for_threads(thread_baseline) <= thread_baseline


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("anthropic", b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n'
                      b'event: message_stop\ndata: {"type":"message_stop"}\n\n'),
        ("gemini", b'data: {"candidates":[{"content":{"parts":[{"text":"x"}]},'
                   b'"finishReason":"STOP"}]}\n\n'),
        ("ollama", b'{"message":{"content":"x"},"done":true,"done_reason":"stop"}\n'),
        ("openai-responses", b'event: response.completed\n'
                             b'data: {"type":"response.completed","response":{}}\n\n'),
    ],
)
def test_every_wire_ends_at_its_terminal_event_whatever_follows(provider, body,
                                                                thread_baseline):
    let_go = threading.Event()

    def handler(ex: Exchange) -> None:
        ex.start()
        ex.write(body)
        ex.server.release.wait(HANG_GUARD)
        let_go.set()

    with Loopback(handler) as server:
        events, error, _ = consume(make_client(server, provider).stream("hi"))
        assert error is None and events[-1].type == "done"
        assert not let_go.is_set(), "the stream waited for the server to close the body"
        assert workers_gone(), "a worker outlived its stream"
    assert wait_for_threads(thread_baseline) <= thread_baseline
