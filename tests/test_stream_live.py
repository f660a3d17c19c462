"""The threaded Stream against a real loopback server: delivery, interrupts, cleanup."""

import gc
import threading

import pytest
from conftest import wait_for_threads
from loopback import OK_END, Loopback

import streamchat
from streamchat.wire import openai_chat

HANG_GUARD = 5.0  # only to fail instead of hanging; never a performance claim


def chunk(text: str) -> bytes:
    return b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()


def client(server, **kwargs):
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    return streamchat.Client("openai", model="m", api_key="sk-test", base_url=server.url + "/v1",
                             **kwargs)


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_each_event_arrives_before_the_next_is_sent(framing):
    got_first = threading.Event()
    body = chunk("one") + chunk("two") + OK_END

    def handler(ex):
        ex.start(framing=framing, length=len(body))
        first = chunk("one")
        ex.write(first)
        # The second piece is only sent once the consumer has the first: a client that
        # waited for a buffer to fill or for the end of the body would deadlock here.
        assert got_first.wait(HANG_GUARD)
        ex.write(body[len(first):])
        ex.end()

    with Loopback(handler) as server:
        texts = []
        for event in client(server).stream("hi"):
            if event.type == "text":
                texts.append(event.text)
                got_first.set()
        assert texts == ["one", "two"]


def stall_after_first(ex):
    ex.start(framing="chunked")
    ex.write(chunk("first"))
    if ex.wait_for_disconnect(HANG_GUARD):
        ex.server.disconnected.set()


def test_interrupt_ends_a_silent_stream_and_closes_the_socket(thread_baseline):
    with Loopback(stall_after_first) as server:
        stream = client(server).stream("hi")
        events = []
        for event in stream:
            events.append(event.type)
            if event.type == "text":
                threading.Thread(target=stream.interrupt).start()
        assert events == ["start", "text", "cancelled"]
        assert stream.response.finish_reason == "cancelled"
        assert stream.response.text == "first"
        assert server.disconnected.wait(HANG_GUARD), "the server never saw the socket close"
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_callers_cancel_event_interrupts_from_another_thread():
    stop = threading.Event()
    with Loopback(stall_after_first) as server:
        stream = client(server).stream("hi", cancel=stop)
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "text":
                threading.Timer(0.01, stop.set).start()
        assert kinds[-1] == "cancelled"
        assert server.disconnected.wait(HANG_GUARD)


def test_pause_ends_with_paused():
    with Loopback(stall_after_first) as server:
        stream = client(server).stream("hi")
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "text":
                stream.pause()
        assert kinds[-1] == "paused"
        assert stream.response.finish_reason == "paused"


def test_breaking_out_of_a_with_block_stops_the_worker(thread_baseline):
    with Loopback(stall_after_first) as server:
        with client(server).stream("hi") as stream:
            for event in stream:
                if event.type == "text":
                    break
        assert stream.response.finish_reason == "cancelled"
        assert server.disconnected.wait(HANG_GUARD)
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_garbage_collection_stops_the_worker(thread_baseline):
    with Loopback(stall_after_first) as server:
        stream = client(server).stream("hi")
        assert next(e for e in stream if e.type == "text").text == "first"
        del stream
        gc.collect()
        assert server.disconnected.wait(HANG_GUARD)
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_disconnect_mid_stream_raises_with_partial():
    def handler(ex):
        ex.start(framing="close")
        ex.write(chunk("half an"))
        ex.write(b'data: {"choices":[{"index":0,"delta":{"content":" ans')

    with Loopback(handler) as server:
        stream = client(server).stream("hi")
        texts = []
        with pytest.raises(streamchat.ProtocolError) as info:
            for event in stream:
                if event.type == "text":
                    texts.append(event.text)
        assert texts == ["half an"]
        assert info.value.partial.text == "half an"
        assert info.value.partial.finish_reason is None


def test_body_left_open_after_done_does_not_hang():
    let_go = threading.Event()

    def handler(ex):
        ex.start(framing="chunked")
        ex.write(chunk("all") + OK_END)
        ex.server.release.wait(HANG_GUARD)
        let_go.set()

    with Loopback(handler) as server:
        response = client(server).complete("hi")
        assert response.text == "all"
        assert response.finish_reason == "stop"
        assert not let_go.is_set(), "complete() waited for the server to close the body"


def test_http_error_carries_provider_message_status_and_request_id():
    def handler(ex):
        ex.reply(401, b'{"error": {"message": "Incorrect API key provided: sk-te***st.", '
                      b'"type": "invalid_request_error", "code": "invalid_api_key"}}',
                 {"x-request-id": "req_123"})

    with Loopback(handler) as server, pytest.raises(streamchat.AuthenticationError) as info:
        client(server).complete("hi")
    error = info.value
    assert error.status_code == 401
    assert error.request_id == "req_123"
    assert "Incorrect API key provided" in str(error)
    assert "openai" in str(error) and "req_123" in str(error)


def test_idle_deadline_counts_content_not_keepalive_pings():
    def handler(ex):
        ex.start(framing="chunked")
        ex.write(chunk("hello"))
        while not ex.server.release.wait(0.02):
            ex.write(b": ping\n\n")

    with Loopback(handler) as server:
        c = client(server, timeouts=streamchat.Timeouts(idle=0.3))
        with pytest.raises(streamchat.StreamTimeoutError) as info:
            for _ in c.stream("hi"):
                pass
        assert info.value.phase == "idle"
        assert info.value.partial.text == "hello"


def test_first_token_deadline_while_the_server_sends_nothing():
    def handler(ex):
        ex.server.release.wait(HANG_GUARD)

    with Loopback(handler) as server:
        c = client(server, timeouts=streamchat.Timeouts(first_token=0.2))
        with pytest.raises(streamchat.StreamTimeoutError) as info:
            c.complete("hi")
        assert info.value.phase == "first_token"


def test_status_events_while_waiting_for_the_first_byte():
    answer = threading.Event()
    seen_status = threading.Event()

    def handler(ex):
        assert seen_status.wait(HANG_GUARD)
        ex.start(framing="chunked")
        ex.write(chunk("ready") + OK_END)
        ex.end()

    with Loopback(handler) as server:
        c = client(server, timeouts=streamchat.Timeouts(status_interval=0.02))
        kinds, notices = [], []
        for event in c.stream("hi"):
            kinds.append(event.type)
            if event.type == "status":
                notices.append(event.message)
                seen_status.set()
        answer.set()
        assert kinds[0] == "start" and "status" in kinds
        assert kinds[-2:] == ["text", "done"]
        # The first notice comes after one interval (0.02 s) of waiting.
        assert notices[0].startswith("waiting for openai to start answering (0 s so far;")


def test_retry_after_429_then_success(no_backoff):
    def limited(ex):
        ex.reply(429, b'{"error": {"message": "Rate limit reached", "type": "requests"}}',
                 {"retry-after": "7"})

    def ok(ex):
        ex.start(framing="chunked")
        ex.write(chunk("fine") + OK_END)
        ex.end()

    with Loopback(limited, ok) as server:
        c = client(server, retry=streamchat.RetryPolicy(max_attempts=2))
        events = list(c.stream("hi"))
    assert [e.type for e in events] == ["start", "retry", "start", "text", "done"]
    assert events[1].delay == 7.0 and events[1].attempt == 1 and events[1].max_attempts == 2
    assert "Rate limit reached" in events[1].error
    assert no_backoff == [7.0]


def test_streams_beyond_max_connections_close_their_extra_connections_quietly(caplog):
    # max_connections documents that extra connections are closed after use; urllib3
    # would log a warning for each, which costs more than a stream's own end.
    def answer(ex):
        ex.start(framing="chunked")
        ex.write(chunk("hello") + OK_END)
        ex.end()

    with Loopback(answer, answer) as server:
        shared = client(server, max_connections=1)
        with caplog.at_level("WARNING", logger="urllib3"):
            first = shared.stream("hi")
            assert next(e for e in first if e.type == "text").text == "hello"
            assert shared.stream("hi").final().text == "hello"  # while the first holds one
            assert first.final().text == "hello"
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_the_first_content_is_handed_over_before_the_rest_of_its_read_is_decoded(monkeypatch):
    # The whole answer arrives in one read; decoding its second delta is held up. The
    # first delta must reach the loop meanwhile (the time to the first event is not the
    # time to decode everything that came with it).
    holding, release = threading.Event(), threading.Event()
    feed = openai_chat.Decoder.feed

    def slow_second(self, frame):
        if '"b"' in frame.data:
            holding.set()
            release.wait(HANG_GUARD)
            holding.clear()
        return feed(self, frame)

    monkeypatch.setattr(openai_chat.Decoder, "feed", slow_second)

    def together(ex):
        ex.start(framing="chunked")
        ex.end(chunk("a") + chunk("b") + OK_END)

    with Loopback(together) as server:
        stream = client(server).stream("hi")
        events = iter(stream)  # kept: a loop left early would stop the stream
        first = next(event for event in events if event.type == "text")
        assert first.text == "a"
        # Handed over while the worker is still (or about to be) held inside the second
        # delta, which it leaves only when released.
        assert holding.wait(HANG_GUARD), "the first delta waited for the rest of its read"
        release.set()
        assert stream.final().text == "ab"
