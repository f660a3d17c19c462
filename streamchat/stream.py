"""The consumer side of a stream: `Stream`, the iterator the caller holds, fed by a
`streamchat.worker.Worker` through its queue. It folds each event into the response as it
hands it over, and owns every way of stopping: interrupt, pause, close, a `with` block,
an abandoned loop, Ctrl-C, garbage collection.

Freed by reference counting alone: a Stream never refers to the iterators it hands out,
while each iterator refers to its Stream. So a loop left by `break` or by an exception
drops the last reference to its iterator, whose `GeneratorExit` ends the stream at once,
and a Stream nobody refers to runs `__del__` at once; neither waits for the cycle
collector, which a notebook (whose tracebacks keep frames alive) may never run.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import (
    IO,
    Callable,
    Deque,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    cast,
)

from .accumulate import ResponseSnapshot
from .cancelling import watch
from .errors import StreamChatError, StreamInUseError
from .observe import Observer
from .target import Target
from .types import CancelledEvent, ChatResponse, Event, PausedEvent
from .types.response import Parsed
from .worker import WAKE, Worker

POLL_SECONDS = 0.01
"""How often a waiting consumer looks at a cancel Event that `cancelling.watch` cannot
hear (not a threading.Event). A threading.Event is heard at once and never polled."""


class Stream(Generic[Parsed]):
    """An iterator of events from one streamed answer.

    One consumer iterates it (a second, from another thread, gets StreamInUseError);
    `interrupt()`, `pause()` and `close()` are safe from any thread.
    Generic only for type checkers: a stream started with `response_format=City` is a
    `Stream[City]`, whose `final().parsed` is typed as a `City`.
    """

    def __init__(
        self,
        worker: Worker,
        *,
        on_end: Optional[Callable[[Stream], None]] = None,
        cancel: Optional[threading.Event] = None,
    ) -> None:
        self._worker = worker
        self._snapshot = ResponseSnapshot()
        """Every event handed over so far, folded: what `partial()` and errors report."""
        self._response: Optional[ChatResponse] = None
        self._error: Optional[StreamChatError] = None
        self._finished = False
        self._on_end = on_end
        self._pending: Deque[Event] = deque()
        """Taken from the queue by `next()` but not handed over yet."""
        self._farewell: Optional[Event] = None
        """The `cancelled` or `paused` event that ended the stream, until handed over."""
        self._lock = threading.Lock()
        self._ending = threading.RLock()
        """Held while the stream ends: a second end, or final() in another thread, waits
        for the first to be whole (an on_end callback may read the stream: reentrant)."""
        self._owner: Optional[object] = None
        """The iteration in progress (a token per iterator or `next()` call)."""
        self._owner_thread = 0
        self._unwatch = None if cancel is None else watch(cancel, worker.abort)
        self._polled = cancel if self._unwatch is None else None
        """A cancel Event that cannot be heard, so it is polled while waiting."""
        worker.start()

    # -- iteration --------------------------------------------------------------------

    def __iter__(self) -> Iterator[Event]:
        # A generator, so that a for-loop pays no __next__ call per event. Without a
        # keep-alive interval it never yields None.
        return cast(Iterator[Event], self._generate())

    def with_keepalive(self, interval: float) -> Iterator[Optional[Event]]:
        """The events, with None each time `interval` seconds pass without one: the cue
        for a keep-alive, such as the SSE comment with which `to_sse()` finds out that
        the browser has left while the provider is silent."""
        return self._generate(interval)

    def __next__(self) -> Event:
        token = self._claim()
        try:
            if self._worker.stop.is_set():
                self._pending.clear()  # the interrupt wins over events not shown yet
            if not self._pending:
                batch = self._take()
                if batch is None:
                    return self._last_word()
                self._pending.extend(batch)
            event = self._pending.popleft()
            self._snapshot.add(event)
            return event
        except (StopIteration, StreamChatError):
            raise
        except BaseException:
            self._stop_as_consumer()
            raise
        finally:
            self._release(token)

    def _generate(self, keepalive: Optional[float] = None) -> Iterator[Optional[Event]]:
        token = self._claim()
        stopped = self._worker.stop.is_set
        add = self._snapshot.add
        take = self._take
        try:
            while True:
                batch = take(keepalive)
                if batch is None:
                    if self._farewell is not None:
                        yield self._last_word()
                    return
                if not batch:
                    if keepalive is not None:
                        yield None  # `keepalive` seconds without an event
                    continue
                for event in batch:
                    if stopped():
                        break
                    add(event)
                    yield event
        except GeneratorExit:
            # The loop was left (break, an exception in its body) and its iterator
            # dropped: nobody will read on, so the provider must stop generating now.
            self._stop_as_consumer(quietly=True)
            raise
        except StreamChatError:
            raise
        except BaseException:
            # Ctrl-C (or another exception) while waiting: end as interrupted, keeping
            # what was shown, so final() answers and a Chat can go on.
            self._stop_as_consumer()
            raise
        finally:
            self._release(token)

    def _claim(self) -> object:
        """Become the consumer, or refuse a second one from another thread at once
        (before it takes an event the first would then never see)."""
        token = object()
        me = threading.get_ident()
        with self._lock:
            if self._owner is None:
                self._owner = token
            elif self._owner_thread != me:
                raise StreamInUseError(
                    "this Stream is already being iterated in another thread; a Stream "
                    "has one consumer: iterate it in one thread (and pass events on "
                    "through a queue), and stop it from others with interrupt()"
                )
            self._owner_thread = me
        return token

    def _release(self, token: object) -> None:
        with self._lock:
            if self._owner is token:
                self._owner = None

    def _take(self, keepalive: Optional[float] = None) -> Optional[List[Event]]:
        """The next events to hand over; None once the stream has ended (its error is
        raised instead, if it failed); an empty list after `keepalive` seconds without
        any."""
        if self._pending:
            batch = list(self._pending)
            self._pending.clear()
            return batch
        worker = self._worker
        # The worker always posts its end, and interrupts post a wake-up, so an idle
        # stream waits without waking, unless it must poll a cancel Event it cannot hear.
        polled = self._polled
        wait = None if polled is None else POLL_SECONDS
        quiet_until = 0.0
        if keepalive is not None:
            quiet_until = time.monotonic() + keepalive
            wait = keepalive if wait is None else min(wait, keepalive)
        while not self._finished:
            if worker.stop.is_set():
                if self._snapshot.finish_reason is not None:
                    # `done` was handed over: an interrupt after the end changes nothing.
                    self._end(None)
                    return None
                self._interrupted()
                return None
            try:
                item = worker.queue.get(timeout=wait)
            except queue.Empty:
                if polled is not None and polled.is_set():
                    worker.abort()
                elif keepalive is not None and time.monotonic() >= quiet_until:
                    return []
                continue
            if item.__class__ is list:
                return item
            if item is WAKE or worker.stop.is_set():
                # An interrupt wins over the end that raced it (events after it were
                # not handed over): the check at the top reports it.
                continue
            self._end(item.error)
        return None

    def _interrupted(self) -> None:
        # Only abort() sets the flag, and it has shut the socket and woken us already.
        event: Event = PausedEvent() if self._worker.kind == "paused" else CancelledEvent()
        self._snapshot.add(event)
        self._farewell = event
        self._end(None)

    def _last_word(self) -> Event:
        """Hand over the event that ended an interrupted stream, once."""
        event, self._farewell = self._farewell, None
        if event is None:
            raise StopIteration
        return event

    def _stop_as_consumer(self, quietly: bool = False) -> None:
        """End the stream now, as the consumer: what was handed over is kept, and a
        stream whose `done` was handed over stays done."""
        if self._finished:
            return
        self._worker.abort()
        if self._snapshot.finish_reason is None:
            self._snapshot.add(
                PausedEvent() if self._worker.kind == "paused" else CancelledEvent()
            )
        try:
            self._end(None)
        except StreamChatError:
            if not quietly:  # a callback's verdict; kept in `error` either way
                raise

    def _end(self, error: Optional[StreamChatError]) -> None:
        with self._ending:
            if self._finished:
                return  # another thread (a close() from a Stop button) ended it first
            self._finished = True
            if self._unwatch is not None:
                self._unwatch()
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
                    # A callback's verdict (structured output that does not validate)
                    # ends the stream as a failure, with the response as its partial.
                    exc.partial = exc.partial or snapshot
                    self._error, error = exc, exc
        self._report(snapshot, error)  # hooks run with nothing held
        if error is not None:
            raise error

    def _report(self, response: ChatResponse, error: Optional[StreamChatError]) -> None:
        """Tell the observer (logs, hooks, trace) how the stream ended: once, at the end."""
        observer = self._worker.observer
        if observer is not None:
            observer.stream_ended(response, error)

    def _fold(self) -> ChatResponse:
        attempt = self._worker.attempt
        if attempt is not None:
            self._snapshot.request_id = attempt.request_id
            self._snapshot.rate_limit = attempt.rate_limit
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
        with self._ending:  # an end under way in another thread is waited for
            pass
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response

    @property
    def text_stream(self) -> Iterator[str]:
        """Only the visible text deltas."""
        return (event.text for event in self if event.type == "text")

    def to_sse(self, keepalive: Optional[float] = 15.0) -> Iterator[bytes]:
        """The events as `text/event-stream` bytes for a Flask or Django streaming
        response; closing the body early interrupts the stream. While the provider is
        silent an SSE comment goes out every `keepalive` seconds (None: never), so that
        the server notices a browser that has left and proxies keep the connection open
        (see streamchat.web)."""
        from .web import sse_body

        return sse_body(self, keepalive=keepalive)

    def display(self) -> None:
        """Render the answer live as Markdown in a Jupyter cell, reasoning folded away and
        usage at the end; a kernel interrupt stops it and keeps the partial answer (see
        streamchat.notebook). Then `final()` gives the response."""
        from .notebook import display

        display(self)

    # -- stopping -------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the stream from any thread; iteration ends with a `cancelled` event."""
        self._worker.abort("cancelled")

    def pause(self) -> None:
        """Stop the stream from any thread; iteration ends with a `paused` event."""
        self._worker.abort("paused")

    def close(self) -> None:
        """Stop the worker and release the connection; safe from any thread, and twice.

        Unless another thread is iterating (it then sees the stop on its next step), the
        stream ends at once: as cancelled, with what was shown, or as it was if its
        `done` had been handed over.
        """
        if self._finished:
            return
        self._worker.abort("cancelled")
        me = threading.get_ident()
        with self._lock:
            mine = self._owner is None or self._owner_thread == me
        if mine:
            self._stop_as_consumer()
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
            unwatch = getattr(self, "_unwatch", None)
            if unwatch is not None:
                unwatch()
            # Dropped without being drained or closed: still reported once, as cancelled.
            self._snapshot.add(CancelledEvent())
            self._report(self._fold(), None)

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
    observer: Optional[Observer] = None,
) -> Stream:
    """Start a worker for the targets (the first, then fallbacks) and return its Stream.

    `cancel`: the caller's Event, only ever read. `own_record`: the worker closes
    `record_to` when it is done with it.
    """
    worker = Worker(
        targets,
        fallback_on=fallback_on,
        record_to=record_to,
        own_record=own_record,
        observer=observer,
    )
    return Stream(worker, on_end=on_end, cancel=cancel)


__all__ = ["Stream", "start_stream"]
