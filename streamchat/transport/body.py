"""A response body read as its bytes arrive, with a deadline on every read, and stopped
from any thread. Providers stream with chunked encoding, one chunk per event, so reading
the chunks already in hand together is what keeps a fast stream cheap."""

from __future__ import annotations

import functools
import http.client
import io
import select
import socket
import time
from typing import Callable, Mapping, Optional

import requests
import urllib3

from ..errors import ConnectionFailedError, ProtocolError, StreamChatError
from ..types import RateLimit
from .headers import is_whole_json, rate_limit_of, request_id_of
from .sockets import DeadlineReader, ReadTimedOut, shutdown_socket

READ_SIZE = 16 * 1024
"""Bytes asked of the socket per read; read1 returns what has arrived, up to this. Reads
stay well under glibc's threshold for giving memory back (128 KiB): with a hundred
streams, 64 KiB reads left tens of megabytes stranded in fragmented heaps."""
MAX_ERROR_BODY = 1024 * 1024


class Body:
    """A response body being streamed: read chunks as they arrive, or stop it."""

    def __init__(
        self, response: requests.Response, sock: Optional[socket.socket], provider: str = ""
    ) -> None:
        self.response = response
        self.provider = provider
        self.status_code = response.status_code
        self.headers = response.headers
        self._raw: urllib3.HTTPResponse = response.raw
        self._sock = sock
        self._poll: Optional[select.poll] = None
        original = self._raw._original_response
        fp = getattr(original, "fp", None)
        reader = getattr(fp, "raw", None)
        self._reader = reader if isinstance(reader, DeadlineReader) else None
        encoding = self.headers.get("content-encoding", "").strip().lower()
        self._read1: Callable[[int], bytes] = self._raw.read1
        if encoding and encoding != "identity":
            # Asked for identity, a proxy or server may compress anyway (RFC 9110 lets
            # it): urllib3 decodes incrementally, each read giving what can be decoded.
            if encoding not in urllib3.HTTPResponse.CONTENT_DECODERS:
                error = ProtocolError(
                    f"{provider or 'the server'} sent a body with Content-Encoding "
                    f"{encoding!r}, which streamchat cannot decode (it asked for identity); "
                    "a proxy on the way may be re-encoding the stream: configure it to pass "
                    "text/event-stream through unchanged",
                    provider=provider or None,
                )
                error.retryable = False  # the same proxy would answer the same way
                raise error
            self._read1 = functools.partial(self._raw.read1, decode_content=True)
        self._read_more = self._read1
        self._original: Optional[http.client.HTTPResponse] = None
        if sock is not None and self._raw.chunked and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock, select.POLLIN)
        if self._poll is not None and original is not None and not encoding:
            # Chunks already in hand are read from http.client directly: urllib3's read1
            # adds about 2 us of bookkeeping per chunk, more than the event's own parsing,
            # and has nothing to decode in an identity body.
            self._read_more = original.read1
            if isinstance(fp, io.BufferedReader):
                self._original = original

    def read(self, timeout: Optional[float] = None) -> bytes:
        """The next bytes that arrived (b"" at the end of the body).

        read1 returns as soon as anything arrived, whether the body is chunked, has a
        Content-Length or ends with the connection; `iter_content` would wait for a whole
        buffer or read byte by byte.
        """
        reader = self._reader
        if reader is not None:
            reader.deadline = None if timeout is None else time.monotonic() + timeout
        try:
            data = self._read1(READ_SIZE)
            if data and self._poll is not None:
                data = self._gather(data, self._poll)
            return data
        except (urllib3.exceptions.ReadTimeoutError, socket.timeout) as exc:
            raise ReadTimedOut() from exc
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise ConnectionFailedError(
                f"the connection to {self.provider} broke while reading the answer: {exc}",
                provider=self.provider,
            ) from exc

    def _gather(self, data: bytes, poll: select.poll) -> bytes:
        """Add the HTTP chunks that have already arrived to the one read1 returned.

        read1 stops at the end of each chunk and servers flush one chunk per event, so
        without this a fast stream costs a read, a batch on the queue and a thread switch
        per event. A chunk is taken when it is whole in http.client's buffer (seen with
        one peek per buffer, no system call), or else when the kernel holds more (a poll,
        after which the read waits at most for the rest of a chunk the server is in the
        middle of sending). System calls stay off the per-chunk path because each one
        hands the GIL to another thread: with hundreds of streams that costs more than
        the parsing. Chunks are gathered up to READ_SIZE bytes, the last one taken whole
        (what of it has arrived): a read that ends where an event does spares the framer
        joining a cut event onto the next read.
        """
        parts = [data]
        size = len(data)
        original = self._original
        # http.client's buffer as last peeked, and how far it is read. It often holds
        # every chunk that arrived with the one read1 returned (a burst, a short answer),
        # which the kernel, and so the poll below, knows nothing of any more.
        window, offset = self._buffered(), 0
        try:
            while size < READ_SIZE:
                header = (
                    None if original is None
                    else _chunk_header(window, offset, original.chunk_left)
                )
                if header is None:
                    if not poll.poll(0):
                        break
                    if original is not None and original.fp is not None:
                        window, offset = original.fp.peek(), 0  # cannot block: data waits
                        header = _chunk_header(window, 0, original.chunk_left)
                more = self._read_more(READ_SIZE)
                if not more:
                    break
                parts.append(more)
                size += len(more)
                if header is None:
                    window, offset = b"", 0  # read past what was peeked
                else:
                    offset += header + len(more)
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError):
            pass  # what arrived is delivered first; the next read meets the failure
        return b"".join(parts) if len(parts) > 1 else data

    def _buffered(self) -> bytes:
        """What http.client has buffered and not yet read, without touching the socket."""
        original, reader = self._original, self._reader
        if original is None or original.fp is None or reader is None:
            return b""
        reader.hold = True
        try:
            return original.fp.peek()
        finally:
            reader.hold = False

    def read_all(self, timeout: Optional[float], limit: int = MAX_ERROR_BODY) -> bytes:
        """The rest of the body, up to `limit` bytes (for error and non-streamed bodies).

        `timeout` bounds the whole read, not each piece: a server trickling a byte at a
        time would otherwise hold the stream far past its deadline.
        """
        parts = []
        size = 0
        end = None if timeout is None else time.monotonic() + timeout
        while size < limit:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise ReadTimedOut()
            data = self.read(left)
            if not data:
                break
            parts.append(data)
            size += len(data)
        return b"".join(parts)

    @staticmethod
    def is_whole_json(headers: Mapping[str, str]) -> bool:
        """True when the answer is one JSON document, whatever was asked for (see
        `headers.is_whole_json`); static, so that a replayed body's headers are read too."""
        return is_whole_json(headers)

    def request_id(self) -> Optional[str]:
        return request_id_of(self.headers)

    def rate_limit(self) -> Optional[RateLimit]:
        return rate_limit_of(self.headers)

    def finish(self, drain_timeout: float = 0.05) -> None:
        """After the terminal event: keep the connection if the body ends at once.

        Servers do not all end the body at `[DONE]` or `message_stop`; waiting briefly for
        the end keeps keep-alive reuse in the usual case, and a server that holds the body
        open costs one dropped connection instead of a hung stream.
        """
        try:
            self.read_all(drain_timeout)
        except (ReadTimedOut, StreamChatError):
            self.abort()
        except AttributeError:
            # urllib3 handing the connection back to a pool that Client.close() closed
            # meanwhile (it reads the closed pool's queue); the connection is dropped.
            pass
        self.close()

    def abort(self) -> None:
        """Stop the read in progress, from any thread, and drop the connection; unless
        the body was read to its end, when urllib3 has handed the connection back to the
        pool and it may already serve another stream."""
        if self._raw.connection is not None:
            shutdown_socket(self._sock)

    def close(self) -> None:
        try:
            self.response.close()
        except Exception:
            pass


def _chunk_header(window: bytes, offset: int, chunk_left: Optional[int]) -> Optional[int]:
    """How many bytes of chunk framing http.client reads before the next data, when that
    framing and some data are all in `window[offset:]`; None when they are not there, or
    for the last chunk, whose trailer is left to urllib3 so that it releases the
    connection."""
    if offset >= len(window):
        return None
    if chunk_left:
        return 0
    # At the end of a chunk its closing CRLF comes first, then the next size line.
    start = offset if chunk_left is None else offset + 2
    end = window.find(b"\n", start)
    if end == -1 or end + 1 >= len(window):
        return None
    try:
        if int(window[start:end].split(b";", 1)[0], 16) == 0:
            return None
    except ValueError:
        return None
    return end + 1 - offset
