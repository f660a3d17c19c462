"""The consumer side of a stream: `Stream`, the iterator the caller holds, fed by a
`streamchat.worker.Worker` through its queue. It folds each event into the response as it
hands it over, and owns every way of stopping: interrupt, pause, close, a `with` block,
garbage collection.
"""

from __future__ import annotations

import queue
import threading
from typing import IO, Callable, Generic, Iterator, Optional, Sequence, Tuple, Type

from .accumulate import ResponseSnapshot
from .errors import ProtocolError, StreamChatError
from .target import Target
from .types import CancelledEvent, ChatResponse, Event, PausedEvent
from .types.response import Parsed
from .worker import POLL_SECONDS, WAKE, Worker

SAFETY_SECONDS = 1.0
"""How often a consumer with nothing to watch checks that its worker is still alive.
Waking only this rarely matters with hundreds of idle streams: every wake-up competes
for the GIL with the threads that have work."""


class Stream(Generic[Parsed]):
    """An iterator of events from one streamed answer.

    One thread consumes it; `interrupt()`, `pause()` and `close()` are safe from any thread.
    Generic only for type checkers: a stream started with `response_format=City` is a
    `Stream[City]`, whose `final().parsed` is typed as a `City`.
    """

    def __init__(
        self, worker: Worker, *, on_end: Optional[Callable[[Stream], None]] = None
    ) -> None:
        self._worker = worker
        self._snapshot = ResponseSnapshot()
        """Every event handed over so far, folded: what `partial()` and errors report."""
        self._response: Optional[ChatResponse] = None
        self._error: Optional[StreamChatError] = None
        self._finished = False
        self._on_end = on_end
        self._consumer: Optional[threading.Thread] = None
        self._events = self._generate()
        worker.start()

    # -- iteration --------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        # The generator itself, so that a for-loop does not pay a __next__ call per event.
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def _generate(self) -> Iterator[Event]:
        worker = self._worker
        stopped = worker.stop.is_set
        get = worker.queue.get
        add = self._snapshot.add
        Empty = queue.Empty
        # interrupt(), pause(), close() and garbage collection post a wake-up, so only a
        # caller's own Event, set behind our back, needs watching closely.
        wait = POLL_SECONDS if worker.caller_event else SAFETY_SECONDS
        self._consumer = threading.current_thread()
        while not self._finished:
            if stopped():
                yield self._interrupted()
                return
            try:
                item = get(timeout=wait)
            except Empty:
                # A worker that saw the stop ends without a word: the check at the top of
                # the loop reports that, not this one.
                if not stopped() and not worker.thread.is_alive() and worker.queue.empty():
                    self._end(ProtocolError("the stream's worker ended without a result"))
                continue
            if item.__class__ is list:
                for event in item:
                    if stopped():
                        break
                    add(event)
                    yield event
                continue
            if item is WAKE:
                continue
            self._end(item.error)
            return

    def _interrupted(self) -> Event:
        self._worker.abort()
        event: Event = PausedEvent() if self._worker.kind == "paused" else CancelledEvent()
        self._snapshot.add(event)
        self._end(None)
        return event

    def _end(self, error: Optional[StreamChatError]) -> None:
        self._finished = True
        snapshot = self._fold()
        if error is not None:
            error.partial = snapshot
            self._error = error
        else:
            self._response = snapshot
        if self._on_end is not None:
            try:
                self._on_end(self)
            except StreamChatError as exc:
                # A callback's verdict (structured output that does not validate) ends
                # the stream as a failure, with the response as its partial.
                exc.partial = exc.partial or snapshot
                self._error, error = exc, exc
        if error is not None:
            raise error

    def _fold(self) -> ChatResponse:
        return self._snapshot.to_response()

    # -- results ------------------------------------------------------------------

    @property
    def response(self) -> Optional[ChatResponse[Parsed]]:
        """The ChatResponse once the stream has ended normally or was interrupted; None
        before that and after a failure. Typed code that wants no None: `final()`."""
        return self._response

    @property
    def error(self) -> Optional[StreamChatError]:
        """The failure that ended the stream, if one did."""
        return self._error

    def partial(self) -> ChatResponse[Parsed]:
        """What arrived so far, folded into a response, at any moment."""
        return self._response or self._fold()

    def final(self) -> ChatResponse[Parsed]:
        """Drain the stream if needed and return its ChatResponse (or raise its error).

        After the loop has ended (even by an interrupt) this returns at once: it is the
        way to get the response without an Optional in typed code."""
        for _ in self:
            pass
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the visible text deltas."""
        return (event.text for event in self if event.type == "text")

    def to_sse(self) -> Iterator[bytes]:
        """The events as `text/event-stream` bytes for a Flask or Django streaming
        response; closing the body early interrupts the stream (see streamchat.web)."""
        from .web import sse_body

        return sse_body(self)

    # -- stopping -------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the stream from any thread; iteration ends with a `cancelled` event."""
        self._worker.abort("cancelled")

    def pause(self) -> None:
        """Stop the stream from any thread; iteration ends with a `paused` event."""
        self._worker.abort("paused")

    def close(self) -> None:
        """Stop the worker and release the connection; safe from any thread, and twice.

        From the consuming thread (leaving a `with` block, a break) the stream also ends
        as cancelled at once, so `response` holds what was shown; from another thread
        the consumer sees the stop on its next step.
        """
        if self._finished:
            return
        self._worker.abort("cancelled")
        if self._consumer in (None, threading.current_thread()):
            self._snapshot.add(CancelledEvent())
            self._end(None)
        worker_thread = self._worker.thread
        if worker_thread.is_alive() and worker_thread is not threading.current_thread():
            worker_thread.join(timeout=0.1)

    def __enter__(self) -> Stream[Parsed]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        worker = getattr(self, "_worker", None)
        if worker is not None and not getattr(self, "_finished", True):
            worker.abort("cancelled")

    def __repr__(self) -> str:
        target = self._worker.targets[0]
        state = "finished" if self._finished else "open"
        return f"<Stream {target.provider}:{target.model} {state}>"


def start_stream(
    targets: Sequence[Target],
    *,
    cancel: Optional[threading.Event] = None,
    fallback_on: Tuple[Type[StreamChatError], ...] = (),
    record_to: Optional[IO[bytes]] = None,
    own_record: bool = False,
    on_end: Optional[Callable[[Stream], None]] = None,
) -> Stream:
    """Start a worker for the targets (the first, then fallbacks) and return its Stream.

    `own_record`: the worker closes `record_to` when it is done with it.
    """
    worker = Worker(
        targets,
        stop=cancel if cancel is not None else threading.Event(),
        fallback_on=fallback_on,
        record_to=record_to,
        own_record=own_record,
        caller_event=cancel is not None,
    )
    return Stream(worker, on_end=on_end)


__all__ = ["Stream", "start_stream"]
