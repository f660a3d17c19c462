"""The connection pool follows how many streams a Client runs at once."""

import logging
import threading

from loopback import Loopback

import streamchat

STREAMS = 40
"""More streams at once than the default pool size (32)."""
HANG_GUARD = 10.0

OK = (b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
      b'data: [DONE]\n\n')


def test_more_streams_than_the_pool_size_keep_every_connection(caplog):
    everyone = threading.Barrier(STREAMS, timeout=HANG_GUARD)
    ports = []

    def answer_together(ex):
        ports.append(ex.handler.client_address[1])
        everyone.wait()  # every stream holds its connection at the same time
        ex.start(framing="chunked")
        ex.end(OK)

    caplog.set_level(logging.WARNING, logger="urllib3")
    with Loopback(*[answer_together] * (2 * STREAMS)) as server:
        client = streamchat.Client("openai", model="m", api_key="k",
                                   base_url=server.url + "/v1")
        for _ in range(2):  # two bursts: the second reuses every connection of the first
            streams = [client.stream("hi") for _ in range(STREAMS)]
            assert [stream.final().text for stream in streams] == ["hi"] * STREAMS
        assert len(server.requests) == 2 * STREAMS
    assert len(set(ports)) == STREAMS
    assert [r for r in caplog.records if "pool is full" in r.getMessage()] == []
