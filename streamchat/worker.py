"""The threaded shell: one worker thread per stream feeding a bounded queue, and the
`Stream` iterator the caller consumes. The only module that imports threading and queue.

How a stream stops, whatever it is doing:

* The stop Event is the caller's own `cancel=` Event when given, so `stop.set()` from any
  thread, `interrupt()`, `pause()`, `close()`, leaving a `with` block, breaking out of the
  loop and garbage collection all converge on one flag.
* A worker blocked in a socket read cannot see a flag, so `abort()` also shuts the socket
  down (see transport.py); the consumer notices a caller's Event within `POLL_SECONDS`
  while waiting on the queue and aborts on its behalf.
* Every other blocking wait in the worker (queue put, backoff sleep) is bounded and
  re-checks the flag, and the worker never holds a reference to the Stream, so a
  forgotten Stream is collected and its `__del__` stops the worker.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Deque, Iterator, List, Optional, Sequence, Tuple, Type

from .accumulate import ResponseSnapshot
from .errors import (
    ConfigurationError,
    ProtocolError,
    StreamChatError,
    StreamTimeoutError,
)
from .framing import frames_for
from .options import RetryPolicy, Timeouts
from .redaction import redact, secrets_of
from .transport import Body, ReadTimedOut, shutdown_socket, wait_readable
from .types import (
    CONTENT_EVENT_TYPES,
    CancelledEvent,
    ChatRequest,
    ChatResponse,
    DoneEvent,
    Event,
    FallbackEvent,
    PausedEvent,
    RetryEvent,
    StartEvent,
    StatusEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallDeltaEvent,
    ToolCallStartEvent,
    Usage,
    UsageEvent,
)
from .wire.common import Endpoint, WireFormat

POLL_SECONDS = 0.05
"""How often a waiting consumer looks at a caller's cancel Event."""
SAFETY_SECONDS = 1.0
"""How often a consumer with nothing to watch checks that its worker is still alive.
Waking only this rarely matters with hundreds of idle streams: every wake-up competes
for the GIL with the threads that have work."""
EVENTS_IN_FLIGHT = 128
"""Events posted but not yet taken before the worker waits for the consumer: enough that
the worker rarely waits, few enough that a hundred streams do not hold their whole
answers in memory as event objects (a few hundred bytes each)."""


def backoff_wait(stop: threading.Event, delay: float) -> bool:
    """Sleep before a retry; True when interrupted. Tests replace this to skip waiting."""
    return stop.wait(delay)


@dataclass
class Target:
    """One provider to try: where to send, how to shape and read, and how patiently."""

    provider: str
    model: str
    wire: WireFormat
    endpoint: Optional[Endpoint]
    request: ChatRequest
    transport: Any
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    configuration_error: Optional[ConfigurationError] = None
    """Set when this provider cannot be used (no key): skipped in favour of a fallback."""
    price: Optional[Callable[[Usage], Usage]] = None
    max_frame_bytes: Optional[int] = None


class _EventQueue(queue.Queue[Any]):
    """The worker's queue of batches, bounded by the events they hold rather than their
    number, since one read can hold one event or hundreds. A batch is taken whenever the
    queue is below its bound, so no batch ever waits for room that cannot come."""

    def _init(self, maxsize: int) -> None:
        self.queue: Deque[Any] = deque()
        self.weight = 0

    def _qsize(self) -> int:
        return self.weight

    def _put(self, item: Any) -> None:
        self.queue.append(item)
        self.weight += len(item) if item.__class__ is list else 1

    def _get(self) -> Any:
        item = self.queue.popleft()
        self.weight -= len(item) if item.__class__ is list else 1
        return item


class _Interrupted(Exception):
    """Raised inside the worker to unwind once the stop flag is seen."""


class _End:
    __slots__ = ("error",)

    def __init__(self, error: Optional[StreamChatError]) -> None:
        self.error = error


_WAKE = object()

_PLAIN_CONTENT = frozenset({TextEvent, ThinkingEvent, ToolCallStartEvent, ToolCallDeltaEvent})
"""Content events that need nothing from the worker but a place in the batch."""


class _Deadlines:
    """The next deadline for a read, counted on content rather than bytes."""

    def __init__(self, timeouts: Timeouts, started: float) -> None:
        self.timeouts = timeouts
        self.total_end = started + timeouts.total if timeouts.total else None
        self.first_end: Optional[float] = None
        self.last_content: Optional[float] = None

    def attempt_started(self) -> None:
        ft = self.timeouts.first_token
        self.first_end = time.monotonic() + ft if ft else None
        self.last_content = None

    def next(self) -> Tuple[Optional[float], str]:
        """Seconds until the nearest deadline (None: no deadline) and its phase."""
        if self.last_content is None:
            end, phase = self.first_end, "first_token"
        elif self.timeouts.idle:
            end, phase = self.last_content + self.timeouts.idle, "idle"
        else:
            end, phase = None, "idle"
        if self.total_end is not None and (end is None or self.total_end <= end):
            end, phase = self.total_end, "total"
        if end is None:
            return None, phase
        return end - time.monotonic(), phase

    def error(self, phase: str, provider: str) -> StreamTimeoutError:
        limits = {
            "first_token": (self.timeouts.first_token, "before the first output"),
            "idle": (self.timeouts.idle, "between two pieces of output"),
            "total": (self.timeouts.total, "for the whole stream"),
        }
        seconds, what = limits.get(phase, (None, ""))
        return StreamTimeoutError(
            f"{provider} was silent for more than {seconds} s {what} ({phase} deadline); "
            f"raise Timeouts({phase}=...) if the model needs longer",
            phase=phase,
            provider=provider,
        )


class Worker:
    """Runs the attempts of one stream in its own thread and posts batches of events."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        stop: threading.Event,
        fallback_on: Tuple[Type[StreamChatError], ...] = (),
        record_to: Optional[IO[bytes]] = None,
        own_record: bool = False,
        caller_event: bool = False,
    ) -> None:
        self.targets = list(targets)
        self.stop = stop
        self.caller_event = caller_event
        """True when `stop` is the caller's own Event, which nothing else will announce."""
        self.queue = _EventQueue(EVENTS_IN_FLIGHT)
        self.kind = "cancelled"
        self._fallback_on = fallback_on
        self._record = record_to
        self._own_record = own_record
        self._sock: Optional[socket.socket] = None
        self._body: Optional[Body] = None
        self._batch: List[Event] = []
        self._content = False
        """Content was seen and counted: a failure now is never retried."""
        self._fresh = False
        """Content was seen since the deadline clock last looked."""
        self._done = False
        self._started = time.monotonic()
        self._secrets = secrets_of(self.targets)
        first = self.targets[0]
        self.thread = threading.Thread(
            target=self._run, name=f"streamchat-{first.provider}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def abort(self, kind: str = "cancelled") -> None:
        """Stop from any thread: set the flag, wake the socket and the consumer."""
        if not self.stop.is_set():
            self.kind = kind
            self.stop.set()
        shutdown_socket(self._sock)
        try:
            self.queue.put_nowait(_WAKE)
        except queue.Full:
            pass  # the consumer has items to read and will see the flag between them

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            try:
                self._run_targets()
            except (_Interrupted, StreamChatError):
                raise
            except Exception as exc:  # nothing may leave the thread untyped
                provider = self.targets[0].provider
                raise ProtocolError(
                    f"{provider} sent something streamchat could not process: {exc!r}",
                    provider=provider,
                ) from exc
            self._flush()
            self._end_recording()
            self._put(_End(None))
        except _Interrupted:
            return
        except StreamChatError as exc:
            redact(exc, self._secrets)
            self._flush_quietly()
            self._end_recording()
            self._put_final(_End(exc))
        finally:
            self._close_body()
            self._end_recording()

    def _end_recording(self) -> None:
        """Flush (and close, if we opened it) the recording before the consumer hears of
        the end, so a caller who reads the file right after the stream finds it whole."""
        record, self._record = self._record, None
        if record is not None:
            record.flush()
            if self._own_record:
                record.close()

    def _restart_recording(self) -> None:
        """A retried attempt replaces the failed one's bytes: a recording is one body."""
        if self._record is not None and self._record.seekable():
            self._record.seek(0)
            self._record.truncate()

    def _run_targets(self) -> None:
        deadlines = _Deadlines(self.targets[0].timeouts, self._started)
        for position, target in enumerate(self.targets):
            try:
                self._run_target(target, deadlines)
                return
            except StreamChatError as exc:
                if exc.provider is None:
                    exc.provider = target.provider
                nxt = self.targets[position + 1] if position + 1 < len(self.targets) else None
                if nxt is None or self._saw_content() or not self._may_fall_back(target, exc):
                    raise
                self._emit([FallbackEvent(provider=nxt.provider, model=nxt.model, error=str(exc))])

    def _may_fall_back(self, target: Target, exc: StreamChatError) -> bool:
        if target.configuration_error is not None:
            return True
        return exc.retryable or isinstance(exc, self._fallback_on)

    def _run_target(self, target: Target, deadlines: _Deadlines) -> None:
        if target.configuration_error is not None:
            raise target.configuration_error
        policy = target.retry
        deadlines.timeouts = target.timeouts
        attempt = 1
        while True:
            self._emit([StartEvent(provider=target.provider, model=target.model, attempt=attempt)])
            try:
                self._attempt(target, deadlines)
                return
            except StreamChatError as exc:
                redact(exc, self._secrets)
                self._close_body()
                if self.stop.is_set():
                    raise _Interrupted() from exc
                if self._saw_content() or not exc.retryable or attempt >= policy.max_attempts:
                    raise
                delay = policy.delay(attempt, exc)
                total_left = deadlines.next()[0] if deadlines.total_end else None
                if total_left is not None and delay >= total_left:
                    raise
                self._emit([
                    RetryEvent(
                        attempt=attempt,
                        max_attempts=policy.max_attempts,
                        delay=delay,
                        error=str(exc),
                    )
                ])
                self._flush()
                if backoff_wait(self.stop, delay):
                    raise _Interrupted() from exc
                attempt += 1

    def _attempt(self, target: Target, deadlines: _Deadlines) -> None:
        deadlines.attempt_started()
        self._restart_recording()
        assert target.endpoint is not None
        http = target.wire.build_request(target.request, target.endpoint)
        self._flush()
        try:
            body = target.transport.open(
                http,
                provider=target.provider,
                connect_timeout=target.timeouts.connect,
                watcher=lambda sock: self._wait_for_response(sock, target, deadlines),
            )
        except ReadTimedOut as exc:
            if self.stop.is_set():
                raise _Interrupted() from exc
            raise deadlines.error(deadlines.next()[1], target.provider) from exc
        self._body = body
        if self.stop.is_set():
            raise _Interrupted()
        left = deadlines.next()[0]
        idle = target.timeouts.idle
        # An error body gets the idle allowance, but never past the stream's deadline.
        budget = idle if left is None else left if idle is None else min(idle, left)
        target.transport.raise_for_status(body, http, target.provider, budget)
        if target.request.stream:
            self._read_stream(target, body, deadlines)
        else:
            self._read_whole(target, body, deadlines)
        self._done = True

    def _wait_for_response(
        self, sock: socket.socket, target: Target, deadlines: _Deadlines
    ) -> Optional[float]:
        """Wait for the first bytes with select, which an interrupt or a deadline can end,
        emitting `status` notices while a slow server (a model loading) says nothing.
        Returns the time the rest of the status line and headers may take."""
        self._sock = sock
        if self.stop.is_set():
            shutdown_socket(sock)
            raise _Interrupted()
        interval = target.timeouts.status_interval
        waited = 0.0
        while True:
            left, phase = deadlines.next()
            wait = interval if left is None else max(0.0, min(interval, left))
            if wait_readable(sock, wait):
                if self.stop.is_set():
                    raise _Interrupted()
                return deadlines.next()[0]
            if left is not None and left <= wait:
                raise deadlines.error(phase, target.provider)
            waited += wait
            notice = StatusEvent(
                message=f"waiting for {target.provider} to start answering "
                f"({waited:.0f} s so far; a model may be loading)"
            )
            try:
                # Notices are transient: a slow consumer never holds up the worker for one.
                self.queue.put_nowait([notice])
            except queue.Full:
                pass

    def _saw_content(self) -> bool:
        return self._content or self._fresh

    def _chunks(self, target: Target, body: Body, deadlines: _Deadlines) -> Iterator[bytes]:
        while True:
            if self._fresh:
                # Everything since the last read arrived together: one clock reading
                # serves it all.
                self._fresh = False
                self._content = True
                deadlines.last_content = time.monotonic()
            self._flush()
            left, phase = deadlines.next()
            if left is not None and left <= 0:
                raise deadlines.error(phase, target.provider)
            try:
                data = body.read(left)
            except ReadTimedOut as exc:
                if self.stop.is_set():
                    raise _Interrupted() from exc
                raise deadlines.error(phase, target.provider) from exc
            except StreamChatError as exc:
                if self.stop.is_set():
                    raise _Interrupted() from exc
                raise
            if self.stop.is_set():
                raise _Interrupted()
            if not data:
                return
            if self._record is not None:
                self._record.write(data)
            yield data

    def _read_stream(self, target: Target, body: Body, deadlines: _Deadlines) -> None:
        decoder = target.wire.new_decoder(target.provider)
        chunks = self._chunks(target, body, deadlines)
        frames = frames_for(target.wire.FRAMING, chunks, max_frame_bytes=target.max_frame_bytes)
        feed = decoder.feed
        for frame in frames:
            events = feed(frame)
            if not events:
                continue
            if len(events) == 1 and events[0].__class__ in _PLAIN_CONTENT:
                # Nearly every frame: one delta, which needs no pricing and ends nothing.
                self._batch.append(events[0])
                self._fresh = True
            elif self._emit(events, target):
                return
        if self.stop.is_set():
            raise _Interrupted()
        self._emit(decoder.close(), target)

    def _read_whole(self, target: Target, body: Body, deadlines: _Deadlines) -> None:
        left, phase = deadlines.next()
        try:
            raw = body.read_all(left, limit=64 * 1024 * 1024)
        except ReadTimedOut as exc:
            raise deadlines.error(phase, target.provider) from exc
        if self._record is not None:
            self._record.write(raw)
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(
                f"{target.provider} sent a response that is not valid JSON",
                provider=target.provider,
            ) from exc
        self._emit(target.wire.decode_body(payload, target.provider), target)

    # -- posting events -------------------------------------------------------------

    def _emit(self, events: List[Event], target: Optional[Target] = None) -> bool:
        """Add events to the batch; True once the terminal `done` event is among them."""
        done = False
        for position, event in enumerate(events):
            kind = event.type
            if kind in CONTENT_EVENT_TYPES:
                self._fresh = True
            elif isinstance(event, (UsageEvent, DoneEvent)):
                done = done or kind == "done"
                price = target.price if target is not None else None
                if price is not None and event.usage is not None:
                    events[position] = event.model_copy(update={"usage": price(event.usage)})
        self._batch.extend(events)
        return done

    def _flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._put(batch)

    def _flush_quietly(self) -> None:
        try:
            self._flush()
        except _Interrupted:
            pass

    def _put(self, item: Any) -> None:
        """Put, but never block past an interrupt (the consumer may have gone)."""
        while True:
            if self.stop.is_set():
                raise _Interrupted()
            try:
                self.queue.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _put_final(self, item: Any) -> None:
        try:
            self._put(item)
        except _Interrupted:
            pass

    def _close_body(self) -> None:
        """Release the connection: kept for reuse after a clean end, dropped otherwise."""
        body, self._body = self._body, None
        if body is None:
            return
        if self._done and not self.stop.is_set():
            body.finish()
        else:
            body.abort()
            body.close()


class Stream:
    """An iterator of events from one streamed answer; see DESIGN.md for the contract.

    One thread consumes it; `interrupt()`, `pause()` and `close()` are safe from any thread.
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
            if item is _WAKE:
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
    def response(self) -> Optional[ChatResponse]:
        """The ChatResponse once the stream has ended normally or was interrupted."""
        return self._response

    @property
    def error(self) -> Optional[StreamChatError]:
        """The failure that ended the stream, if one did."""
        return self._error

    def partial(self) -> ChatResponse:
        """What arrived so far, folded into a response, at any moment."""
        return self._response or self._fold()

    def final(self) -> ChatResponse:
        """Drain the stream if needed and return its ChatResponse (or raise its error)."""
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

    def __enter__(self) -> Stream:
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


__all__ = ["Stream", "Target", "start_stream"]
