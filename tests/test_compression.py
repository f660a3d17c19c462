"""Compressed bodies: a proxy or server that compresses the event stream whatever the
client asked for, decoded as the bytes arrive."""

from __future__ import annotations

import threading
import zlib
from typing import Any, Callable, List

import pytest
from loopback import OK_END, Exchange, Loopback, chunk

import streamchat

HANG_GUARD = 5.0  # only to fail instead of hanging; never a performance claim


def client(server: Loopback, **kwargs: Any) -> streamchat.Client:
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    return streamchat.Client("openai", model="m", api_key="sk-test-transport",
                             base_url=server.url + "/v1", **kwargs)


# -- compressed bodies ---------------------------------------------------------------------
# A proxy or server may compress whatever it was asked for (RFC 9110 section 12.5.3 lets it
# send an encoding the client did not list; nginx's gzip_proxied and some gateways do).
# Each event is flushed with Z_SYNC_FLUSH, as a streaming compressor must, so the client
# can decode it before the rest of the body exists.

COMPRESSORS: dict = {
    "gzip": lambda: zlib.compressobj(wbits=31),  # RFC 1952 framing
    "deflate": lambda: zlib.compressobj(wbits=15),  # RFC 9110's deflate: zlib (RFC 1950)
    "raw-deflate": lambda: zlib.compressobj(wbits=-15),  # what some servers send as deflate
}


def compressed(encoding: str, got_first: threading.Event) -> Callable[[Exchange], None]:
    make = COMPRESSORS[encoding]
    header = "deflate" if encoding == "raw-deflate" else encoding

    def handler(ex: Exchange) -> None:
        squeeze = make()
        ex.start(framing="chunked", headers={"Content-Encoding": header})
        ex.write(squeeze.compress(chunk("one")) + squeeze.flush(zlib.Z_SYNC_FLUSH))
        # The rest only once the client has decoded the first event: decoding must be
        # incremental, not a wait for the end of the body.
        assert got_first.wait(HANG_GUARD)
        ex.write(squeeze.compress(chunk("two") + OK_END) + squeeze.flush())
        ex.end()

    return handler


@pytest.mark.parametrize("encoding", sorted(COMPRESSORS))
def test_a_compressed_event_stream_is_decoded_as_it_arrives(encoding):
    got_first = threading.Event()
    with Loopback(compressed(encoding, got_first)) as server:
        texts: List[str] = []
        stream = client(server).stream("hi")
        for event in stream:
            if event.type == "text":
                texts.append(event.text)
                got_first.set()
        assert texts == ["one", "two"]
        assert stream.response.finish_reason == "stop"
        assert server.requests[0].headers.get("Accept-Encoding") == "identity"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_error_body_is_read_for_its_message(encoding):
    squeeze = COMPRESSORS[encoding]()
    body = squeeze.compress(b'{"error": {"message": "Model is overloaded", "type": "x"}}')
    body += squeeze.flush()

    def handler(ex: Exchange) -> None:
        ex.reply(400, body, {"Content-Encoding": encoding})

    with Loopback(handler) as server, pytest.raises(streamchat.InvalidRequestError) as info:
        client(server).complete("hi")
    assert "Model is overloaded" in str(info.value)


def test_a_compressed_whole_response_is_decoded():
    squeeze = COMPRESSORS["gzip"]()
    payload = (b'{"id": "c", "model": "m", "choices": [{"index": 0, "message": {"role": '
               b'"assistant", "content": "whole"}, "finish_reason": "stop"}]}')
    body = squeeze.compress(payload) + squeeze.flush()

    def handler(ex: Exchange) -> None:
        ex.reply(200, body, {"Content-Encoding": "gzip"})

    with Loopback(handler) as server:
        response = client(server, stream=False).complete("hi")
    assert response.text == "whole"


def test_an_encoding_streamchat_cannot_decode_is_a_clear_error():
    def handler(ex: Exchange) -> None:
        ex.start(framing="chunked", headers={"Content-Encoding": "x-unknown"})
        ex.write(b"\x00\x01\x02")
        ex.end()

    with Loopback(handler) as server, pytest.raises(streamchat.ProtocolError) as info:
        client(server, retry=streamchat.RetryPolicy(max_attempts=3)).complete("hi")
    assert "x-unknown" in str(info.value)
    assert len(server.requests) == 1, "an encoding will not change on a retry"
