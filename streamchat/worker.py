"""The producer side of a stream: one worker thread that makes the attempts (retries,
fallbacks), reads and decodes the body, and posts batches of events on a bounded queue.
`streamchat.stream` is the consumer side.

How a worker stops, whatever it is doing:

* Its stop Event is its own. `interrupt()`, `pause()`, `close()`, an abandoned loop and
  garbage collection call `abort()`; so does a caller's `cancel=` Event, heard without
  polling (see `streamchat.cancelling`) and never set by the stream.
* A worker blocked in a socket read cannot see a flag, so `abort()` also shuts the socket
  down (see transport) and posts a wake-up for a consumer blocked on the queue.
* Every other blocking wait in the worker (queue put, backoff sleep) is bounded and
  re-checks the flag, and the worker never holds a reference to the Stream, so a
  forgotten Stream is freed and its `__del__` stops the worker.
* Whatever happens, the thread's last act is to post its end, so a consumer can wait
  without a timeout: an idle stream costs no wake-ups.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections import deque
from typing import IO, Any, Deque, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Type

from .deadlines import Deadlines
from .errors import ProtocolError, StreamChatError, raise_failures
from .framing import frames_for
from .observe import Attempt, Observer
from .recorder import Recorder
from .redaction import redact, secrets_of
from .target import Target
from .transport import Body, ReadTimedOut, fork_generation, shutdown_socket, wait_readable
from .types import (
    CONTENT_EVENT_TYPES,
    DoneEvent,
    Event,
    FallbackEvent,
    RetryEvent,
    StartEvent,
    StatusEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallDeltaEvent,
    ToolCallStartEvent,
    UsageEvent,
)

POLL_SECONDS = 0.05
"""How often a worker waiting for room in the queue looks at its stop flag."""
EVENTS_IN_FLIGHT = 128
"""Events posted but not yet taken before the worker waits for the consumer: enough that
the worker rarely waits, few enough that a hundred streams do not hold their whole
answers in memory as event objects (a few hundred bytes each)."""


def backoff_wait(stop: threading.Event, delay: float) -> bool:
    """Sleep before a retry; True when interrupted. Tests replace this to skip waiting."""
    return stop.wait(delay)


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

    def put_last(self, item: Any) -> None:
        """Post the worker's end past the bound: it must never wait, nor be dropped."""
        with self.not_empty:
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class _Interrupted(Exception):
    """Raised inside the worker to unwind once the stop flag is seen."""


class End(NamedTuple):
    """The worker's last word: the error that ended the stream, or None."""

    error: Optional[StreamChatError]


WAKE = object()
"""Posted by `Worker.abort` so a consumer blocked on the queue looks at the stop flag."""

_PLAIN_CONTENT = frozenset({TextEvent, ThinkingEvent, ToolCallStartEvent, ToolCallDeltaEvent})
"""Content events that need nothing from the worker but a place in the batch."""


class Worker:
    """Runs the attempts of one stream in its own thread and posts batches of events."""

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        fallback_on: Tuple[Type[StreamChatError], ...] = (),
        record_to: Optional[IO[bytes]] = None,
        own_record: bool = False,
        observer: Optional[Observer] = None,
    ) -> None:
        self.targets = list(targets)
        self.stop = threading.Event()
        self.queue = _EventQueue(EVENTS_IN_FLIGHT)
        self.kind = "cancelled"
        self._fallback_on = fallback_on
        self._record = Recorder(record_to, own_record)
        self._sock: Optional[socket.socket] = None
        self._body: Optional[Body] = None
        self._batch: List[Event] = []
        self._content = False
        """Content was seen and counted (or handed over): a failure is never retried."""
        self._fresh = False
        """Content was seen since the deadline clock last looked."""
        self._done = False
        self._started = time.monotonic()
        self._fork = fork_generation()
        self._secrets = secrets_of(self.targets)
        self._tokens: List[Optional[str]] = []
        first = self.targets[0]
        self.observer = observer or Observer(self.targets, secrets=self._secrets, tracing=False)
        self.attempt = Attempt(first.provider, first.model, 0, "")  # the latest one
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
        if self._fork == fork_generation():  # a forked child leaves the parent's socket
            shutdown_socket(self._sock)
        with contextlib.suppress(queue.Full):  # then the consumer sees the flag between items
            self.queue.put_nowait(WAKE)

    # -- the thread ---------------------------------------------------------------

    def _run(self) -> None:
        end = End(ProtocolError("the stream's worker ended without a result"))
        token = self.observer.worker_started()
        try:
            try:
                self._run_targets()
            except (_Interrupted, StreamChatError):
                raise
            except Exception as exc:  # nothing may leave the thread untyped
                provider = self.targets[0].provider
                message = f"{provider} sent something streamchat could not process: {exc!r}"
                raise ProtocolError(message, provider=provider) from exc
            self._flush()
            end = End(None)
        except _Interrupted:
            end = End(None)  # only a wake-up: the consumer reports the interrupt
        except StreamChatError as exc:
            redact(exc, self._secrets)
            with contextlib.suppress(_Interrupted):  # stopped meanwhile: only the end counts
                self._flush()
            end = End(exc)
        finally:
            self._record.end()
            self.queue.put_last(end)
            self._close_body()
            self.observer.worker_finished(token)

    def _run_targets(self) -> None:
        deadlines = Deadlines(self.targets[0].timeouts, self._started)
        failures: List[StreamChatError] = []
        for position, target in enumerate(self.targets):
            try:
                self._run_target(target, deadlines)
                return
            except StreamChatError as exc:
                exc.provider = exc.provider or target.provider
                failures.append(exc)
                nxt = self.targets[position + 1] if position + 1 < len(self.targets) else None
                if nxt is None or self._saw_content() or not self._may_fall_back(target, exc):
                    raise_failures(failures)
                event = FallbackEvent(provider=nxt.provider, model=nxt.model, error=str(exc))
                self._emit([self.observer.falling_back(target, event)])

    def _may_fall_back(self, target: Target, exc: StreamChatError) -> bool:
        return (target.configuration_error is not None or exc.retryable
                or isinstance(exc, self._fallback_on))

    def _run_target(self, target: Target, deadlines: Deadlines) -> None:
        if target.configuration_error is not None:
            raise target.configuration_error
        policy = target.retry
        deadlines.timeouts = target.timeouts
        attempt, own_hold = 1, False
        while True:
            if not own_hold:  # a stream that was told to wait waits in its own backoff
                self._hold_for_shared_limit(target, deadlines)
            self._emit([StartEvent(provider=target.provider, model=target.model, attempt=attempt)])
            try:
                self._attempt(target, deadlines, attempt)
                self.observer.attempt_ended(self.attempt, None)
                return
            except StreamChatError as exc:
                redact(exc, self._secrets)
                self._close_body()
                self.observer.attempt_ended(self.attempt, exc)
                own_hold = target.limits.note(target.limit_key, exc)
                self._emit(exc.reported, target)  # what the failing frame carried arrived too
                if self.stop.is_set():
                    raise _Interrupted() from exc
                delay = policy.delay(attempt, exc)
                if self._saw_content() or not exc.retryable or policy.gives_up(
                        attempt, exc, delay, deadlines.total_left()):
                    raise
                retry = RetryEvent(attempt=attempt, max_attempts=policy.max_attempts,
                                   delay=delay, error=str(exc))
                self._emit([self.observer.retrying(target, retry)])
                self._flush()
                if backoff_wait(self.stop, delay):
                    raise _Interrupted() from exc
                attempt += 1

    def _hold_for_shared_limit(self, target: Target, deadlines: Deadlines) -> None:
        """Another stream of this Client was told to wait: hold this request until then."""
        total_left = deadlines.next()[0] if deadlines.total_end else None
        hold = target.limits.hold_for(target.provider, target.limit_key, total_left)
        if hold is not None:
            self._put([hold.notice])
            if self.stop.wait(hold.seconds):
                raise _Interrupted()

    def _attempt(self, target: Target, deadlines: Deadlines, number: int = 1) -> None:
        deadlines.attempt_started()
        self._record.restart()
        assert target.endpoint is not None
        endpoint = target.endpoint.with_token()
        if endpoint is not target.endpoint:
            # A fresh bearer token is as secret as a key: masked in whatever fails.
            self._secrets = secrets_of(self.targets, endpoint.api_key, *self._tokens)
            self._tokens.append(endpoint.api_key)
        http = target.wire.build_request(target.request, endpoint)
        self.attempt = self.observer.attempt_started(target, http, number)
        if self.stop.is_set():  # stopped by on_request (a veto) or meanwhile: send nothing
            raise _Interrupted()
        try:
            body = target.transport.open(
                http,
                provider=target.provider,
                connect_timeout=target.timeouts.connect,
                watcher=lambda sock: self._wait_for_response(sock, target, deadlines),
                holder=self._hold,
            )
        except ReadTimedOut as exc:
            if self.stop.is_set():
                raise _Interrupted() from exc
            raise deadlines.error(deadlines.next()[1], target.provider) from exc
        self._body = body
        self.attempt.responded(body.status_code, body.headers)
        if self.stop.is_set():
            raise _Interrupted()
        left = deadlines.next()[0]
        idle = target.timeouts.idle
        # An error body gets the idle allowance, but never past the stream's deadline.
        budget = idle if left is None else left if idle is None else min(idle, left)
        target.transport.raise_for_status(body, http, target.provider, budget)
        if target.request.stream and not Body.is_whole_json(body.headers):
            self._read_stream(target, body, deadlines)
        else:
            self._read_whole(target, body, deadlines)
        self._done = True

    def _hold(self, sock: socket.socket) -> None:
        """The socket exists: from now on abort() shuts it, even mid-send."""
        self._sock = sock
        if self.stop.is_set():  # abort() came before it knew the socket
            shutdown_socket(sock)

    def _wait_for_response(
        self, sock: socket.socket, target: Target, deadlines: Deadlines
    ) -> Optional[float]:
        """Wait for the first bytes with select, which an interrupt or a deadline can end,
        emitting `status` notices while a slow server (a model loading) says nothing.
        Returns the time the rest of the status line and headers may take."""
        if self.stop.is_set():
            raise _Interrupted()
        self._flush()  # `start` now, while we wait: the consumer's wake-up costs us nothing
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

    def _chunks(self, target: Target, body: Body, deadlines: Deadlines) -> Iterator[bytes]:
        while True:
            if self._fresh:  # what arrived since the last read shares one clock reading
                self._fresh = False
                self._content = True
                deadlines.last_content = self.attempt.content_at(time.monotonic())
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
            self._record.write(data)
            yield data

    def _read_stream(self, target: Target, body: Body, deadlines: Deadlines) -> None:
        decoder = target.wire.new_decoder(target.provider, target.request.logprobs)
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
            if not self._content and self._fresh:  # one look once content was seen
                # The first content goes out now, not after the rest of its read, and the
                # GIL with it: the consumer, woken, would wait for the whole read's decoding.
                self._content = True
                self._flush()
                time.sleep(0)
        if self.stop.is_set():
            raise _Interrupted()
        self._emit(decoder.close(), target)

    def _read_whole(self, target: Target, body: Body, deadlines: Deadlines) -> None:
        left, phase = deadlines.next()
        try:
            raw = body.read_all(left, limit=64 * 1024 * 1024)
        except ReadTimedOut as exc:
            raise deadlines.error(phase, target.provider) from exc
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
                self.attempt.note(event)
        self._batch.extend(events)
        return done

    def _flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._put(batch)

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

    def _close_body(self) -> None:
        """Release the connection: kept for reuse after a clean end, dropped otherwise."""
        body, self._body = self._body, None
        if body is None:
            return
        self._sock = None  # from now on the connection may serve another stream
        if self._done and not self.stop.is_set():
            body.finish()
        else:
            body.abort()
            body.close()


__all__ = ["EVENTS_IN_FLIGHT", "POLL_SECONDS", "WAKE", "End", "Target", "Worker", "backoff_wait"]
