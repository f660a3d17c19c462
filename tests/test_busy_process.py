"""A busy process: sockets whose descriptors are numbered 1024 or more, which select()
cannot watch, so every wait on a socket must use a selector or poll."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from loopback import OK_END, Exchange, Loopback, chunk

import streamchat

HANG_GUARD = 5.0  # only to fail instead of hanging; never a performance claim


def client(server: Loopback, **kwargs: Any) -> streamchat.Client:
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    return streamchat.Client("openai", model="m", api_key="sk-test-busy",
                             base_url=server.url + "/v1", **kwargs)


@pytest.fixture
def busy_process():
    """Hold enough descriptors that the stream's socket is numbered 1024 or more, as in a
    server with many connections; select() cannot watch such a descriptor."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip("needs a descriptor limit above 1200")
    held = []
    base = os.open(os.devnull, os.O_RDONLY)
    held.append(base)
    while held[-1] < 1030:
        held.append(os.dup(base))
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)


def test_status_notices_and_deadlines_work_on_a_descriptor_above_1023(busy_process):
    seen_status = threading.Event()

    def handler(ex: Exchange) -> None:
        seen_status.wait(HANG_GUARD)
        ex.start(framing="chunked")
        ex.write(chunk("ready") + OK_END)
        ex.end()

    with Loopback(handler) as server:
        c = client(server, timeouts=streamchat.Timeouts(status_interval=0.02))
        kinds = []
        for event in c.stream("hi"):
            kinds.append(event.type)
            if event.type == "status":
                seen_status.set()
        assert "status" in kinds, kinds
        assert kinds[-2:] == ["text", "done"]


def test_an_interrupt_reaches_a_waiting_stream_on_a_descriptor_above_1023(busy_process):
    def handler(ex: Exchange) -> None:
        ex.wait_for_disconnect(HANG_GUARD)
        ex.server.disconnected.set()

    with Loopback(handler) as server:
        stream = client(server, timeouts=streamchat.Timeouts(first_token=0.5)).stream("hi")
        threading.Timer(0.05, stream.interrupt).start()
        kinds = [e.type for e in stream]
        assert kinds[-1] == "cancelled"
        assert server.disconnected.wait(HANG_GUARD)
