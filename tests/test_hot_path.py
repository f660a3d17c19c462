"""The shortcuts on the per-event and per-read path keep their promises: they skip work,
never change what comes out."""

from __future__ import annotations

import io
import json
import queue
import socket
import time
from typing import Any, List, Optional

import pytest
from loopback import Exchange, Loopback, chunk

from streamchat import transport
from streamchat.accumulate import ResponseSnapshot
from streamchat.errors import ProtocolError
from streamchat.framing import _ChunkCleaner, ndjson_frames
from streamchat.types import HttpRequest, TextEvent, text_event
from streamchat.wire.common import load_json
from streamchat.worker import _EventQueue

LIMIT = 1 << 20


def test_valid_utf8_chunks_pass_the_cleaner_as_the_same_object() -> None:
    chunks = [b'data: {"t": "caf\xc3\xa9"}\n\n', b'data: {"t": "plain"}\n\n']
    out = list(_ChunkCleaner(LIMIT).clean(iter(chunks)))
    assert [id(c) for c in out] == [id(c) for c in chunks]


def test_the_cleaner_still_repairs_what_needs_it() -> None:
    chunks = [b"\xef\xbb\xbfdata: caf\xc3", b"\xa9 \xff\r\n\r\n"]
    assert b"".join(_ChunkCleaner(LIMIT).clean(iter(chunks))) == (
        "data: café \ufffd\n\n".encode()
    )


def test_a_bom_in_a_valid_first_chunk_is_dropped_but_not_later() -> None:
    bom = b"\xef\xbb\xbf"
    out = b"".join(_ChunkCleaner(LIMIT).clean(iter([bom + b"data: \xc3\xa9\n\n", bom + b"x"])))
    assert out == b"data: \xc3\xa9\n\n" + bom + b"x"


def test_the_frame_limit_counts_bytes() -> None:
    cleaner = _ChunkCleaner(10)
    with pytest.raises(ProtocolError):
        list(cleaner.clean(iter(["data: éééé\n\n".encode()])))  # 10 characters, 14 bytes
    with pytest.raises(ProtocolError):
        list(ndjson_frames(iter(['{"t": "éééé"}\n'.encode()]), max_frame_bytes=14))
    assert len(list(ndjson_frames(iter(['{"t": "éé"}\n'.encode()]), max_frame_bytes=14))) == 1


@pytest.mark.parametrize("data", ['{"a": 1}', ' {"a": 1}', '{"a": 1}\n ', "[1, 2]", '"x"'])
def test_load_json_agrees_with_json_loads(data: str) -> None:
    assert load_json(data, "p") == json.loads(data)


@pytest.mark.parametrize("data", ['{"a": 1} x', "", " ", '{"a":'])
def test_load_json_refuses_what_json_loads_refuses(data: str) -> None:
    with pytest.raises(ProtocolError):
        load_json(data, "p")


def test_text_event_is_the_validated_model() -> None:
    made = text_event({"text": "hi"})
    assert made == TextEvent(text="hi")
    assert made.model_fields_set == {"text"}
    with pytest.raises(ValueError):
        text_event({"text": 3})


def test_the_event_queue_is_bounded_by_events_not_batches() -> None:
    events_queue = _EventQueue(4)
    events_queue.put_nowait(list(range(10)))  # a big batch goes into an empty queue
    with pytest.raises(queue.Full):
        events_queue.put_nowait([1])
    assert events_queue.get_nowait() == list(range(10))
    events_queue.put_nowait([1, 2, 3])
    events_queue.put_nowait(object())  # a wake-up weighs one
    with pytest.raises(queue.Full):
        events_queue.put_nowait([4])
    assert not events_queue.empty()


def test_the_snapshot_joins_text_in_runs_without_changing_it() -> None:
    snapshot = ResponseSnapshot()
    pieces = [f"{i} " for i in range(1000)]
    for piece in pieces:
        snapshot.add(TextEvent(text=piece))
    assert len(snapshot.text_parts) < 100
    assert snapshot.to_response().text == "".join(pieces)


class _SpySocket:
    def __init__(self) -> None:
        self.timeouts: List[Optional[float]] = []
        self.timeout: Optional[float] = None

    def gettimeout(self) -> Optional[float]:
        return self.timeout

    def settimeout(self, value: Optional[float]) -> None:
        self.timeouts.append(value)
        self.timeout = value


class _Bytes(io.RawIOBase):
    def readinto(self, buffer: Any) -> int:
        buffer[:1] = b"x"
        return 1


def _reader_with(sock: _SpySocket) -> transport.DeadlineReader:
    return transport.DeadlineReader(_Bytes(), sock)  # type: ignore[arg-type]


def test_a_deadline_that_barely_moves_keeps_the_socket_timeout() -> None:
    sock = _SpySocket()
    reader = _reader_with(sock)
    start = time.monotonic()
    for step in range(100):
        reader.deadline = start + 120.0 - step * 0.0001  # content keeps arriving
        reader.read(1)
    assert len(sock.timeouts) == 1
    first = sock.timeouts[0]
    assert first is not None and 119.9 <= first <= 120.0 + transport.TIMEOUT_SLACK


def test_a_deadline_that_moves_past_the_slack_resets_it_in_both_directions() -> None:
    sock = _SpySocket()
    reader = _reader_with(sock)
    start = time.monotonic()
    for left in (10.0, 5.0, 10.0):  # nearer: the old timeout would outlast the deadline;
        reader.deadline = start + left  # further: the old one would end the read too soon
        reader.read(1)
    reader.deadline = None
    reader.read(1)
    assert len(sock.timeouts) == 4
    assert all(t is not None and left - 0.1 <= t <= left + transport.TIMEOUT_SLACK
               for t, left in zip(sock.timeouts, (10.0, 5.0, 10.0)))
    assert sock.timeouts[-1] is None, "a read without a deadline must not keep ours"


def test_a_socket_timeout_set_by_others_stays_when_there_is_no_deadline() -> None:
    sock = _SpySocket()
    sock.timeout = 3.0  # urllib3's, for a proxy's CONNECT answer
    _reader_with(sock).read(1)
    assert sock.timeouts == []


def test_no_read_starts_after_its_deadline() -> None:
    reader = _reader_with(_SpySocket())
    reader.deadline = time.monotonic() - 0.001
    with pytest.raises(socket.timeout):
        reader.read(1)


def test_chunks_that_arrived_together_are_read_together() -> None:
    """The chunks of a burst sit in http.client's buffer once read1 has taken the first,
    where the kernel (and so a poll) no longer sees them; they come out of one read."""
    events = [chunk(f"t{i}") for i in range(20)]

    def burst(exchange: Exchange) -> None:
        exchange.start()
        exchange.handler.wfile.write(b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events))
        exchange.server.release.wait(5)  # the body stays open: nothing more may be waited for

    with Loopback(burst) as server:
        sender = transport.Transport()
        body = sender.open(HttpRequest("POST", server.url + "/v1/chat/completions", json={}),
                           provider="p", connect_timeout=5, watcher=lambda sock: 5.0)
        try:
            assert body.read(timeout=5) == b"".join(events)
        finally:
            body.abort()
            sender.close()
