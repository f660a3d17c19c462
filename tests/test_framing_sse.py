"""SSE framing: what sseclient-py leaves to us, at every byte boundary."""

import pytest
from helpers import CHUNK_SIZES, split

from streamchat.framing import FrameTooLargeError, sse_frames


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
