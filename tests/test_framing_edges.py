"""Framing at its edges: the frame size limit to the byte at every split, UTF-8 repair
state carried between chunks, mixed line endings, cut-off events, and the Frame type."""

import pytest
from helpers import CHUNK_SIZES, split

from streamchat.framing import (
    DEFAULT_MAX_FRAME_BYTES,
    Frame,
    FrameTooLargeError,
    frames_for,
    ndjson_frames,
    sse_frames,
)

SPLITS = [1, 2, 3, 4, 5, 7, 11, None]

STREAMS = [
    # Two big neighbours, so that a separator missed at a chunk edge merges them.
    b"data: aaaaaaaaaaaaaaaaaaaa\n\ndata: bbbbbbbbbbbbbbbbbbbbbbb\n\n",
    # Runs of newlines longer than a separator, a comment, an event name.
    b"data: one\n\n\n\ndata: twotwotwotwo\n\n\n: keep-alive\n\nevent: x\ndata: three3\n\n",
    # An odd run: the third newline starts an empty piece.
    b"data: 12345678901234\n\n\ndata: 1234567890123456789\n\n\n\n\n",
    # CRLF and lone CR, normalised before they are measured.
    b"data: crlfcrlfcrlf\r\n\r\ndata: cr-cr-cr-cr-cr-cr\r\rdata: end\n\n",
    # A run of four newlines, two blank lines, right before the largest event.
    b"data: a\n\n\n\ndata: the largest event comes here\n\n",
    # A stream that opens with a blank line: that newline is part of the first event.
    b"\ndata: a stream that opens with a blank line\n\ndata: b\n\n",
    # The first event is the largest: nothing before it may be counted in it.
    b"data: the first event is the largest\n\ndata: small\n\n",
    # Multi-line data, and a last event left open (still measured).
    b"data: line one\ndata: line two\n\ndata: open event at the end",
]


def pairs(frames):
    return [(f.event, f.data) for f in frames]


def largest_event(stream: bytes) -> int:
    """The size the limit applies to: each piece between blank lines, after line endings
    are normalised (the open piece at the end included)."""
    text = stream.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return max(len(piece) for piece in text.split(b"\n\n"))


@pytest.mark.parametrize("size", SPLITS)
@pytest.mark.parametrize("stream", STREAMS)
def test_an_event_of_exactly_the_limit_passes_at_every_split(stream, size):
    limit = largest_event(stream)
    whole = pairs(sse_frames([stream], max_frame_bytes=limit))
    assert pairs(sse_frames(split(stream, size), max_frame_bytes=limit)) == whole
    assert whole


@pytest.mark.parametrize("size", SPLITS)
@pytest.mark.parametrize("stream", STREAMS)
def test_an_event_one_byte_over_the_limit_fails_at_every_split(stream, size):
    limit = largest_event(stream) - 1
    with pytest.raises(FrameTooLargeError, match=f"more than {limit} bytes"):
        list(sse_frames(split(stream, size), max_frame_bytes=limit))


@pytest.mark.parametrize("size", SPLITS)
def test_an_event_left_open_is_measured_before_the_stream_ends(size):
    # Over the limit and never terminated: refused, not quietly dropped as cut off.
    with pytest.raises(FrameTooLargeError):
        list(sse_frames(split(b"data: " + b"x" * 15, size), max_frame_bytes=20))


@pytest.mark.parametrize("size", SPLITS)
def test_an_open_event_ending_with_a_newline_is_measured_without_it(size):
    # The trailing newline may be half of the blank line still to come, so it is not
    # counted; everything before it is.
    event = b"data: " + b"y" * 14  # 20 bytes
    stream = b"data: ok\n\n" + event + b"\n"
    with pytest.raises(FrameTooLargeError):
        list(sse_frames(split(stream, size), max_frame_bytes=len(event) - 1))
    assert pairs(sse_frames(split(stream, size), max_frame_bytes=len(event))) == [
        ("message", "ok")]


def test_the_default_limit_is_8_mib():
    assert DEFAULT_MAX_FRAME_BYTES == 8 * 1024 * 1024
    fits = b"data: " + b"x" * (DEFAULT_MAX_FRAME_BYTES - 6) + b"\n\n"
    assert len(list(frames_for("sse", [fits]))) == 1
    with pytest.raises(FrameTooLargeError):
        list(frames_for("sse", [b"x" + fits]))


def test_frames_for_passes_its_limit_on():
    with pytest.raises(FrameTooLargeError, match="more than 10 bytes"):
        list(frames_for("sse", [b"data: 12345678\n\n"], max_frame_bytes=10))
    with pytest.raises(FrameTooLargeError, match="more than 10 bytes"):
        list(frames_for("ndjson", [b'{"a": 12345}\n'], max_frame_bytes=10))
    assert [f.data for f in frames_for("sse", [b"data: 1\n\n"])] == ["1"]
    assert [f.data for f in frames_for("anything else", [b"data: 2\n\n"])] == ["2"]


# -- cut-off events and line endings -----------------------------------------------------

@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("tail", [b"data: cut", b"data: cut\n", b"event: x\ndata: cut\r\n"])
def test_an_event_cut_off_at_the_end_is_not_a_frame(size, tail):
    data = b"data: whole\n\n" + tail
    assert [f.data for f in sse_frames(split(data, size))] == ["whole"]


@pytest.mark.parametrize("size", CHUNK_SIZES)
@pytest.mark.parametrize("ending", [b"\r\n\n", b"\n\r\n", b"\r\r\n", b"\r\n\r", b"\n\r"])
def test_mixed_line_endings_still_end_an_event(size, ending):
    data = b"data: one" + ending + b"data: two" + ending
    assert [f.data for f in sse_frames(split(data, size))] == ["one", "two"]


def test_a_cr_at_the_very_end_ends_the_last_line():
    assert [f.data for f in sse_frames([b"data: a\r", b"\r"])] == ["a"]
    assert [f.data for f in sse_frames([b"data: a\r\r"])] == ["a"]


# -- UTF-8 repair state between chunks ------------------------------------------------------

def test_a_character_cut_short_before_plain_ascii_is_replaced_in_place():
    # The first chunk ends with half a character, the next is plain ASCII: the missing
    # half is replaced where it was, not dropped or moved to the end.
    assert [f.data for f in sse_frames([b"data: a\xc3", b"b\n\n", b"data: c\n\n"])] == [
        "a\ufffdb", "c"]


@pytest.mark.parametrize("first", [b"data: x", b"data: \xc3\xa9", b"data: \xc3"])
def test_a_bom_after_the_start_is_kept_as_text(first):
    frames = list(sse_frames([first, b"\xef\xbb\xbfy\n\n"]))
    assert len(frames) == 1 and frames[0].data.endswith("\ufeffy")


@pytest.mark.parametrize("chunks", [
    [b"", b"\xef\xbb\xbfdata: a\n\n"],
    [b"\xef\xbb", b"\xbfdata: a\n\n"],
    [b"\xef\xbb\xbf", b"data: a\n\n"],
    [b"\xef\xbb\xbfdata: \xc3\xa9\n\n"],
])
def test_a_bom_at_the_start_is_dropped_however_it_arrives(chunks):
    data = [f.data for f in sse_frames(chunks)]
    assert data in (["a"], ["\u00e9"])


# -- NDJSON ------------------------------------------------------------------------------

def test_ndjson_a_line_over_the_limit_in_bytes_but_not_in_characters():
    line = "\u00e9" * 7  # 7 characters, 14 bytes
    with pytest.raises(FrameTooLargeError):
        list(ndjson_frames([f'"{line}"\n'.encode()], max_frame_bytes=12))
    assert len(list(ndjson_frames([f'"{line}"\n'.encode()], max_frame_bytes=16))) == 1


def test_ndjson_a_last_line_that_grows_when_flushed_is_measured():
    # Nine bytes and half a character: the flush at the end adds U+FFFD (3 bytes).
    with pytest.raises(FrameTooLargeError):
        list(ndjson_frames([b"123456789", b"\xe2\x82"], max_frame_bytes=10))
    assert [f.data for f in ndjson_frames([b"1234567", b"\xe2\x82"], max_frame_bytes=10)] == [
        "1234567\ufffd"]


# -- the Frame type -----------------------------------------------------------------------

def test_frame_equality_hash_and_repr():
    frame = Frame('{"a": 1}', "delta")
    assert frame == Frame('{"a": 1}', "delta")
    assert frame != Frame('{"a": 1}', "other")
    assert frame != Frame('{"a": 2}', "delta")
    assert frame != ("delta", '{"a": 1}')
    assert Frame("x") == Frame("x", "message")
    assert len({frame, Frame('{"a": 1}', "delta"), Frame("y")}) == 2
    assert hash(frame) == hash(Frame('{"a": 1}', "delta"))
    assert repr(frame) == "Frame(event='delta', data='{\"a\": 1}')"
