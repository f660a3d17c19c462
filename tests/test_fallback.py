"""Retries and the fallback chain, end to end against loopback servers."""

import threading

import pytest
from loopback import Loopback

import streamchat

OK = (b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"from %s"}}]}\n\n'
      b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
HANG_GUARD = 5.0


def answer(name):
    def handler(ex):
        ex.start(framing="chunked")
        ex.end(OK % name.encode())
    return handler


def status(code, body=b'{"error": {"message": "try later"}}', headers=None):
    def handler(ex):
        ex.reply(code, body, headers)
    return handler


def backup(server, **kwargs):
    return streamchat.Client("openai-compatible", model="backup-model", api_key="k2",
                             base_url=server.url + "/v1", **kwargs)


def test_a_provider_without_a_key_falls_back_visibly(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with Loopback(answer("backup")) as second:
        client = streamchat.Client("anthropic", fallbacks=[backup(second)])
        events = list(client.stream("hi"))
    kinds = [e.type for e in events]
    assert kinds == ["fallback", "start", "text", "done"]
    assert "ANTHROPIC_API_KEY" in events[0].error
    assert (events[0].provider, events[0].model) == ("openai-compatible", "backup-model")
    assert events[-1].type == "done"


def test_retries_then_fallback_then_answer(no_backoff):
    with Loopback(status(503), status(503)) as first, Loopback(answer("backup")) as second:
        client = streamchat.Client("openai", model="m", api_key="k1", base_url=first.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=2, jitter=0),
                                   fallbacks=[backup(second)])
        stream = client.stream("hi")
        kinds = [e.type for e in stream]
    assert kinds == ["start", "retry", "start", "fallback", "start", "text", "done"]
    assert no_backoff == [1.0]
    response = stream.response
    assert response.provider == "openai-compatible"
    assert response.model == "backup-model"
    assert response.text == "from backup"
    assert len(first.requests) == 2 and len(second.requests) == 1


def test_no_fallback_on_authentication_error_unless_asked():
    with Loopback(status(401), status(401)) as first, Loopback(answer("backup")) as second:
        client = streamchat.Client("openai", model="m", api_key="k1", base_url=first.url + "/v1",
                                   fallbacks=[backup(second)])
        with pytest.raises(streamchat.AuthenticationError):
            client.complete("hi")
        assert second.requests == []
        asked = streamchat.Client("openai", model="m", api_key="k1", base_url=first.url + "/v1",
                                  fallbacks=[backup(second)],
                                  fallback_on=(streamchat.AuthenticationError,))
        assert asked.complete("hi").text == "from backup"


def test_never_retry_or_fall_back_after_content(no_backoff):
    def cut(ex):
        ex.start(framing="close")
        ex.write(b'data: {"choices":[{"index":0,"delta":{"content":"shown"}}]}\n\n')

    with Loopback(cut) as first, Loopback(answer("backup")) as second:
        client = streamchat.Client("openai", model="m", api_key="k1", base_url=first.url + "/v1",
                                   fallbacks=[backup(second)])
        stream = client.stream("hi")
        texts = []
        with pytest.raises(streamchat.ProtocolError) as info:
            for event in stream:
                if event.type == "text":
                    texts.append(event.text)
    assert texts == ["shown"]
    assert info.value.partial.text == "shown"
    assert no_backoff == [] and second.requests == []


def test_interrupt_during_backoff_ends_at_once():
    with Loopback(status(503, headers={"Retry-After": "30"})) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1")
        stream = client.stream("hi")
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "retry":
                assert event.delay == 30.0
                threading.Thread(target=stream.interrupt).start()
        assert kinds == ["start", "retry", "cancelled"]
        assert len(server.requests) == 1


def test_retry_event_carries_attempt_and_budget(no_backoff):
    with Loopback(status(500), status(502), answer("third")) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=3, jitter=0))
        events = list(client.stream("hi"))
    retries = [e for e in events if e.type == "retry"]
    assert [(r.attempt, r.max_attempts) for r in retries] == [(1, 3), (2, 3)]
    assert no_backoff == [1.0, 2.0]
    assert [e.attempt for e in events if e.type == "start"] == [1, 2, 3]
    assert events[-1].type == "done"


def silent(ex):
    """Accept the request and say nothing until the test ends."""
    ex.start(framing="chunked")
    ex.server.release.wait(HANG_GUARD)


def failure_within_the_guard(stream, why):
    """The error that ends `stream`, which must come before HANG_GUARD (else `why`)."""
    done = threading.Event()
    caught = []

    def consume():
        try:
            stream.final()
        except streamchat.StreamChatError as exc:
            caught.append(exc)
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    assert done.wait(HANG_GUARD), why
    return caught[0]


def test_per_call_timeouts_apply_to_fallback_providers(no_backoff):
    # The fallback's own Client allows 60 s for the first token; the call allows 0.3 s.
    with Loopback(status(503)) as first, Loopback(silent) as second:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            retry=streamchat.RetryPolicy(max_attempts=1),
            fallbacks=[backup(second, timeouts=streamchat.Timeouts(first_token=60),
                              retry=streamchat.RetryPolicy(max_attempts=1))],
        )
        stream = client.stream("hi", timeouts=streamchat.Timeouts(first_token=0.3))
        error = failure_within_the_guard(
            stream, "the fallback kept its own 60 s first_token deadline")
    assert isinstance(error, streamchat.StreamTimeoutError)
    assert error.phase == "first_token"


def test_a_fallback_keeps_its_own_clients_timeouts(no_backoff):
    # The first provider's Client allows 60 s for the first token; the fallback's, 0.3 s.
    with Loopback(status(503)) as first, Loopback(silent) as second:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            retry=streamchat.RetryPolicy(max_attempts=1),
            timeouts=streamchat.Timeouts(first_token=60),
            fallbacks=[backup(second, timeouts=streamchat.Timeouts(first_token=0.3),
                              retry=streamchat.RetryPolicy(max_attempts=1))],
        )
        error = failure_within_the_guard(
            client.stream("hi"), "the fallback ran on the first provider's deadlines")
    assert isinstance(error, streamchat.StreamTimeoutError)
    assert error.phase == "first_token" and error.provider == "openai-compatible"


def test_per_call_retry_applies_to_fallback_providers(no_backoff):
    with Loopback(status(503)) as first, Loopback(status(503), status(503)) as second:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            fallbacks=[backup(second, retry=streamchat.RetryPolicy(max_attempts=1))],
        )
        with pytest.raises(streamchat.ServerError):
            client.complete("hi", retry=streamchat.RetryPolicy(max_attempts=2, jitter=0))
        assert len(first.requests) == 2
        assert len(second.requests) == 2


def test_a_chain_where_every_provider_fails_says_what_each_did(no_backoff):
    third_server = Loopback(status(429, b'{"error": {"message": "quota gone", '
                                        b'"type": "rate_limit_error"}}'))
    with Loopback(status(503, b'{"error": {"message": "primary down"}}')) as first, \
            Loopback(status(502, b'{"error": {"message": "backup broke"}}')) as second, \
            third_server as third:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            retry=streamchat.RetryPolicy(max_attempts=1),
            fallbacks=[
                backup(second, retry=streamchat.RetryPolicy(max_attempts=1)),
                streamchat.Client("groq", model="third-model", api_key="k3",
                                  base_url=third.url + "/v1",
                                  retry=streamchat.RetryPolicy(max_attempts=1)),
            ],
        )
        stream = client.stream("hi")
        events = []
        with pytest.raises(streamchat.StreamChatError) as caught:
            for event in stream:
                events.append(event)
    assert [e.type for e in events] == ["start", "fallback", "start", "fallback", "start"]
    assert [(e.provider, e.model) for e in events if e.type == "fallback"] == [
        ("openai-compatible", "backup-model"), ("groq", "third-model")]
    error = caught.value
    assert isinstance(error, streamchat.RateLimitError)  # the last failure's kind
    text = str(error)
    for provider, words in (("openai", "primary down"), ("openai-compatible", "backup broke"),
                            ("groq", "quota gone")):
        assert provider in text and words in text
    assert text.index("primary down") < text.index("backup broke") < text.index("quota gone")
    assert [type(e) for e in error.errors] == [
        streamchat.ServerError, streamchat.ServerError, streamchat.RateLimitError]
    assert [e.provider for e in error.errors] == ["openai", "openai-compatible", "groq"]
    assert [e.status_code for e in error.errors] == [503, 502, 429]
    assert "primary down" in str(error.errors[0]) and "backup broke" not in str(error.errors[0])
    assert error.partial is not None and error.partial.provider == "groq"


def test_a_chain_that_stops_at_a_fatal_error_names_the_providers_before_it(no_backoff):
    with Loopback(status(503, b'{"error": {"message": "primary down"}}')) as first, \
            Loopback(status(401, b'{"error": {"message": "bad key"}}')) as second, \
            Loopback(answer("third")) as third:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            retry=streamchat.RetryPolicy(max_attempts=1),
            fallbacks=[backup(second), backup(third)],
        )
        with pytest.raises(streamchat.AuthenticationError) as caught:
            client.complete("hi")
        assert third.requests == []
    assert "primary down" in str(caught.value) and "bad key" in str(caught.value)
    assert [type(e) for e in caught.value.errors] == [
        streamchat.ServerError, streamchat.AuthenticationError]


def test_three_providers_the_third_answers(no_backoff):
    with Loopback(status(503)) as first, Loopback(status(500)) as second, \
            Loopback(answer("third")) as third:
        client = streamchat.Client(
            "openai", model="m", api_key="k1", base_url=first.url + "/v1",
            retry=streamchat.RetryPolicy(max_attempts=1),
            fallbacks=[backup(second, retry=streamchat.RetryPolicy(max_attempts=1)),
                       backup(third)],
        )
        stream = client.stream("hi")
        kinds = [e.type for e in stream]
    assert kinds == ["start", "fallback", "start", "fallback", "start", "text", "done"]
    assert stream.response.text == "from third"
    assert [len(s.requests) for s in (first, second, third)] == [1, 1, 1]


def test_content_in_a_frame_of_several_events_counts_as_shown(no_backoff):
    # One chunk gives a thinking and a text event together; the body then breaks. What
    # was shown must not be repeated by a retry or a fallback.
    def cut(ex):
        ex.start(framing="close")
        ex.write(b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"hmm",'
                 b'"content":"shown"}}]}\n\n')

    with Loopback(cut, answer("again")) as first, Loopback(answer("backup")) as second:
        client = streamchat.Client("openai", model="m", api_key="k1", base_url=first.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=3),
                                   fallbacks=[backup(second)])
        stream = client.stream("hi")
        kinds = []
        with pytest.raises(streamchat.ProtocolError) as caught:
            for event in stream:
                kinds.append(event.type)
        assert len(first.requests) == 1 and second.requests == []
    assert kinds == ["start", "thinking", "text"]
    assert no_backoff == []
    assert caught.value.partial.text == "shown"


def test_a_retried_error_that_quotes_the_key_is_masked_in_the_retry_event(no_backoff):
    # Some servers quote the key they rejected in the error body; the retry event is shown
    # to the user before the stream ends, so it must be masked there too.
    key = "sk-quoted-secret-1234"
    quoted = b'{"error": {"message": "upstream failed for key %s"}}' % key.encode()
    with Loopback(status(500, body=quoted), answer("second")) as server:
        client = streamchat.Client("openai", model="m", api_key=key, base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=2, jitter=0))
        events = list(client.stream("hi"))
    retries = [e for e in events if e.type == "retry"]
    assert len(retries) == 1 and "upstream failed" in retries[0].error
    assert key not in retries[0].error
    assert events[-1].type == "done"


def test_a_failed_attempt_hangs_up_before_the_retry_is_sent(no_backoff):
    # A stream that failed before any content is retried: its connection is dropped at once
    # rather than left open (and counted against the server's limits) during the retry.
    first_closed = threading.Event()
    seen_at_retry = []

    def fail_in_stream(ex):
        ex.start(framing="chunked")
        # NOTE: an in-stream error frame of type server_error, as OpenAI sends mid-stream
        # (https://platform.openai.com/docs/guides/error-codes), then the server goes quiet.
        ex.write(b'data: {"error": {"message": "try later", "type": "server_error"}}\n\n')
        if ex.wait_for_disconnect(HANG_GUARD):
            first_closed.set()

    def retry(ex):
        seen_at_retry.append(first_closed.wait(HANG_GUARD))
        answer("retry")(ex)

    with Loopback(fail_in_stream, retry) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=2, jitter=0))
        assert client.complete("hi").text == "from retry"
    assert seen_at_retry == [True]


def test_a_clean_end_keeps_the_connection_for_the_next_stream():
    ports = []

    def answer_from_port(ex):
        ports.append(ex.handler.client_address[1])
        answer("one")(ex)

    with Loopback(answer_from_port, answer_from_port) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1")
        assert [client.complete("hi").text for _ in range(2)] == ["from one"] * 2
    assert len(ports) == 2 and ports[0] == ports[1]


def test_a_recording_holds_only_the_body_of_the_attempt_that_answered(no_backoff, tmp_path):
    # A recorded stream is replayed as one body: the failed attempt's bytes must not lead it.
    failed = b'data: {"error": {"message": "try later", "type": "server_error"}}\n\n'

    def fail_in_stream(ex):
        ex.start(framing="chunked")
        ex.write(failed)
        ex.end()

    path = tmp_path / "answer.sse"
    with Loopback(fail_in_stream, answer("retry")) as server:
        client = streamchat.Client("openai", model="m", api_key="k", base_url=server.url + "/v1",
                                   retry=streamchat.RetryPolicy(max_attempts=2, jitter=0))
        assert client.complete("hi", record_to=str(path)).text == "from retry"
    assert path.read_bytes() == OK % b"retry"


def test_a_fresh_bearer_token_that_the_server_quotes_is_masked_in_the_error(monkeypatch):
    # An Entra ID token is as secret as a key, and some servers quote the one they rejected.
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    token = "entra-token-quoted-5678"
    quoted = b'{"error": {"message": "token %s was rejected"}}' % token.encode()
    with Loopback(status(401, body=quoted)) as server:
        client = streamchat.Client("azure", model="dep", base_url=server.url,
                                   azure_ad_token_provider=lambda: token)
        with pytest.raises(streamchat.StreamChatError) as info:
            client.complete("hi")
    assert "was rejected" in str(info.value) and token not in str(info.value)


def test_a_token_used_by_an_earlier_attempt_stays_masked_after_a_refresh(no_backoff, monkeypatch):
    # Each attempt asks for a fresh token; a later attempt's error may still quote the first.
    for name in ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    issued = []

    def provider():
        issued.append(f"entra-token-{len(issued)}-secret")
        return issued[-1]

    quoted = b'{"error": {"message": "token entra-token-0-secret expired"}}'
    with Loopback(status(500), status(401, body=quoted)) as server:
        client = streamchat.Client("azure", model="dep", base_url=server.url,
                                   azure_ad_token_provider=provider,
                                   retry=streamchat.RetryPolicy(max_attempts=2, jitter=0))
        with pytest.raises(streamchat.StreamChatError) as info:
            client.complete("hi")
    assert len(issued) == 2 and "expired" in str(info.value)
    assert "entra-token-0-secret" not in str(info.value)
