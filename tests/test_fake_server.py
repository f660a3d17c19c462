"""The fake provider over real loopback sockets: every wire byte for byte, every fault the
resilience tests script (statuses, resets, stalls with and without keep-alives, cuts,
paced frames), disconnect detection, and a shutdown that leaves no thread behind."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, Optional, Set

import pytest
import requests
from conftest import wait_for_threads
from helpers import decode, fake_client

import streamchat
from streamchat.accumulate import fold
from streamchat.errors import AuthenticationError, ProtocolError, RateLimitError
from streamchat.providers import wire_format as module
from streamchat.testing import WIRES, FakeServer, make_script, render
from streamchat.testing.server import shared_server, wire_for_path

pytest_plugins = ["pytester"]

PATHS = {"openai": "/chat/completions", "openai-responses": "/responses",
         "anthropic": "/messages", "gemini": "/models/fake-model:streamGenerateContent?alt=sse",
         "ollama": "/api/chat"}


def request_for(wire: str, prompt: str = "Hello") -> Dict[str, Any]:
    if wire == "gemini":
        return {"contents": [{"role": "user", "parts": [{"text": prompt}]}]}
    key = "input" if wire == "openai-responses" else "messages"
    body: Dict[str, Any] = {"model": "fake-model", key: [{"role": "user", "content": prompt}],
                            "stream": True}
    if wire == "openai":
        body["stream_options"] = {"include_usage": True}
    return body


def url_for(server: FakeServer, wire: str) -> str:
    return server.base_url(wire) + PATHS[wire]


def fake_threads() -> Set[threading.Thread]:
    """The fake servers' threads (the process-wide shared one included, if it runs)."""
    return {t for t in threading.enumerate() if t.name.startswith("fake-provider")}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


class Raw:
    """A hand-driven HTTP/1.1 client, for watching bytes arrive (or not) on the socket."""

    def __init__(self, server: FakeServer, wire: str = "openai", body: Any = None) -> None:
        self.sock = socket.create_connection((server.server_name, server.server_port), timeout=5)
        self.buffer = b""
        path = url_for(server, wire)[len(server.url):]
        self.send(path, body if body is not None else request_for(wire))

    def send(self, path: str, body: Any) -> None:
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n")
        self.sock.sendall(head.encode() + data)

    def read_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{marker!r} never arrived; got {self.buffer[-200:]!r}"
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            assert data, f"connection closed before {marker!r}; got {self.buffer[-200:]!r}"
            self.buffer += data
        return self.buffer

    def quiet_for(self, seconds: float) -> bool:
        """True when nothing at all arrives for `seconds`."""
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        self.buffer += data
        return False

    def read_to_eof(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        while True:
            data = self.sock.recv(65536)
            if not data:
                return self.buffer
            self.buffer += data

    def body(self) -> bytes:
        """The de-chunked body received so far."""
        raw = self.buffer.split(b"\r\n\r\n", 1)[1]
        out = b""
        while raw:
            size_line, _, rest = raw.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            out, raw = out + rest[:size], rest[size + 2:]
        return out

    def close(self) -> None:
        self.sock.close()


# --- the wire formats, byte for byte ----------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_every_wire_is_served_byte_for_byte(server: FakeServer, wire: str) -> None:
    script = server.enqueue(text="Sunny & 21 °C", thinking="check", chunk_size=3,
                            tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])

    reply = requests.post(url_for(server, wire), json=request_for(wire), stream=True, timeout=5)
    chunks = list(reply.iter_content(chunk_size=None))

    expected = render(script, wire, request_for(wire), model="fake-model", seq=1)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == expected.content_type
    assert reply.headers["Transfer-Encoding"] == "chunked"
    assert b"".join(chunks) == expected.body
    response = fold(decode(module(wire), b"".join(chunks), provider=wire))
    assert (response.text, response.thinking) == ("Sunny & 21 °C", "check")
    assert [c.arguments for c in response.tool_calls] == [{"city": "Paris"}]
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize("wire", WIRES)
def test_non_streaming_requests_get_one_json_body(server: FakeServer, wire: str) -> None:
    server.enqueue(text="plain answer")
    body = request_for(wire)
    body["stream"] = False
    url = url_for(server, wire).replace(":streamGenerateContent?alt=sse", ":generateContent")

    reply = requests.post(url, json=body, timeout=5)

    assert reply.headers["Content-Type"].startswith("application/json")
    assert fold(module(wire).decode_body(reply.json(), wire)).text == "plain answer"


@pytest.mark.parametrize("wire", WIRES)
def test_client_streams_every_wire_from_the_fake(server: FakeServer, wire: str) -> None:
    client = streamchat.Client(wire, model="fake-model", api_key="sk-test",
                               base_url=server.base_url(wire))
    server.enqueue(text="scripted", usage={"input_tokens": 5, "output_tokens": 2})
    try:
        first = client.complete("Hi")
        second = client.complete("What time is it?")
    finally:
        client.close()

    assert first.text == "scripted"
    assert first.usage is not None and first.usage.output_tokens == 2
    assert second.text == 'You said: "What time is it?". This is streamchat\'s fake provider.'
    assert [r.wire for r in server.requests] == [wire, wire]


def test_base_urls_follow_the_presets_layout(server: FakeServer) -> None:
    assert server.url == f"http://127.0.0.1:{server.server_port}"
    assert server.base_url("openai") == server.base_url("openai-responses") == server.url + "/v1"
    assert server.base_url("anthropic") == server.url + "/v1"
    assert server.base_url("gemini") == server.url + "/v1beta"
    assert server.base_url("ollama") == server.url
    assert server.base_url("groq") == server.url + "/v1"


def test_routes_by_the_endpoint_suffix_under_any_prefix(server: FakeServer) -> None:
    reply = requests.post(server.url + "/openai/v1/chat/completions",
                          json=request_for("openai"), timeout=5)

    assert reply.status_code == 200
    assert wire_for_path("/api/v1/responses") == "openai-responses"
    assert wire_for_path("/v1beta/models/g:generateContent") == "gemini"
    assert wire_for_path("/v1/embeddings") is None


# --- records ---------------------------------------------------------------------------


def test_requests_are_recorded_with_case_insensitive_headers(server: FakeServer) -> None:
    requests.post(url_for(server, "gemini"), json=request_for("gemini", "Bonjour"),
                  headers={"x-goog-api-key": "secret"}, timeout=5)
    requests.get(server.url + "/api/tags", timeout=5)

    first, second = server.requests
    assert (first.method, first.path, first.wire) == (
        "POST", "/v1beta/models/fake-model:streamGenerateContent", "gemini"
    )
    assert first.query == {"alt": "sse"}
    assert first.headers["X-Goog-Api-Key"] == first.headers["x-goog-api-key"] == "secret"
    assert first.json == request_for("gemini", "Bonjour")
    assert json.loads(first.body) == first.json
    assert (second.method, second.path, second.wire) == ("GET", "/api/tags", None)
    assert second.json is None
    assert server.last_request == second
    server.clear()
    assert server.requests == [] and server.last_request is None


def test_scripts_are_used_in_order_then_the_default_reply(server: FakeServer) -> None:
    server.enqueue(text="first")
    server.enqueue(make_script(text="second"))
    assert server.pending == 2

    texts = []
    for _ in range(3):
        reply = requests.post(url_for(server, "ollama"), json=request_for("ollama", "third"),
                              timeout=5)
        texts.append(fold(decode(module("ollama"), reply.content)).text)

    assert texts == ["first", "second",
                     'You said: "third". This is streamchat\'s fake provider.']
    assert server.pending == 0


def test_wait_for_requests_returns_once_a_streams_request_arrived(server: FakeServer) -> None:
    assert not server.wait_for_requests(1, timeout=0.05)
    server.enqueue(text="held", stall_after=0)
    # The stream is not read: only its worker thread can send the request.
    with fake_client(server, "openai").stream("hi"):
        assert server.wait_for_requests(1, timeout=5)
        assert server.pending == 0 and len(server.requests) == 1
    server.release()


def test_get_endpoints_and_unknown_paths(server: FakeServer) -> None:
    assert requests.get(server.url + "/api/tags", timeout=5).json()["models"][0]["name"] == (
        "fake-model"
    )
    assert requests.get(server.url + "/v1/models", timeout=5).json()["data"][0]["id"] == (
        "fake-model"
    )
    missing = requests.post(server.url + "/v1/embeddings", json={}, timeout=5)
    assert missing.status_code == 404
    assert "no endpoint" in missing.json()["error"]["message"]
    assert server.pending == 0


def test_invalid_json_is_refused_in_the_providers_shape(server: FakeServer) -> None:
    server.enqueue(text="kept for the next request")

    reply = requests.post(url_for(server, "anthropic"), data=b"{not json", timeout=5)

    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"
    assert server.pending == 1


# --- HTTP faults -----------------------------------------------------------------------


def test_status_retry_after_and_headers(server: FakeServer) -> None:
    server.enqueue(status=429, retry_after=3, headers={"x-ratelimit-remaining-requests": "0"})
    server.enqueue(text="recovered")

    limited = requests.post(url_for(server, "openai"), json=request_for("openai"), timeout=5)
    recovered = requests.post(url_for(server, "openai"), json=request_for("openai"), timeout=5)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert fold(decode(module("openai"), recovered.content)).text == "recovered"


def test_client_sees_the_typed_error(server: FakeServer) -> None:
    client = streamchat.Client("anthropic", model="fake-model", api_key="sk-test",
                               base_url=server.base_url("anthropic"),
                               retry=streamchat.RetryPolicy(max_attempts=1))
    server.enqueue(status=401)
    server.enqueue(status=429, retry_after=1)
    try:
        with pytest.raises(AuthenticationError):
            client.complete("hi")
        with pytest.raises(RateLimitError) as caught:
            client.complete("hi")
    finally:
        client.close()

    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
def test_framings_delimit_the_same_body(server: FakeServer, framing: str) -> None:
    script = server.enqueue(text="framed body", framing=framing)
    server.enqueue(text="framed body", framing=framing)
    connection = http.client.HTTPConnection(server.server_name, server.server_port, timeout=5)
    payload = json.dumps(request_for("openai"))

    connection.request("POST", "/v1/chat/completions", payload,
                       {"Content-Type": "application/json"})
    reply = connection.getresponse()
    body = reply.read()

    assert body == render(script, "openai", request_for("openai"), model="fake-model").body
    if framing == "chunked":
        assert reply.getheader("Transfer-Encoding") == "chunked"
    elif framing == "content-length":
        assert reply.getheader("Content-Length") == str(len(body))
    else:
        assert reply.getheader("Connection") == "close"
        assert reply.getheader("Content-Length") is None
        assert reply.getheader("Transfer-Encoding") is None
    # Chunked and Content-Length bodies leave the connection open for the next request.
    connection.request("POST", "/v1/chat/completions", payload,
                       {"Content-Type": "application/json"})
    assert connection.getresponse().read() != b""
    connection.close()


def test_reset_before_headers_drops_the_connection(server: FakeServer) -> None:
    server.enqueue(reset="before_headers")

    with pytest.raises(requests.ConnectionError):
        requests.post(url_for(server, "openai"), json=request_for("openai"), timeout=5)
    assert requests.post(url_for(server, "openai"), json=request_for("openai"),
                         timeout=5).status_code == 200


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_reset_after_first_byte_cuts_the_body(server: FakeServer, framing: str) -> None:
    server.enqueue(reset="after_first_byte", framing=framing)

    reply = requests.post(url_for(server, "anthropic"), json=request_for("anthropic"),
                          stream=True, timeout=5)
    assert reply.status_code == 200
    with pytest.raises(requests.RequestException):
        b"".join(reply.iter_content(chunk_size=None))


# --- stream faults ---------------------------------------------------------------------


def test_stall_goes_silent_until_released(server: FakeServer) -> None:
    script = server.enqueue(text="one two three four five six", chunk_size=4, stall_after=2)
    expected = render(script, "openai", request_for("openai"), model="fake-model").frames
    raw = Raw(server)
    try:
        raw.read_until(expected[1])
        assert expected[2] not in raw.buffer
        assert raw.quiet_for(0.2)
        server.release()
        raw.read_until(b"0\r\n\r\n")
    finally:
        raw.close()

    assert raw.body() == b"".join(expected)


def test_stall_past_the_end_keeps_the_body_open_after_done(server: FakeServer) -> None:
    server.enqueue(text="hi", stall_after=10_000)
    raw = Raw(server)
    try:
        raw.read_until(b"data: [DONE]\n\n")
        assert raw.quiet_for(0.2)
        assert not raw.buffer.endswith(b"0\r\n\r\n")
        server.release()
        raw.read_until(b"0\r\n\r\n")
    finally:
        raw.close()


@pytest.mark.parametrize(("wire", "ping"), [
    ("openai", b": ping\n\n"),
    ("openai-responses", b": ping\n\n"),
    ("anthropic", b'event: ping\ndata: {"type": "ping"}\n\n'),
    ("gemini", b": ping\r\n\r\n"),
])
def test_stalled_stream_sends_keep_alives(server: FakeServer, wire: str, ping: bytes) -> None:
    server.enqueue(stall_after=1, keepalive=0.05)
    raw = Raw(server, wire)
    try:
        raw.read_until(ping + b"\r\n")
        raw.read_until(ping + b"\r\n" + b"%x\r\n" % len(ping) + ping)
    finally:
        raw.close()

    assert raw.buffer.count(ping) >= 2


def test_ollama_stalls_in_silence_even_with_keepalive(server: FakeServer) -> None:
    server.enqueue(text="a b c d e f", stall_after=1, keepalive=0.05)
    raw = Raw(server, "ollama")
    try:
        raw.read_until(b'"done":false}\n')
        assert raw.quiet_for(0.25)
    finally:
        raw.close()


def test_truncated_stream_ends_cleanly_without_its_terminal_event(server: FakeServer) -> None:
    server.enqueue(text="one two three four five six seven eight", truncate_after=3)

    reply = requests.post(url_for(server, "anthropic"), json=request_for("anthropic"),
                          stream=True, timeout=5)
    body = b"".join(reply.iter_content(chunk_size=None))

    assert reply.headers["Connection"] == "close"
    assert body.count(b"event: ") == 3
    with pytest.raises(ProtocolError):
        decode(module("anthropic"), body)


def test_in_stream_error_event_over_http(server: FakeServer) -> None:
    server.enqueue(text="partial", error_event=True)

    body = requests.post(url_for(server, "anthropic"), json=request_for("anthropic"),
                         timeout=5).content

    assert b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error"' in body
    assert b"message_stop" not in body


def test_chunk_delay_paces_frames(server: FakeServer) -> None:
    server.enqueue(text="abcdef", chunk_size=1, chunk_delay=0.04)
    started = time.monotonic()

    reply = requests.post(url_for(server, "ollama"), json=request_for("ollama"), stream=True,
                          timeout=5)
    arrivals = [time.monotonic() - started for _ in reply.iter_content(chunk_size=None)]

    # Seven frames (six deltas and the final line) with six pauses between them.
    assert len(arrivals) == 7
    assert arrivals[-1] >= 6 * 0.04
    assert arrivals[0] < arrivals[-1] - 0.1


def test_malformed_frame_over_http(server: FakeServer) -> None:
    server.enqueue(text="a b c d e f g h i", malformed_after=2)

    body = requests.post(url_for(server, "gemini"), json=request_for("gemini"), timeout=5).content

    with pytest.raises(ProtocolError):
        decode(module("gemini"), body)


def test_a_fifty_thousand_event_body_is_served_whole(server: FakeServer) -> None:
    script = server.enqueue(text="x" * 50_000, chunk_size=1)

    body = requests.post(url_for(server, "openai"), json=request_for("openai"), timeout=10).content

    assert len(body) == len(render(script, "openai", request_for("openai"),
                                   model="fake-model").body)


# --- disconnects -----------------------------------------------------------------------


def test_disconnect_during_a_stall_is_noticed(server: FakeServer) -> None:
    server.enqueue(stall_after=1)
    raw = Raw(server)
    raw.read_until(b"data: ")

    assert not server.wait_for_disconnect(timeout=0.1)
    raw.sock.shutdown(socket.SHUT_RDWR)
    raw.close()

    assert server.wait_for_disconnect(timeout=2)
    assert server.disconnects == 1


def test_disconnect_during_paced_frames_is_noticed(server: FakeServer) -> None:
    server.enqueue(text="a b c d e f g h i j k l", chunk_size=1, chunk_delay=0.05)
    raw = Raw(server, "ollama")
    raw.read_until(b'"done":false}\n')
    raw.close()

    assert server.wait_for_disconnect(timeout=2)


def test_client_interrupt_closes_the_socket_the_server_sees(server: FakeServer) -> None:
    client = streamchat.Client("openai", model="fake-model", api_key="sk-test",
                               base_url=server.base_url("openai"))
    server.enqueue(text="one two three four five six", stall_after=2)
    try:
        stream = client.stream("hi")
        events = iter(stream)
        assert [next(events).type, next(events).type] == ["start", "text"]
        stream.interrupt()
        assert [e.type for e in events] == ["cancelled"]
        assert server.wait_for_disconnect(timeout=2)
    finally:
        client.close()


# --- lifecycle -------------------------------------------------------------------------


def test_close_releases_everything_and_leaves_no_thread() -> None:
    baseline, before = threading.active_count(), fake_threads()
    server = FakeServer().start()
    server.enqueue(stall_after=1)
    stalled = Raw(server)
    stalled.read_until(b"data: ")
    idle = Raw(server)  # answered, then left open on keep-alive
    idle.read_until(b"0\r\n\r\n")
    silent = socket.create_connection((server.server_name, server.server_port))
    session = requests.Session()
    session.post(url_for(server, "openai"), json=request_for("openai"), timeout=5)
    assert len(fake_threads() - before) == 5  # the accept loop and four connections

    server.close()

    # close() must not wait on the stalled handler: its threads are gone when it returns.
    assert fake_threads() <= before
    assert wait_for_threads(baseline) <= baseline
    assert stalled.read_to_eof().count(b"data: ") == 1
    assert not server.disconnects
    for sock in (stalled, idle):
        sock.close()
    silent.close()
    session.close()
    server.close()
    with pytest.raises(RuntimeError):
        server.start()


def test_context_manager_leaves_the_thread_count_as_it_was() -> None:
    baseline = threading.active_count()
    with FakeServer() as server, requests.Session() as session:
        for wire in WIRES:
            session.post(url_for(server, wire), json=request_for(wire), timeout=5)
        assert threading.active_count() > baseline

    assert wait_for_threads(baseline) == baseline


def test_concurrent_requests_each_get_one_script(server: FakeServer) -> None:
    for i in range(8):
        server.enqueue(text=f"answer {i}", chunk_delay=0.01, chunk_size=3)

    def ask(_: int) -> Optional[str]:
        reply = requests.post(url_for(server, "openai"), json=request_for("openai"), timeout=5)
        return fold(decode(module("openai"), reply.content)).text

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = sorted(a or "" for a in pool.map(ask, range(8)))

    assert answers == sorted(f"answer {i}" for i in range(8))
    assert len(server.requests) == 8


def test_shared_server_backs_the_fake_provider() -> None:
    assert shared_server() is shared_server()

    response = streamchat.Client("fake").complete("anyone there?")

    assert response.text == 'You said: "anyone there?". This is streamchat\'s fake provider.'


# --- the pytest plugin -----------------------------------------------------------------


def test_pytest_plugin_fixture(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # The entry point would register the plugin too when streamchat is installed; load it
    # explicitly, and only once, so the test passes installed or not.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        import pytest

        def test_default_client(streamchat_fake):
            streamchat_fake.enqueue(text="from the fixture")
            assert streamchat_fake.client.complete("hi").text == "from the fixture"
            assert streamchat_fake.server.last_request.path == "/v1/chat/completions"
            assert streamchat_fake.client is streamchat_fake.client_for("openai")

        @pytest.mark.parametrize(
            "streamchat_fake", ["anthropic", "gemini", "ollama", "openai-responses"],
            indirect=True,
        )
        def test_other_wires(streamchat_fake):
            assert "ping" in streamchat_fake.client.complete("ping").text
            assert "pong" in streamchat_fake.client_for("openai").complete("pong").text
            assert [r.wire for r in streamchat_fake.server.requests] == [
                streamchat_fake.wire, "openai"
            ]
        """
    )

    before = fake_threads()

    result = pytester.runpytest("-p", "streamchat.testing.plugin", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=5)
    assert fake_threads() <= before
