"""NDJSON framing: the same frames whatever the byte boundaries.

Spec: https://github.com/ndjson/ndjson-spec (lines end in \\n, \\r\\n accepted; the last
newline is optional). Ollama streams this format.
"""

from __future__ import annotations

from typing import Iterable, List, Optional, Tuple

import pytest
from helpers import split

from streamchat.errors import ProtocolError
from streamchat.framing import Frame, FrameTooLargeError, frames_for, ndjson_frames

# A BOM, CRLF and LF endings, blank and white-space-only lines, two- three- and four-byte
# characters, and a last line with no newline.
DOCUMENT = (
    "\ufeff"
    '{"a":"café"}\r\n'
    "\r\n"
    '{"b":"→ ok"}\n'
    "   \n"
    "\n"
    '{"c":"😀 done"}\r\n'
    '{"d":4}'
).encode()
EXPECTED = [
    Frame('{"a":"café"}'),
    Frame('{"b":"→ ok"}'),
    Frame('{"c":"😀 done"}'),
    Frame('{"d":4}'),
]


def frames(chunks: Iterable[bytes], limit: Optional[int] = None) -> List[Frame]:
    if limit is None:
        return list(ndjson_frames(chunks))
    return list(ndjson_frames(chunks, max_frame_bytes=limit))


def frames_until_error(
    chunks: Iterable[bytes], limit: int
) -> Tuple[List[Frame], Optional[Exception]]:
    out: List[Frame] = []
    try:
        for frame in ndjson_frames(chunks, max_frame_bytes=limit):
            out.append(frame)
    except FrameTooLargeError as exc:
        return out, exc
    return out, None


def test_whole_document() -> None:
    assert frames([DOCUMENT]) == EXPECTED


@pytest.mark.parametrize("cut", range(len(DOCUMENT) + 1))
def test_split_at_every_byte_boundary(cut: int) -> None:
    assert frames([DOCUMENT[:cut], DOCUMENT[cut:]]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 64])
def test_every_chunk_size(size: int) -> None:
    assert frames(split(DOCUMENT, size)) == EXPECTED


def test_every_pair_of_cuts() -> None:
    n = len(DOCUMENT)
    for first in range(n + 1):
        for second in range(first, n + 1):
            chunks = [DOCUMENT[:first], DOCUMENT[first:second], DOCUMENT[second:]]
            assert frames(chunks) == EXPECTED, (first, second)


def test_frames_are_yielded_as_soon_as_their_line_is_complete() -> None:
    def source() -> Iterable[bytes]:
        yield b'{"a":1}\n{"b"'
        raise AssertionError("read past the first complete line")

    iterator = ndjson_frames(source())
    assert next(iterator) == Frame('{"a":1}')


def test_bom_only_counts_at_the_very_start() -> None:
    assert frames(["\ufeff{}\n".encode(), "\ufeff{}\n".encode()]) == [
        Frame("{}"),
        Frame("\ufeff{}"),
    ]


def test_bom_split_over_three_chunks() -> None:
    bom = "\ufeff".encode()
    assert frames([bom[:1], bom[1:2], bom[2:] + b"{}\n"]) == [Frame("{}")]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert frames([b'{"x":"\xff"}\n']) == [Frame('{"x":"\ufffd"}')]


def test_multibyte_character_cut_off_at_the_end() -> None:
    assert frames([b'{"x":1}\n\xf0\x9f']) == [Frame('{"x":1}'), Frame("\ufffd")]


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\r\n", b"  \n\t\n", "\ufeff".encode()])
def test_nothing_but_blank_lines(data: bytes) -> None:
    assert frames([data]) == []
    assert frames(split(data, 1)) == []


def test_empty_chunks_are_harmless() -> None:
    assert frames([b"", b'{"a"', b"", b":1}", b"", b"\n", b""]) == [Frame('{"a":1}')]


def test_frames_are_message_events() -> None:
    assert [f.event for f in frames([DOCUMENT])] == ["message"] * 4


def test_frames_for_picks_ndjson() -> None:
    assert list(frames_for("ndjson", [DOCUMENT])) == EXPECTED


# Size limit ---------------------------------------------------------------------------

LONG = b'{"ok":1}\n' + b'{"big":"' + b"x" * 40 + b'"}\n' + b'{"after":1}\n'


def test_a_line_at_the_limit_passes() -> None:
    line = b'{"k":"' + b"x" * 10 + b'"}'  # 18 characters
    assert frames([line + b"\r\n"], limit=len(line) + 1) == [Frame(line.decode())]
    for size in (1, 3, 64):
        assert frames(split(line + b"\n", size), limit=len(line)) == [Frame(line.decode())]


@pytest.mark.parametrize("cut", range(len(LONG) + 1))
def test_a_line_over_the_limit_fails_at_every_split(cut: int) -> None:
    got, error = frames_until_error([LONG[:cut], LONG[cut:]], limit=32)
    assert isinstance(error, FrameTooLargeError)
    assert got == [Frame('{"ok":1}')]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_a_line_over_the_limit_fails_at_every_chunk_size(size: int) -> None:
    got, error = frames_until_error(split(LONG, size), limit=32)
    assert isinstance(error, FrameTooLargeError)
    assert "32" in str(error)
    assert got == [Frame('{"ok":1}')]


@pytest.mark.parametrize("size", [1, 5, 1000])
def test_an_unterminated_tail_over_the_limit_fails(size: int) -> None:
    data = b'{"ok":1}\n' + b"y" * 40
    got, error = frames_until_error(split(data, size), limit=32)
    assert isinstance(error, FrameTooLargeError)
    assert got == [Frame('{"ok":1}')]


def test_a_server_that_never_sends_a_newline_is_stopped_early() -> None:
    sent = []

    def endless() -> Iterable[bytes]:
        while True:
            sent.append(1)
            yield b"z" * 10

    with pytest.raises(FrameTooLargeError):
        list(ndjson_frames(endless(), max_frame_bytes=100))
    assert len(sent) == 11


def test_frame_too_large_is_a_protocol_error_not_worth_retrying() -> None:
    assert issubclass(FrameTooLargeError, ProtocolError)
    assert FrameTooLargeError.retryable is False
