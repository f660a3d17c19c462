"""Server-sent events for web views: a Stream as `text/event-stream` bytes.

Flask and Django hand the body iterator to the WSGI server, which calls its `close()`
when the response is over, including when the browser went away half way. That call is
the only notice a view gets of a departed reader, so the body turns it into an interrupt:
the worker stops and the provider's connection is dropped, instead of an answer being
generated and paid for with nobody reading it.

A server only learns that the browser has left when a write fails, and while the provider
is silent (a reasoning model thinking, a stall) there is nothing to write. So the body
sends an SSE comment (`: keepalive`, which browsers ignore) after each `keepalive`
seconds without an event: the write after the browser left fails, the server closes the
body, and the upstream stops. The same comments keep proxies from cutting a connection
that looks idle.

The body is a class rather than a generator because a generator closed before its first
step never runs its `finally`, and a server may close a body it never started to send.

Imports only the types layer and the standard library, so it sits under any framework.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, Optional, Protocol

from .errors import ConfigurationError
from .types import Event

SSE_MIMETYPE = "text/event-stream"
SSE_HEADERS: Mapping[str, str] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Headers that keep proxies and caches from holding the events back (nginx buffers
responses unless told `X-Accel-Buffering: no`)."""


class EventSource(Protocol):
    """What `sse_body` needs of a stream (a `streamchat.Stream` has it)."""

    def __iter__(self) -> Iterator[Event]: ...

    def with_keepalive(self, interval: float) -> Iterator[Optional[Event]]: ...

    def interrupt(self) -> None: ...

    def close(self) -> None: ...


KEEPALIVE_FRAME = b": keepalive\n\n"
"""An SSE comment: EventSource ignores it, but writing it tells the server whether the
browser is still there."""


def sse_frame(event: str, data: Any) -> bytes:
    """One named SSE event with a JSON payload on a single `data:` line."""
    # json.dumps escapes CR and LF inside strings, so the payload can never end the frame.
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


class SSEBody:
    """The SSE bytes of a stream's events, for a streaming HTTP response.

    Each event becomes `event: <type>` with its fields as JSON; the body ends after the
    `done` or `cancelled` event, or with an `error` event whose data is the error's class
    name and message (never a traceback). `close()` before the end interrupts the stream.
    """

    def __init__(self, stream: EventSource, keepalive: Optional[float] = 15.0) -> None:
        if keepalive is not None and keepalive <= 0:
            raise ConfigurationError(
                f"keepalive must be a positive number of seconds or None, not {keepalive!r}"
            )
        self._stream = stream
        self._keepalive = keepalive
        self._events: Optional[Iterator[Optional[Event]]] = None
        self._ended = False

    def __iter__(self) -> SSEBody:
        return self

    def __next__(self) -> bytes:
        if self._ended:
            raise StopIteration
        if self._events is None:
            stream, keepalive = self._stream, self._keepalive
            self._events = iter(stream) if keepalive is None else stream.with_keepalive(keepalive)
        try:
            event = next(self._events)
        except StopIteration:
            self._ended = True
            raise
        except Exception as exc:  # the browser gets a message, never a traceback
            self._ended = True
            return sse_frame("error", {"type": type(exc).__name__, "message": str(exc)})
        if event is None:
            return KEEPALIVE_FRAME
        return sse_frame(event.type, event.model_dump(mode="json"))

    def close(self) -> None:
        """Called by the WSGI server when the response is over, finished or not."""
        # The suspended iteration is the stream's consumer: closing it (in the thread that
        # iterated) stops the stream as its consumer would and frees it for final().
        events, self._events = self._events, None
        close_events = getattr(events, "close", None)
        if close_events is not None:
            close_events()
        if not self._ended:
            self._ended = True
            self._stream.interrupt()
        self._stream.close()


def sse_body(stream: EventSource, keepalive: Optional[float] = 15.0) -> Iterator[bytes]:
    """The stream's events as `text/event-stream` bytes, with an SSE comment after each
    `keepalive` seconds of silence (None: never); see `SSEBody`."""
    return SSEBody(stream, keepalive)


__all__ = [
    "KEEPALIVE_FRAME",
    "SSE_HEADERS",
    "SSE_MIMETYPE",
    "EventSource",
    "SSEBody",
    "sse_body",
    "sse_frame",
]
