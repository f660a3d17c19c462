"""An API key goes to its provider in a header and nowhere else: not into a repr, a
message, an error body, an event, a log record or a URL, and never to another host.

Every provider id is driven against a loopback server through success, 401, 429, 500 and
an in-stream error, with a server rude enough to echo the key back; then everything the
library produced is searched for the key.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import requests
from helpers import FIXTURES
from loopback import Exchange, Loopback

import streamchat
import streamchat.transport
from streamchat.providers import presets, wire_format
from streamchat.wire.common import Endpoint

KEY = "sk-live-7f3a9c1e5b2d4680aa11bb22cc33dd44"
PROVIDERS = sorted(name for name in presets() if name != "fake")
STREAM_FIXTURES = {
    "openai": "openai/text_usage.sse",
    "openai-responses": "openai-responses/text.sse",
    "anthropic": "anthropic/text.sse",
    "gemini": "gemini/text.sse",
    "ollama": "ollama/text.ndjson",
}
KEY_HEADERS = {"anthropic": "x-api-key", "gemini": "x-goog-api-key"}
PROVIDER_KEY_HEADERS = {"azure": "api-key", "azure-responses": "api-key"}
"""Presets that send the key where their wire would not (Azure's api-key header)."""


def in_stream_error(wire: str, message: str) -> bytes:
    """An error reported after the 200, in each wire's own shape."""
    payloads = {
        "openai": {"error": {"message": message, "code": "server_error"}},
        "openai-responses": {"type": "error", "code": "server_error", "message": message},
        "anthropic": {"type": "error", "error": {"type": "api_error", "message": message}},
        "gemini": {"error": {"code": 500, "message": message, "status": "INTERNAL"}},
        "ollama": {"error": message},
    }
    data = json.dumps(payloads[wire])
    if wire == "ollama":
        return data.encode() + b"\n"
    name = "event: error\n" if wire in ("anthropic", "openai-responses") else ""
    return f"{name}data: {data}\n\n".encode()


def error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "error", "code": "x"}}).encode()


def stream_handler(wire: str):
    body = (FIXTURES / STREAM_FIXTURES[wire]).read_bytes()

    def handler(ex: Exchange) -> None:
        ex.start()
        ex.write(body)
        ex.end()

    return handler


def status_handler(status: int, headers: Optional[Dict[str, str]] = None):
    def handler(ex: Exchange) -> None:
        # A careless server quotes the key it was given, whole.
        ex.reply(status, error_body(f"Incorrect API key provided: {KEY}. Key {KEY!r} ..."),
                 headers)

    return handler


def in_stream_handler(wire: str):
    def handler(ex: Exchange) -> None:
        ex.start()
        ex.write(in_stream_error(wire, f"upstream rejected {KEY}"))
        ex.end()

    return handler


def make_client(provider: str, server: Loopback, **kwargs: Any) -> streamchat.Client:
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    return streamchat.Client(provider, model="m", api_key=KEY, base_url=server.url + "/v1",
                             **kwargs)


def texts_of(value: Any, seen: Optional[set] = None) -> Iterator[str]:
    """Every string a value shows or holds: str, repr, args, body, causes, fields."""
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return
    seen.add(id(value))
    yield str(value)
    yield repr(value)
    if isinstance(value, BaseException):
        for arg in value.args:
            yield from texts_of(arg, seen)
        for name in ("message", "body", "partial"):
            if getattr(value, name, None) is not None:
                yield from texts_of(getattr(value, name), seen)
        for linked in (value.__cause__, value.__context__):
            if linked is not None:
                yield from texts_of(linked, seen)
    elif isinstance(value, dict):
        yield json.dumps(value, default=repr)
    elif hasattr(value, "model_dump_json"):
        yield value.model_dump_json()


def assert_no_key(*values: Any) -> None:
    for value in values:
        for text in texts_of(value):
            assert KEY not in text, f"the key leaked through {type(value).__name__}: {text[:300]}"


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert KEY not in text, f"the key leaked into log {record.name}: {text[:300]}"


def run(stream: streamchat.Stream) -> Tuple[List[Any], Optional[BaseException]]:
    events: List[Any] = []
    try:
        for event in stream:
            events.append(event)
    except streamchat.StreamChatError as exc:
        return events, exc
    return events, None


def assert_key_only_in_header(server: Loopback, wire: str, provider: str = "") -> None:
    assert server.requests, "the server saw no request"
    header = PROVIDER_KEY_HEADERS.get(provider) or KEY_HEADERS.get(wire, "Authorization")
    for exchange in server.requests:
        assert KEY not in exchange.path
        assert KEY not in exchange.body.decode()
        sent = {k.lower(): v for k, v in exchange.headers.items()}
        expected = KEY if header != "Authorization" else f"Bearer {KEY}"
        assert sent.get(header.lower()) == expected
        others = [v for k, v in sent.items() if k != header.lower()]
        assert not any(KEY in v for v in others)


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "sseclient", "streamchat", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_successful_stream_shows_the_key_nowhere(provider, debug_logs):
    wire = presets()[provider].wire
    with Loopback(stream_handler(wire)) as server:
        client = make_client(provider, server)
        stream = client.stream("hi")
        events, error = run(stream)
        assert error is None and events[-1].type == "done"
        target = client.target(client.request("hi"))
        assert target.endpoint is not None and target.endpoint.api_key == KEY
        http = target.wire.build_request(target.request, target.endpoint)
        assert_no_key(client, stream, stream.response, target.endpoint, http, target,
                      *events)
        assert KEY not in http.url
        assert_key_only_in_header(server, wire, provider)
    assert_logs_clean(debug_logs)


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [401, 500])
def test_an_http_error_that_quotes_the_key_does_not_pass_it_on(provider, status, debug_logs):
    wire = presets()[provider].wire
    with Loopback(status_handler(status)) as server:
        stream = make_client(provider, server).stream("hi")
        events, error = run(stream)
        assert isinstance(error, streamchat.StreamChatError)
        assert error.status_code == status
        assert "Incorrect API key provided" in str(error), "the server's message was lost"
        assert_no_key(error, stream, *events)
        assert_key_only_in_header(server, wire, provider)
    assert_logs_clean(debug_logs)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retried_429_puts_no_key_in_the_retry_event(provider, debug_logs, no_backoff):
    wire = presets()[provider].wire
    handlers = [status_handler(429, {"Retry-After": "0"})] * 2
    with Loopback(*handlers) as server:
        client = make_client(provider, server, retry=streamchat.RetryPolicy(max_attempts=2))
        stream = client.stream("hi")
        events, error = run(stream)
        assert isinstance(error, streamchat.RateLimitError)
        assert [e.type for e in events] == ["start", "retry", "start"]
        assert_no_key(error, stream, *events)
        assert_key_only_in_header(server, wire, provider)
    assert_logs_clean(debug_logs)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_in_stream_error_that_quotes_the_key_does_not_pass_it_on(provider, debug_logs):
    wire = presets()[provider].wire
    with Loopback(in_stream_handler(wire)) as server:
        stream = make_client(provider, server).stream("hi")
        events, error = run(stream)
        assert isinstance(error, streamchat.StreamChatError)
        assert "upstream rejected" in str(error)
        assert_no_key(error, stream, *events)
    assert_logs_clean(debug_logs)


def test_an_unexpected_exception_that_quotes_the_key_does_not_pass_it_on(debug_logs,
                                                                        monkeypatch):
    import streamchat.worker

    def broken(*args: Any, **kwargs: Any) -> Iterator[Any]:
        raise ValueError(f"cannot parse a body sent with Authorization: Bearer {KEY}")

    monkeypatch.setattr(streamchat.worker, "frames_for", broken)
    with Loopback(stream_handler("openai")) as server:
        stream = make_client("openai", server).stream("hi")
        events, error = run(stream)
        assert isinstance(error, streamchat.ProtocolError)
        assert "could not process" in str(error)
        assert_no_key(error, stream, *events)
    assert_logs_clean(debug_logs)


def test_a_fallback_event_carries_no_key(debug_logs, no_backoff):
    with Loopback(status_handler(500), stream_handler("openai")) as server:
        backup = make_client("openai", server)
        client = make_client("groq", server, fallbacks=[backup])
        events, error = run(client.stream("hi"))
        assert error is None
        assert [e.type for e in events][:3] == ["start", "fallback", "start"]
        assert_no_key(*events)


def test_every_provider_puts_the_key_in_a_header_never_in_the_url():
    request = streamchat.ChatRequest(model="m", messages=[streamchat.Message.user("hi")])
    for provider in PROVIDERS:
        preset = presets()[provider]
        endpoint = Endpoint(provider=provider, base_url="https://example.test/v1", api_key=KEY,
                            headers=preset.headers, options=preset.options)
        http = wire_format(preset.wire).build_request(request, endpoint)
        assert KEY not in http.url and KEY not in json.dumps(http.json)
        assert KEY in "".join(http.headers.values())
        assert_no_key(http, endpoint)


def test_a_short_local_key_is_not_masked_out_of_messages():
    """Keys like "ollama" or "EMPTY" guard nothing; masking them would garble text."""
    with Loopback(status_handler(401)) as server:
        client = streamchat.Client("ollama", model="m", api_key="ollama",
                                   base_url=server.url,
                                   retry=streamchat.RetryPolicy(max_attempts=1))
        _, error = run(client.stream("hi"))
        assert "ollama returned HTTP 401" in str(error)


# -- redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "openai-responses", "anthropic", "gemini",
                                      "ollama", "openrouter"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_the_other_host_sees_nothing(provider, status, debug_logs):
    with Loopback(stream_handler(presets()[provider].wire)) as elsewhere:
        def redirect(ex: Exchange) -> None:
            ex.reply(status, b"", {"Location": elsewhere.url + ex.path})

        with Loopback(redirect) as server:
            events, error = run(make_client(provider, server).stream("hi"))
            assert isinstance(error, streamchat.ConfigurationError)
            assert f"answered {status} redirecting to {elsewhere.url}" in str(error)
            assert_no_key(error, *events)
            assert len(server.requests) == 1
        assert elsewhere.requests == [], "the redirect target received a request"
    assert_logs_clean(debug_logs)


# -- TLS ---------------------------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch):
    """Capture what the transport hands to requests' adapter, without a network."""
    calls: List[Dict[str, Any]] = []

    def send(self, request, **kwargs):
        calls.append(dict(kwargs, url=request.url))
        raise requests.exceptions.ConnectionError("no network in tests")

    monkeypatch.setattr(streamchat.transport._WatchedAdapter, "send", send)
    return calls


def one_attempt(client: streamchat.Client) -> None:
    _, error = run(client.stream("hi"))
    assert isinstance(error, streamchat.ConnectionFailedError)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "openrouter"])
def test_tls_verification_is_on_by_default(provider, sent):
    one_attempt(streamchat.Client(provider, model="m", api_key=KEY,
                                  retry=streamchat.RetryPolicy(max_attempts=1)))
    assert [c["verify"] for c in sent] == [True]
    assert sent[0]["url"].startswith("https://")


def test_tls_verification_is_off_only_when_asked(sent):
    one_attempt(streamchat.Client("openai", model="m", api_key=KEY, verify=False,
                                  retry=streamchat.RetryPolicy(max_attempts=1)))
    assert [c["verify"] for c in sent] == [False]


def test_environment_cannot_turn_tls_verification_off(sent, monkeypatch):
    """requests' Session reads CURL_CA_BUNDLE and friends; the transport does not."""
    for name in ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "PYTHONHTTPSVERIFY"):
        monkeypatch.setenv(name, "" if name != "PYTHONHTTPSVERIFY" else "0")
    one_attempt(streamchat.Client("openai", model="m", api_key=KEY,
                                  retry=streamchat.RetryPolicy(max_attempts=1)))
    assert [c["verify"] for c in sent] == [True]


def test_fallbacks_named_by_string_verify_tls(sent, monkeypatch, no_backoff):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    client = streamchat.Client("openai", model="m", api_key=KEY, verify=False,
                               fallbacks=["anthropic"],
                               retry=streamchat.RetryPolicy(max_attempts=1))
    one_attempt(client)
    assert sent[0]["verify"] is False
    assert len(sent) > 1 and all(c["verify"] is True for c in sent[1:])
