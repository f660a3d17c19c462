"""SSE framing: what sseclient-py leaves to us, at every byte boundary."""

import random
from typing import Any, Iterable, Iterator, List, Tuple

import pytest
from helpers import CHUNK_SIZES, split
from sseclient import SSEClient

from streamchat import framing
from streamchat.framing import (
    DEFAULT_MAX_FRAME_BYTES,
    FrameTooLargeError,
    _ChunkCleaner,
    sse_frames,
)


def frames(data: bytes, size=None):
    return [(f.event, f.data) for f in sse_frames(split(data, size))]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_bom_at_start_is_dropped(size):
    assert frames(b"\xef\xbb\xbfdata: one\n\n", size) == [("message", "one")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_invalid_utf8_becomes_replacement_character(size):
    assert frames(b"data: a\xffb\n\n", size) == [("message", "a\ufffdb")]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_multibyte_character_split_across_chunks_arrives_whole(size):
    data = "data: caf\u00e9 \u2615 \U0001f600\n\n".encode()
    assert frames(data, size) == [("message", "caf\u00e9 \u2615 \U0001f600")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_comment_lines_are_ignored(size):
    data = b": ping\n\n: OPENROUTER PROCESSING\n\ndata: x\n: inline comment\n\n"
    assert frames(data, size) == [("message", "x")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_ends_lines(size, eol):
    data = b"event: delta" + eol + b"data: 1" + eol + b"data: 2" + eol + eol
    data += b"data: 3" + eol + eol
    assert frames(data, size) == [("delta", "1\n2"), ("message", "3")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_unterminated_last_event_is_not_dispatched(size):
    assert frames(b"data: whole\n\ndata: cut off", size) == [("message", "whole")]
    assert frames(b"data: whole\n\ndata: cut off\n", size) == [("message", "whole")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_named_events_keep_their_name(size):
    data = b"event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n"
    assert frames(data, size) == [("message_start", "{}"), ("ping", '{"type": "ping"}')]


def test_frames_are_yielded_before_the_stream_ends():
    def source():
        yield b"data: first\n\n"
        raise AssertionError("the first frame must be available before more bytes are read")

    first = next(sse_frames(source()))
    assert (first.event, first.data) == ("message", "first")


def test_an_endless_event_is_refused():
    with pytest.raises(FrameTooLargeError, match="more than 100 bytes"):
        list(sse_frames([b"data: " + b"x" * 60, b"y" * 60], max_frame_bytes=100))


# -- the same frames as sseclient-py ------------------------------------------------------
#
# sse_frames reads the common shapes itself and hands every other event to sseclient-py.
# Here the reference is sseclient-py alone, as the framer used it before: its SSEClient
# over the cleaned chunks, an event that only the end of the bytes completed dropped.
# Random bodies with every kind of line, cut at random places, must give the same frames
# and fail at the same point when an event is over the size limit.

TEXTS = ["{}", '{"a": 1}', "x", "caf\u00e9", "\u2192 ok", "\U0001f600", "a: b", "[DONE]",
         "  padded  ", "\ufeffbom", "data: x", "\\n", "",
         # Line breaks to str.splitlines, not to SSE: they stay inside the data.
         "\u2028\x85\x0b\x1c", "a\u2028data: b\x85event: c"]
NAMES = ["delta", "message_start", "ping", "", "caf\u00e9", " spaced"]


def random_line(rng: random.Random) -> str:
    text = rng.choice(TEXTS)
    return rng.choice([
        f"data: {text}", f"data: {text}", f"data:{text}", f"data:  {text}", "data:",
        "data", "data: ", "data: \t ", f"event: {rng.choice(NAMES)}",
        f"event:{rng.choice(NAMES)}", "event:", "event", f": {text}", ":", "id: 7", "id",
        "retry: 100", "retry:x", f"foo: {text}", "DATA: x", f" data: {text}",
        f"data : {text}", "garbage", " ", "\t", f"\ufeffdata: {text}",
    ])


def random_event(rng: random.Random) -> List[str]:
    shape = rng.random()
    if shape < 0.3:  # the OpenAI and Gemini shape
        return [f"data: {rng.choice(TEXTS)}"]
    if shape < 0.5:  # the Anthropic and Responses shape
        return [f"event: {rng.choice(NAMES)}", f"data: {rng.choice(TEXTS)}"]
    return [random_line(rng) for _ in range(rng.randint(0, 4))]


def random_body(rng: random.Random) -> bytes:
    style = rng.choice(["\n", "\r\n", "\r", "mixed"])
    parts = ["\ufeff"] if rng.random() < 0.2 else []
    if rng.random() < 0.1:
        parts.append("\n")
    for _ in range(rng.randint(0, 8)):
        for line in random_event(rng) + [""] * rng.choice([1, 1, 1, 2, 3]):
            parts.append(line + (rng.choice(["\n", "\r\n", "\r"]) if style == "mixed" else style))
    if rng.random() < 0.3:
        parts.append(random_line(rng) + rng.choice(["", "\n", "\r"]))
    body = "".join(parts).encode()
    if rng.random() < 0.1:
        at = rng.randrange(len(body) + 1)
        body = body[:at] + b"\xff" + body[at:]
    return body


def random_split(rng: random.Random, body: bytes) -> List[bytes]:
    cuts = sorted(rng.sample(range(1, len(body)), min(max(len(body) - 1, 0), rng.randint(0, 12))))
    if rng.random() < 0.2:
        cuts = list(range(1, len(body)))
    return [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)])]


def sseclient_frames(chunks: List[bytes], limit: int) -> Iterator[Tuple[str, str]]:
    ended = []

    def cleaned() -> Iterator[bytes]:
        yield from _ChunkCleaner(limit).clean(chunks)
        ended.append(True)

    for event in SSEClient(cleaned()).events():
        if ended:
            return  # the end of the bytes, not a blank line, completed this one
        if event.data.strip():
            yield event.event, event.data


def outcome(frames: Iterable[Any]) -> Tuple[List[Tuple[str, str]], bool]:
    """The frames, and whether a frame over the limit stopped them."""
    got: List[Tuple[str, str]] = []
    try:
        for frame in frames:
            got.append(frame if isinstance(frame, tuple) else (frame.event, frame.data))
    except FrameTooLargeError:
        return got, True
    return got, False


def test_the_same_frames_as_sseclient_py_for_random_bodies_and_splits():
    rng = random.Random(20)
    shapes = set()
    for _ in range(600):
        body = random_body(rng)
        limit = rng.choice([DEFAULT_MAX_FRAME_BYTES, rng.randint(4, 80)])
        for chunks in [[body]] + [random_split(rng, body) for _ in range(4)]:
            chunks = [c for c in chunks if c] or [b""]
            expected = outcome(sseclient_frames(chunks, limit))
            assert outcome(sse_frames(chunks, max_frame_bytes=limit)) == expected, (body, chunks)
            shapes.add((bool(expected[0]), expected[1]))
    assert shapes == {(False, False), (True, False), (False, True), (True, True)}


# -- what the fast path promises ---------------------------------------------------------
#
# The common shapes are read here only because it is cheaper: these pin that they are,
# since sseclient-py or the general reader would give the same frames, just slower.

def refuse(*args):
    raise AssertionError("the common shapes must not take the slow path")


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_the_common_shapes_never_reach_sseclient_py(monkeypatch, size):
    monkeypatch.setattr(framing, "SSEClient", refuse)
    data = b"data:{}\n\nevent: delta\ndata: 1\ndata: 2\n\nevent:x\ndata:  y\n\n"
    assert frames(data, size) == [("message", "{}"), ("delta", "1\n2"), ("x", " y")]


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_the_two_commonest_shapes_are_read_without_a_call_per_event(monkeypatch, size):
    monkeypatch.setattr(framing, "_frame_of", refuse)
    data = b"data: {}\n\nevent: delta\ndata: 1\n\nevent: \ndata: 2\n\n"
    assert frames(data, size) == [("message", "{}"), ("delta", "1"), ("message", "2")]
