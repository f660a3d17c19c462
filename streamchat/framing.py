"""Bytes to frames: Server-Sent Events and newline-delimited JSON.

Both framers take an iterable of byte chunks exactly as they came off the socket, split
anywhere, and yield frames as soon as a frame is complete. They are pure: no sockets, no
clocks, so tests drive them with lists of bytes.

SSE events in the shapes providers send, `data:` lines and an `event:` line, are read
here; every other event (a comment, `id`, `retry`, an unknown field, a line without a
colon) goes to sseclient-py, the parser of record, and tests/test_framing_sse.py holds
the two to the same frames on random bodies cut at random places. The common shapes are
read here for speed: sseclient-py's line-by-line work in Python cost more than the
json.loads of the event itself, 1.0 to 1.9 json.loads units per event on the benchmark
bodies read in 64 KiB pieces, against 0.35 to 0.6 units for this loop, the cleaner
included (old and new timed interleaved; `python -m benchmarks --scenario breakdown`
gives the rows). Most of what is left is the split, one string and one Frame per event.
`_ChunkCleaner` does what both leave out: UTF-8 repair, the BOM, CR and CRLF line ends
and the size limit. Spec:
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import codecs
from typing import Iterable, Iterator, List, Optional

from sseclient import SSEClient

from .errors import ProtocolError
from .wire.common import FrameLike

DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
"""A frame larger than this is refused rather than buffered without bound."""


class Frame:
    """One unit of a stream: an SSE event (name and data) or one NDJSON line.

    The two attributes are all a decoder reads (sseclient-py's own Event has them too),
    and slots make the one object made per event as cheap as a class allows.
    """

    __slots__ = ("data", "event")

    def __init__(self, data: str, event: str = "message") -> None:
        self.data = data
        self.event = event

    def __repr__(self) -> str:
        return f"Frame(event={self.event!r}, data={self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and (self.event, self.data) == (other.event, other.data)

    def __hash__(self) -> int:
        return hash((self.event, self.data))


class FrameTooLargeError(ProtocolError):
    """A single line or event exceeded the size limit: a hostile or broken server."""

    retryable = False


class _Utf8Text:
    """Bytes to text as they arrive: a character split across chunks waits for its other
    half, invalid bytes become U+FFFD instead of failing the stream, and a BOM that opens
    the stream is dropped."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_start = True
        self._pending = False

    def decode(self, chunk: bytes, final: bool = False) -> str:
        text = self._decoder.decode(chunk, final)
        self._pending = bool(self._decoder.getstate()[0])
        if self._at_start and text:
            self._at_start = False
            if text.startswith("\ufeff"):
                text = text[1:]
        return text

    def repair(self, chunk: bytes) -> bytes:
        """The same repairs for a reader that wants bytes: valid UTF-8 without a BOM.

        A chunk that already is whole, valid UTF-8 (nearly every chunk) comes back as
        it is, checked but not converted; only a broken or split one goes through text.
        """
        if not self._pending:
            if chunk.isascii():
                self._at_start = self._at_start and not chunk
                return chunk
            try:
                chunk.decode()
            except UnicodeDecodeError:
                pass  # invalid, or a character cut at the end: the decoder deals with both
            else:
                if self._at_start:
                    self._at_start = False
                    if chunk.startswith(codecs.BOM_UTF8):
                        return chunk[len(codecs.BOM_UTF8):]
                return chunk
        return self.decode(chunk).encode()


class _ChunkCleaner:
    """Normalise raw chunks into what the SSE parsers here and in sseclient-py read
    correctly.

    sseclient-py decodes each line strictly, keeps a leading BOM and only recognises an
    event boundary when both line endings land in the same form. Repairing the UTF-8
    (replacement characters, a multi-byte character that straddles two chunks kept
    whole) fixes the first two; turning CRLF and lone CR into LF fixes the third. A CR at
    the very end of a chunk is held back: it may be the first half of a CRLF. All of it
    works on bytes, since CR and LF never occur inside a UTF-8 sequence: a chunk that
    needs no repair passes on as the very object that was read, so a stream holds one
    copy of each read, not three.
    """

    def __init__(self, max_frame_bytes: int) -> None:
        self._text = _Utf8Text()
        self._held_cr = False
        self._max = max_frame_bytes
        self._pending = 0
        self._ends_line = False

    def clean(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            out = self._normalise(self._text.repair(chunk))
            if out:
                yield out
        tail = self._normalise(self._text.decode(b"", final=True).encode())
        if self._held_cr:
            tail += b"\n"
            self._held_cr = False
        if tail:
            yield tail

    def _normalise(self, data: bytes) -> bytes:
        if self._held_cr:
            data = b"\r" + data
            self._held_cr = False
        if b"\r" in data:
            if data.endswith(b"\r"):
                data = data[:-1]
                self._held_cr = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        self._check_size(data)
        return data

    def _check_size(self, text: bytes) -> None:
        # Every event in the text is measured, not only the last, and a blank line whose
        # two newlines arrive in different chunks still ends an event: otherwise the
        # limit would depend on how the bytes happened to be split.
        if not text:
            return  # a chunk that was only a held-back CR says nothing about line ends
        carried = b"\n" if self._ends_line else b""
        if self._pending + len(text) + 1 <= self._max:
            # No event in this text can be over the limit; only the size of the one left
            # open matters, and measuring it alone spares a split per chunk.
            self._pending = _open_event_size(carried + text, self._pending - len(carried))
            sizes = None
        else:
            pieces = (carried + text).split(b"\n\n")
            sizes = [len(piece) for piece in pieces]
            sizes[0] += self._pending - len(carried)
            self._pending = sizes[-1]
        # Only a newline that the open event ends with can pair with the next chunk's
        # first one; after a whole blank line the event is empty, and a newline that
        # arrives next starts the following event.
        self._ends_line = self._pending > 0 and text.endswith(b"\n")
        if sizes is not None and self._ends_line:
            sizes[-1] -= 1  # that newline may yet turn out to be half of the blank line
        if sizes is not None and max(sizes) > self._max:
            raise FrameTooLargeError(
                f"the server sent a single event of more than {self._max} bytes; "
                "raise max_frame_bytes if this is expected"
            )


def _open_event_size(text: bytes, carried_size: int) -> int:
    """What `text.split(b"\n\n")[-1]` measures (plus `carried_size` when text holds no
    boundary), without the split: a run of newlines splits into pairs from its start."""
    end = text.rfind(b"\n\n")
    if end == -1:
        return len(text) + carried_size
    start = end
    while start > 0 and text[start - 1] == 0x0A:
        start -= 1
    run = end + 2 - start
    return len(text) - start - run + run % 2


def sse_frames(
    chunks: Iterable[bytes], *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> Iterator[Frame]:
    """Yield each complete SSE event as a frame with `.event` and `.data`.

    Comment lines (`: ping`) and events without data, or with only blank data (a
    keep-alive some servers send as `data:`), never become frames. An event left
    unterminated when the bytes run out is discarded, as the spec requires: the decoder
    then sees a stream without its terminal event and reports it as truncated.
    """
    # The bytes since the last blank line, in the pieces they came in: joined only once
    # a blank line ends them, so an event that trickles in byte by byte is not copied
    # anew for every byte.
    open_event: List[bytes] = []
    for chunk in _ChunkCleaner(max_frame_bytes).clean(chunks):
        if b"\n\n" not in chunk and not (
            open_event and chunk[0] == 0x0A and open_event[-1][-1] == 0x0A
        ):
            open_event.append(chunk)
            continue
        if open_event:
            open_event.append(chunk)
            chunk = b"".join(open_event)
        *events, rest = chunk.split(b"\n\n")
        open_event = [rest] if rest else []
        for event in events:
            # The cleaner passes on whole UTF-8 characters only and no newline is part of
            # one, so each event decodes alone. Decoding event by event, not the chunk
            # at once, keeps a character beyond Latin-1 elsewhere in the chunk from
            # widening every event's text (measured: ~10% of the parse on such bodies).
            block = event.decode()
            # The two shapes nearly every event has are read inline: a function call per
            # event would be a good part of what reading one costs.
            if block.startswith("data: "):
                if "\n" not in block:
                    data = block[6:]
                    if data.strip():
                        yield Frame(data)
                    continue
            elif block.startswith("event: "):
                name, _, data = block.partition("\n")
                if data.startswith("data: ") and "\n" not in data:
                    data = data[6:]
                    if data.strip():
                        yield Frame(data, name[7:] or "message")
                    continue
            frame = _frame_of(block)
            if frame is not None:
                yield frame


def _frame_of(block: str) -> Optional[Frame]:
    """The frame of one event's lines: data and event lines are read here (the last
    event line wins, as in the spec), anything else (comments, `id`, `retry`, other
    fields, a line without a colon) by sseclient-py."""
    name: Optional[str] = None
    data: List[str] = []
    for line in block.split("\n"):
        if line.startswith("data:"):
            data.append(line[6:] if line.startswith(" ", 5) else line[5:])
        elif line.startswith("event:"):
            name = line[7:] if line.startswith(" ", 6) else line[6:]
        else:
            return _frame_by_sseclient(block)
    text = "\n".join(data)
    return Frame(text, name or "message") if text.strip() else None


def _frame_by_sseclient(block: str) -> Optional[Frame]:
    """sseclient-py's reading of one event: it gets the lines and the blank line that
    ended them, exactly the piece its own reader would have cut from the stream."""
    for event in SSEClient(iter([block.encode() + b"\n\n"])).events():
        if event.data.strip():
            return Frame(event.data, event.event)
    return None


def ndjson_frames(
    chunks: Iterable[bytes], *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
) -> Iterator[Frame]:
    """Yield each non-blank line as a frame; a last line without a newline still counts.

    The final newline is optional in NDJSON, and a cut-off JSON object fails to parse in
    the decoder anyway, so the tail is passed on rather than guessed about here.
    """
    decoder = _Utf8Text()
    buffer = ""
    for chunk in chunks:
        text = decoder.decode(chunk)
        if not text:
            continue
        buffer += text
        if "\n" in text:
            *lines, buffer = buffer.split("\n")
            for line in lines:
                # Complete lines are measured too, so the limit does not depend on how
                # the bytes happened to be split into chunks.
                _check_line(line, max_frame_bytes)
                line = line.strip()
                if line:
                    yield Frame(line)
        _check_line(buffer, max_frame_bytes)
    buffer += decoder.decode(b"", final=True)
    _check_line(buffer, max_frame_bytes)
    buffer = buffer.strip()
    if buffer:
        yield Frame(buffer)


def _check_line(line: str, max_frame_bytes: int) -> None:
    # A character is one to four bytes: only a line in between needs encoding to measure.
    size = len(line)
    if max_frame_bytes < size * 4 and (
        size > max_frame_bytes or len(line.encode("utf-8", "surrogatepass")) > max_frame_bytes
    ):
        raise FrameTooLargeError(
            f"the server sent a line of more than {max_frame_bytes} bytes; "
            "raise max_frame_bytes if this is expected"
        )


def frames_for(
    framing: str, chunks: Iterable[bytes], *, max_frame_bytes: Optional[int] = None
) -> Iterator[FrameLike]:
    """Pick the framer a wire format names ("sse" or "ndjson")."""
    limit = max_frame_bytes or DEFAULT_MAX_FRAME_BYTES
    if framing == "ndjson":
        return ndjson_frames(chunks, max_frame_bytes=limit)
    return sse_frames(chunks, max_frame_bytes=limit)
