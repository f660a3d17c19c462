"""Server-sent events for web views: the bytes, the error frame, and what closing the body
early does to the upstream stream, through Flask's and Django's own test clients."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from helpers import FIXTURES

import streamchat
import streamchat.testing.server as fake_server_module
from streamchat.framing import sse_frames
from streamchat.testing import FakeServer
from streamchat.web import KEEPALIVE_FRAME, SSE_HEADERS, SSEBody, sse_body, sse_frame

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HANG_GUARD = 5.0  # only to fail instead of hanging; never a performance claim


def parse(body: bytes) -> List[Tuple[str, Dict[str, Any]]]:
    """(event name, JSON data) of each frame, read by the same SSE parser the client uses."""
    return [(frame.event, json.loads(frame.data)) for frame in sse_frames([body])]


def texts(frames: List[Tuple[str, Dict[str, Any]]]) -> str:
    return "".join(data["text"] for name, data in frames if name == "text")


@pytest.fixture
def fake(monkeypatch):
    """A FakeServer behind `Client("fake")` for this test alone."""
    with FakeServer() as server:
        monkeypatch.setattr(fake_server_module, "shared_server", lambda: server)
        monkeypatch.delenv("STREAMCHAT_PROVIDER", raising=False)
        yield server


def load_example(name: str, monkeypatch) -> Any:
    """Import examples/<name>.py afresh (its module-level Client sees this test's fake)."""
    module_name = f"streamchat_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, module_name, module)
    spec.loader.exec_module(module)
    return module


def spy_streams(module: Any, monkeypatch) -> List[streamchat.Stream]:
    """Keep every Stream the example's client starts, to look at it after the request."""
    started: List[streamchat.Stream] = []
    original = module.client.stream

    def stream(*args: Any, **kwargs: Any) -> streamchat.Stream:
        started.append(original(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(module.client, "stream", stream)
    return started


def assert_interrupted_upstream(stream: streamchat.Stream, server: FakeServer) -> None:
    thread = stream._worker.thread
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the worker outlived the closed response"
    assert stream.response is not None
    assert stream.response.finish_reason == "cancelled"
    assert server.wait_for_disconnect(HANG_GUARD), "the provider connection was left open"


# -- the bytes -----------------------------------------------------------------------------


def test_frame_is_a_named_event_with_one_json_data_line():
    frame = sse_frame("text", {"type": "text", "text": "two\nlines \u2028 caf\u00e9"})
    assert frame == (
        'event: text\ndata: {"type":"text","text":"two\\nlines \u2028 caf\u00e9"}\n\n'
    ).encode("utf-8")
    assert parse(frame) == [("text", {"type": "text", "text": "two\nlines \u2028 caf\u00e9"})]


def test_body_has_every_event_in_order_and_ends_with_done():
    expected = list(streamchat.replay(FIXTURES / "openai" / "text_usage.sse"))
    stream = streamchat.replay(FIXTURES / "openai" / "text_usage.sse", chunk_size=5)
    frames = parse(b"".join(stream.to_sse()))
    assert [name for name, _ in frames] == [e.type for e in expected]
    assert frames[-1][0] == "done"
    assert [data for _, data in frames] == [e.model_dump(mode="json") for e in expected]
    assert all(data["type"] == name for name, data in frames)


def test_a_failing_stream_ends_with_an_error_frame_not_a_traceback():
    stream = streamchat.replay(FIXTURES / "openai" / "error_in_stream.sse")
    body = b"".join(sse_body(stream))
    frames = parse(body)
    assert [name for name, _ in frames] == ["start", "text", "error"]
    error = frames[-1][1]
    assert error["type"] == type(stream.error).__name__
    assert isinstance(stream.error, streamchat.StreamChatError)
    assert error["message"] == str(stream.error)
    assert "Provider disconnected unexpectedly" in error["message"]
    assert b"Traceback" not in body


def test_closing_the_body_before_it_starts_interrupts_the_stream(fake):
    fake.enqueue(text="never read", stall_after=0)
    stream = streamchat.Client("fake").stream("hi")
    body = stream.to_sse()
    assert isinstance(body, SSEBody)
    deadline = time.monotonic() + HANG_GUARD
    while not fake.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    body.close()
    assert_interrupted_upstream(stream, fake)
    assert list(body) == []


def test_closing_after_the_end_is_harmless():
    events = list(streamchat.replay(FIXTURES / "openai" / "text_usage.sse"))
    stream = streamchat.replay(FIXTURES / "openai" / "text_usage.sse")
    body = stream.to_sse()
    assert len(list(body)) == len(events)
    body.close()
    body.close()
    assert stream.response is not None
    assert stream.response.finish_reason == "stop"


# -- Flask -----------------------------------------------------------------------------------


@pytest.fixture
def flask_example(fake, monkeypatch):
    pytest.importorskip("flask")
    return load_example("flask_app", monkeypatch)


def test_flask_streams_the_answer_as_sse(fake, flask_example):
    fake.enqueue(text="Rivers run to the sea.")
    response = flask_example.app.test_client().get("/chat?q=Write+a+haiku")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    for name, value in SSE_HEADERS.items():
        assert response.headers[name] == value
    frames = parse(response.get_data())
    names = [name for name, _ in frames]
    assert names[0] == "start"
    assert names[-1] == "done"
    assert texts(frames) == "Rivers run to the sea."
    assert fake.last_request.json["messages"][-1]["content"] == "Write a haiku"


def test_flask_index_page_listens_for_the_events(flask_example):
    page = flask_example.app.test_client().get("/").get_data(as_text=True)
    assert "new EventSource" in page
    assert '"done"' in page and "source.close()" in page


def test_flask_disconnect_interrupts_the_upstream_stream(fake, flask_example, monkeypatch):
    fake.enqueue(text="a long answer nobody will read", chunk_size=4, stall_after=2)
    started = spy_streams(flask_example, monkeypatch)
    response = flask_example.app.test_client().get("/chat?q=hi", buffered=False)
    chunks = response.iter_encoded()
    first = next(chunks)
    assert parse(first)[0][0] == "start"
    response.close()  # what the WSGI server does when the browser goes away
    (stream,) = started
    assert_interrupted_upstream(stream, fake)


# -- Django ----------------------------------------------------------------------------------


@pytest.fixture
def django_example(fake, monkeypatch):
    pytest.importorskip("django")
    import django
    from django.conf import settings
    from django.test.utils import override_settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="streamchat-tests",
            ALLOWED_HOSTS=["testserver"],
            ROOT_URLCONF="streamchat_example_django_app",
        )
    django.setup()
    module = load_example("django_app", monkeypatch)
    with override_settings(ROOT_URLCONF=module.__name__, ALLOWED_HOSTS=["testserver"]):
        yield module


def test_django_streams_the_answer_as_sse(fake, django_example):
    from django.test import Client as DjangoClient

    fake.enqueue(text="Rivers run to the sea.")
    response = DjangoClient().get("/chat", {"q": "Write a haiku"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/event-stream"
    for name, value in SSE_HEADERS.items():
        assert response[name] == value
    frames = parse(b"".join(response.streaming_content))
    names = [name for name, _ in frames]
    assert names[0] == "start"
    assert names[-1] == "done"
    assert texts(frames) == "Rivers run to the sea."
    assert fake.last_request.json["messages"][-1]["content"] == "Write a haiku"


def test_django_disconnect_interrupts_the_upstream_stream(fake, django_example, monkeypatch):
    from django.test import Client as DjangoClient

    fake.enqueue(text="a long answer nobody will read", chunk_size=4, stall_after=2)
    started = spy_streams(django_example, monkeypatch)
    response = DjangoClient().get("/chat", {"q": "hi"})
    chunks = iter(response.streaming_content)
    assert parse(next(chunks))[0][0] == "start"
    response.close()  # what the WSGI handler does when the browser goes away
    (stream,) = started
    assert_interrupted_upstream(stream, fake)


# -- keep-alive comments ------------------------------------------------------------------


def test_keepalive_comments_keep_their_interval_while_a_cancel_event_is_polled(fake):
    # A cancel Event shared with other processes cannot be waited on, so the stream wakes
    # often to poll it; those wake-ups are not silences long enough for a keep-alive comment
    # (the first is due only after 30 s).
    fake.enqueue(text="one two three four", chunk_size=4, stall_after=2)
    cancel = multiprocessing.Event()
    body = streamchat.Client("fake").stream("hi", cancel=cancel).to_sse(keepalive=30)
    first = next(body)
    assert b"event: text" in first or b"event: start" in first
    speak_again = threading.Timer(0.3, fake.release)  # a silence of many poll intervals
    speak_again.start()
    try:
        rest = list(body)
    finally:
        speak_again.cancel()
    assert KEEPALIVE_FRAME not in rest
    assert texts(parse(first + b"".join(rest))) == "one two three four"


def test_a_silent_provider_gets_keepalive_comments_until_it_speaks_again(fake):
    fake.enqueue(text="one two three four", chunk_size=4, stall_after=2)
    body = streamchat.Client("fake").stream("hi").to_sse(keepalive=0.05)
    frames: List[bytes] = []
    for frame in body:
        frames.append(frame)
        if frame == KEEPALIVE_FRAME:
            break  # the provider went silent after its first frames
    assert frames[-1] == KEEPALIVE_FRAME and any(b"event: text" in f for f in frames)
    assert next(body) == KEEPALIVE_FRAME  # and again, while the silence lasts
    fake.release()
    rest = b"".join(frame for frame in body if frame != KEEPALIVE_FRAME)
    whole = b"".join(f for f in frames if f != KEEPALIVE_FRAME) + rest
    assert texts(parse(whole)) == "one two three four"
    assert parse(whole)[-1][0] == "done"


def test_keepalive_comments_are_invisible_to_an_sse_parser():
    assert list(sse_frames([KEEPALIVE_FRAME])) == []


def test_without_keepalive_the_body_only_iterates_the_stream():
    class PlainSource:
        def __iter__(self):
            return iter(streamchat.replay(FIXTURES / "openai" / "text_usage.sse"))

        def with_keepalive(self, interval):
            raise AssertionError("keepalive=None must not ask for keep-alive cues")

        def interrupt(self):
            pass

        def close(self):
            pass

    body = b"".join(sse_body(PlainSource(), keepalive=None))
    assert parse(body)[-1][0] == "done" and KEEPALIVE_FRAME not in body


def test_keepalive_must_be_positive():
    stream = streamchat.replay(FIXTURES / "openai" / "text_usage.sse")
    with pytest.raises(streamchat.ConfigurationError, match="keepalive"):
        stream.to_sse(keepalive=0)
    stream.close()
