"""How long to wait before a retry, as the server and the gateways in between say it, and
which failures are not worth a retry at all."""

import pathlib
import socket
import ssl
import threading

import pytest
from loopback import Loopback

import streamchat
from streamchat.errors import ConnectionFailedError, RateLimitError
from streamchat.options import RetryPolicy
from streamchat.transport.headers import retry_after_seconds
from streamchat.wire.errors import error_from_response

TLS = pathlib.Path(__file__).parent / "fixtures" / "tls"
"""A self-signed certificate for 127.0.0.1 and its key, made for these tests only."""


@pytest.mark.parametrize("headers", [
    {"Retry-After": "-3"},
    {"Retry-After": "soon"},
    {"Retry-After": "nan"},
    {"Retry-After": "inf"},
    {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},  # a date already past
    {"retry-after-ms": "-250"},
    {"retry-after-ms": "a while"},
    {"Retry-After": ""},
])
def test_a_negative_or_unparseable_retry_after_is_no_hint(headers):
    assert retry_after_seconds(headers) is None


@pytest.mark.parametrize("headers", [
    {"Retry-After": "-3"},
    {"Retry-After": "nan"},
    {"retry-after-ms": "-250"},
])
def test_a_negative_or_unparseable_retry_after_waits_the_rate_limit_floor(headers):
    error = error_from_response("openai", 429, "{}", retry_after=retry_after_seconds(headers))
    policy = RetryPolicy(jitter=0, initial_delay=1.0, rate_limit_floor=5.0)
    assert policy.delay(1, error) == 5.0


@pytest.mark.parametrize("retry_after", [-1.0, float("nan")])
def test_the_policy_ignores_a_negative_wait_that_reached_it(retry_after):
    error = RateLimitError("slow down", retry_after=retry_after)
    assert RetryPolicy(jitter=0, rate_limit_floor=5.0).delay(1, error) == 5.0


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"Retry-After": "7"}, 7.0),
    ({"Retry-After": "0"}, 0.0),
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
    # NOTE: LiteLLM's proxy re-emits the upstream provider's headers prefixed with
    # `llm_provider-` (https://docs.litellm.ai/docs/proxy/response_headers).
    ({"llm_provider-retry-after": "12"}, 12.0),
    ({"llm_provider-retry-after-ms": "800"}, 0.8),
    ({"Retry-After": "3", "llm_provider-retry-after": "12"}, 3.0),
])
def test_retry_after_and_its_aliases(headers, seconds):
    assert retry_after_seconds(headers) == pytest.approx(seconds)


def rate_limited(headers):
    def handler(ex):
        ex.reply(429, b'{"error": {"message": "slow down", "type": "rate_limit_error"}}', headers)
    return handler


def answer(ex):
    ex.start(framing="chunked")
    ex.write(b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}'
             b'\n\ndata: [DONE]\n\n')
    ex.end()


def test_a_gateway_retry_after_alias_sets_the_wait_end_to_end(no_backoff):
    with Loopback(rate_limited({"llm_provider-retry-after": "4"}), answer) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=RetryPolicy(max_attempts=2, jitter=0))
        stream = client.stream("hi")
        kinds = [e.type for e in stream]
    assert kinds == ["start", "retry", "start", "text", "done"]
    assert no_backoff == [4.0]


def test_the_error_says_it_is_retried_only_when_it_will_be(no_backoff):
    with Loopback(rate_limited({}), rate_limited({})) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=RetryPolicy(max_attempts=2, jitter=0))
        stream = client.stream("hi")
        events = []
        with pytest.raises(RateLimitError) as caught:
            for event in stream:
                events.append(event)
    assert [e.type for e in events] == ["start", "retry", "start"]
    assert "retries this by itself" not in str(caught.value)
    assert "2 attempts" in str(caught.value)
    with Loopback(rate_limited({})) as server:
        once = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                 retry=RetryPolicy(max_attempts=1))
        with pytest.raises(RateLimitError) as caught:
            once.complete("hi")
    assert "retries this by itself" not in str(caught.value)


class _TlsServer:
    """Accepts TLS connections with the self-signed certificate and counts them."""

    def __init__(self) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(TLS / "self_signed.pem", TLS / "self_signed.key")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    def close(self) -> None:
        self.sock.close()


def test_a_certificate_that_fails_verification_is_not_retried(no_backoff):
    server = _TlsServer()
    try:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url,
                                   retry=RetryPolicy(max_attempts=3))
        stream = client.stream("hi")
        with pytest.raises(ConnectionFailedError) as caught:
            for _ in stream:
                pass
    finally:
        server.close()
    error = caught.value
    assert not error.retryable
    assert no_backoff == []
    assert server.connections == 1
    assert "certificate" in str(error)
    assert "openai" in str(error)
