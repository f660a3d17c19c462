"""Bytes to frames: Server-Sent Events and newline-delimited JSON.

Both framers take an iterable of byte chunks exactly as they came off the socket, split
anywhere, and yield frames as soon as a frame is complete. They are pure: no sockets, no
clocks, so tests drive them with lists of bytes.

SSE parsing itself is sseclient-py's; `_clean_chunks` does what it leaves out. Spec:
https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
"""

from __future__ import annotations

import codecs
from typing import Iterable, Iterator, Optional

from sseclient import SSEClient

from .errors import ProtocolError
from .wire.common import FrameLike

DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024
"""A frame larger than this is refused rather than buffered without bound."""


class Frame:
    """One unit of a stream: an SSE event (name and data) or one NDJSON line.

    sseclient-py's own Event objects have the same two attributes, so decoders accept
    either without a copy on the hot path.
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
    """Normalise raw chunks into what sseclient-py parses correctly.

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
        self.exhausted = False

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
        self.exhausted = True

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
) -> Iterator[FrameLike]:
    """Yield each complete SSE event as a frame with `.event` and `.data`.

    Comment lines (`: ping`) and events without data, or with only blank data (a
    keep-alive some servers send as `data:`), never become frames. An event left
    unterminated when the bytes run out is discarded, as the spec requires: the decoder
    then sees a stream without its terminal event and reports it as truncated.
    """
    cleaner = _ChunkCleaner(max_frame_bytes)
    client = SSEClient(cleaner.clean(chunks))
    for event in client.events():
        if cleaner.exhausted:
            # sseclient-py dispatches whatever is buffered when the source ends; only a
            # blank line completes an event, so this one is cut off and must not count.
            return
        if event.data.strip():
            yield event


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
