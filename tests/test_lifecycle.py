"""A stream's life under abuse, over real sockets and with the cycle collector off:
abandoned loops, Ctrl-C, shared cancel Events, interrupts after the end, fork, and two
threads on one Stream. The server records the moment it sees the connection close, so
"freed" means the upstream stopped generating, not that an object went away."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest
from conftest import wait_for_threads
from loopback import OK_END, Exchange, Loopback, chunk
from timing import SchedulingLag

import streamchat

HANG_GUARD = 5.0  # only to fail instead of hanging; never a performance claim
CLOSE_SEEN_WITHIN = 0.1  # the contract: the upstream sees the close within 100 ms


def client(server: Loopback, **kwargs: Any) -> streamchat.Client:
    kwargs.setdefault("retry", streamchat.RetryPolicy(max_attempts=1))
    # Long deadlines: only the client's own cleanup may end these connections.
    kwargs.setdefault("timeouts", streamchat.Timeouts(first_token=60, idle=60))
    return streamchat.Client("openai", model="m", api_key="sk-test-lifecycle",
                             base_url=server.url + "/v1", **kwargs)


class Upstream:
    """Handlers that send some text, then stay silent and record when the client hangs up."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.closed_at: Optional[float] = None

    def handler(self, *pieces: bytes):
        def handle(ex: Exchange) -> None:
            ex.start(framing="chunked")
            for piece in pieces:
                ex.write(piece)
            if ex.wait_for_disconnect(60):
                self.closed_at = time.monotonic()
                self.closed.set()

        return handle

    def seen_within(self, since: float) -> float:
        """How long after `since` the server saw the close, less what the OS made any
        thread here wait meanwhile (see timing.SchedulingLag)."""
        with SchedulingLag() as lag:
            assert self.closed.wait(HANG_GUARD), "the server never saw the connection close"
        assert self.closed_at is not None
        return self.closed_at - since - lag.worst


# -- 1. abandoned streams are freed by reference counting alone ---------------------------


def test_breaking_out_of_a_loop_without_with_closes_the_connection(no_collector,
                                                                   thread_baseline):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("first"))) as server:
        for event in client(server).stream("hi"):
            if event.type == "text":
                break
        left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_breaking_out_of_a_chat_run_loop_closes_the_connection(no_collector, thread_baseline):
    def weather(city: str) -> str:
        return "7 C"

    upstream = Upstream()
    with Loopback(upstream.handler(chunk("first"))) as server:
        chat = client(server).chat()
        for event in chat.run("hi", tools=[weather]):
            if event.type == "text":
                break
        left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN
        with chat.stream("again"):  # the turn has ended: the conversation can go on
            pass
    assert wait_for_threads(thread_baseline) <= thread_baseline


def test_an_exception_in_the_loop_body_closes_the_connection(no_collector):
    upstream = Upstream()

    def body(c: streamchat.Client) -> None:
        stream = c.stream("hi")  # still referenced by the frame the traceback keeps
        for event in stream:
            if event.type == "text":
                raise KeyError("the caller's own bug")

    with Loopback(upstream.handler(chunk("first"))) as server:
        try:
            body(client(server))
        except KeyError:
            kept = sys.exc_info()[2]  # as a notebook keeps sys.last_traceback
            left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN
        del kept


def test_an_exception_in_a_notebook_cell_closes_the_connection(no_collector):
    """A kernel runs a cell as module code: the Stream stays in the user's namespace and
    the traceback stays in sys.last_traceback, yet the loop was abandoned."""
    upstream = Upstream()
    cell = (
        "stream = c.stream('hi')\n"
        "for event in stream:\n"
        "    if event.type == 'text':\n"
        "        raise KeyError('cell error')\n"
    )
    with Loopback(upstream.handler(chunk("first"))) as server:
        namespace = {"c": client(server)}
        try:
            exec(compile(cell, "<cell>", "exec"), namespace)
        except KeyError:
            kept = sys.exc_info()[2]
            left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN
        assert namespace["stream"].response.finish_reason == "cancelled"
        del kept


@pytest.mark.parametrize("how", ["iter", "next"])
def test_dropping_the_last_reference_closes_the_connection(no_collector, how):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("first"))) as server:
        stream = client(server).stream("hi")
        events = iter(stream) if how == "iter" else stream
        while next(events).type != "text":
            pass
        del stream, events
        left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN


def test_a_stream_never_iterated_is_freed_when_dropped(no_collector):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("first"))) as server:
        stream = client(server).stream("hi")
        assert server_got_request(server)
        del stream
        left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN


def settle(condition: Callable[[], bool]) -> bool:
    """Wait for something the threads reach on their own (no Event to wait on): polled,
    bounded by HANG_GUARD; the condition's last value."""
    deadline = time.monotonic() + HANG_GUARD
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def first_text(stream: streamchat.Stream) -> str:
    """Read up to the first text with next(stream), which, unlike a loop left early,
    leaves the stream running."""
    while True:
        event = next(stream)
        if event.type == "text":
            return event.text


def server_got_request(server: Loopback) -> bool:
    return settle(lambda: bool(server.requests))


def test_a_loop_broken_after_done_keeps_the_answer(no_collector):
    with Loopback(Upstream().handler(chunk("all") + OK_END)) as server:
        stream = client(server).stream("hi")
        for event in stream:
            if event.type == "done":
                break
        assert stream.response is not None
        assert stream.response.finish_reason == "stop"
        assert stream.final().text == "all"


# -- 2. Ctrl-C while the caller waits for the next event -----------------------------------


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler, which a background job (started with SIGINT ignored)
    does not get by default."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ctrl_c_soon() -> None:
    """Deliver a real SIGINT to the main thread, as a terminal's Ctrl-C does."""
    threading.Timer(
        0.05, signal.pthread_kill, args=(threading.main_thread().ident, signal.SIGINT)
    ).start()


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_in_the_loop_ends_the_stream_as_interrupted(no_collector, thread_baseline,
                                                           ctrl_c_raises):
    assert threading.current_thread() is threading.main_thread()
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("kept"))) as server:
        stream = client(server).stream("hi")
        seen = []
        with pytest.raises(KeyboardInterrupt):
            for event in stream:
                seen.append(event.type)
                if event.type == "text":
                    ctrl_c_soon()
        assert seen == ["start", "text"]
        response = stream.final()
        assert response.finish_reason == "cancelled"
        assert response.text == "kept"
        assert upstream.closed.wait(HANG_GUARD), "the socket outlived the Ctrl-C"
    assert wait_for_threads(thread_baseline) <= thread_baseline


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_a_chat_turn_interrupted_by_ctrl_c_lets_the_conversation_go_on(no_collector,
                                                                       ctrl_c_raises):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("partial")),
                  Upstream().handler(chunk("next") + OK_END)) as server:
        chat = streamchat.Chat(client(server))
        with pytest.raises(KeyboardInterrupt):
            for event in chat.stream("first"):
                if event.type == "text":
                    ctrl_c_soon()
        assert upstream.closed.wait(HANG_GUARD)
        assert chat.send("second").text == "next"
        assert chat.history[1].content == "partial"


# -- 3 and 4. a caller's Event is only read, and read promptly -----------------------------


def test_close_leaves_the_callers_event_alone():
    stop = threading.Event()
    with Loopback(Upstream().handler(chunk("one")),
                  Upstream().handler(chunk("two") + OK_END)) as server:
        c = client(server)
        first = c.stream("a", cancel=stop)
        assert first_text(first) == "one"
        first.close()
        assert not stop.is_set(), "close() set an Event the stream does not own"
        assert first.response.finish_reason == "cancelled"
        second = c.stream("b", cancel=stop)
        assert second.final().finish_reason == "stop"


def test_interrupt_and_pause_leave_the_callers_event_alone():
    stop = threading.Event()
    with Loopback(Upstream().handler(chunk("one")), Upstream().handler(chunk("two"))) as server:
        c = client(server)
        for action in ("interrupt", "pause"):
            stream = c.stream("a", cancel=stop)
            for event in stream:
                if event.type == "text":
                    getattr(stream, action)()
            assert not stop.is_set()
            assert stream.response.finish_reason == ("cancelled" if action == "interrupt"
                                                     else "paused")


def test_one_event_stops_every_stream_that_shares_it():
    stop = threading.Event()
    upstreams = [Upstream(), Upstream()]
    with Loopback(*(u.handler(chunk("x")) for u in upstreams)) as server:
        c = client(server)
        streams = [c.stream(f"s{n}", cancel=stop) for n in range(2)]
        for stream in streams:
            assert first_text(stream) == "x"
        stop.set()
        for stream, upstream in zip(streams, upstreams):
            assert [e.type for e in stream] == ["cancelled"]
            assert upstream.closed.wait(HANG_GUARD)


@contextlib.contextmanager
def stopped_by_its_event() -> Iterator[Tuple[threading.Event, streamchat.Stream, Upstream]]:
    """A stream with a caller's cancel Event, its first text shown, then the Event set."""
    stop = threading.Event()
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("x"))) as server:
        stream = client(server).stream("hi", cancel=stop)
        assert first_text(stream) == "x"
        stop.set()
        yield stop, stream, upstream


def test_a_stream_stopped_by_a_shared_event_ends_without_waiting_for_that_events_lock():
    """`set()` holds the Event's lock while it stops every stream that shares it: a
    stream that waited for that lock to stop watching would end only after all of them."""
    with stopped_by_its_event() as (stop, stream, upstream):
        kinds: List[str] = []
        ended = threading.Event()

        def consume() -> None:
            kinds.extend(e.type for e in stream)
            ended.set()

        with stop._cond:  # type: ignore[attr-defined]  # held, as during a long set()
            threading.Thread(target=consume, daemon=True).start()
            assert ended.wait(HANG_GUARD)
        assert kinds == ["cancelled"]
        assert upstream.closed.wait(HANG_GUARD)


def test_a_callers_event_is_noticed_within_20_ms_on_a_silent_server():
    """Five sets at moments spread over 50 ms: a poll every 50 ms fails it."""
    latencies = []
    delays = [0.013, 0.027, 0.041, 0.006, 0.034]
    handlers = [Upstream().handler(chunk("x")) for _ in delays]
    with Loopback(*handlers) as server, SchedulingLag() as lag:
        c = client(server)
        for delay in delays:
            stop = threading.Event()
            set_at: List[float] = []

            def fire(stop: threading.Event = stop, set_at: List[float] = set_at) -> None:
                set_at.append(time.monotonic())
                stop.set()

            for event in c.stream("hi", cancel=stop):
                if event.type == "text":
                    threading.Timer(delay, fire).start()
                elif event.type == "cancelled":
                    latencies.append(time.monotonic() - set_at[0])
        assert len(latencies) == 5
    # The median: one scheduling hiccup on a loaded machine is not the stream's doing.
    assert sorted(latencies)[2] < 0.02 + lag.worst, (latencies, lag.worst)


def test_a_callers_event_stops_the_stream_before_set_returns():
    """Heard, not polled: by the time `set()` returns the stream has stopped itself and
    shut its socket, whatever the consumer is doing."""
    with stopped_by_its_event() as (_, stream, upstream):
        assert stream._worker.stop.is_set()
        assert upstream.closed.wait(HANG_GUARD)
        assert [e.type for e in stream] == ["cancelled"]


# -- 5. a finished stream stays finished ---------------------------------------------------


def test_an_interrupt_after_done_does_not_rewrite_the_stream():
    with Loopback(Upstream().handler(chunk("all") + OK_END)) as server:
        stream = client(server).stream("hi")
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "done":
                stream.interrupt()
        assert kinds == ["start", "text", "done"]
        assert stream.response.finish_reason == "stop"
        stream.interrupt()
        stream.pause()
        assert stream.final().finish_reason == "stop"


def test_an_interrupt_ends_the_loop_while_the_worker_is_held_up_elsewhere():
    # A worker held up where no socket can wake it (a slow on_request hook here; a DNS
    # lookup or a connect that hangs is the same): the caller's loop must not wait for it.
    in_hook, hold = threading.Event(), threading.Event()

    def slow_hook(info: Any) -> None:
        in_hook.set()
        hold.wait(HANG_GUARD * 2)  # released by the test, or after its own guard

    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server, on_request=slow_hook).stream("hi")
        assert in_hook.wait(HANG_GUARD)
        kinds: List[str] = []
        ended = threading.Event()

        def consume() -> None:
            kinds.extend(event.type for event in stream)
            ended.set()

        threading.Thread(target=consume, daemon=True).start()
        stream.interrupt()
        try:
            assert ended.wait(HANG_GUARD), "the loop waited for the worker to come back"
        finally:
            hold.set()
        assert kinds[-1] == "cancelled"


def test_a_late_interrupt_leaves_alone_the_connection_another_stream_reuses():
    go = threading.Event()
    ports: List[int] = []

    def whole(ex: Exchange) -> None:
        ports.append(ex.handler.client_address[1])
        ex.start(framing="chunked")
        ex.end(chunk("a") + OK_END)

    def held(ex: Exchange) -> None:
        ports.append(ex.handler.client_address[1])
        ex.start(framing="chunked")
        ex.write(chunk("b1 "))
        assert go.wait(HANG_GUARD)
        ex.end(chunk("b2") + OK_END)

    with Loopback(whole, held) as server:
        c = client(server)
        first = c.stream("one")
        assert first.final().text == "a"
        first._worker.thread.join(HANG_GUARD)  # its connection is back in the pool
        second = c.stream("two")
        assert first_text(second) == "b1 "
        first.interrupt()  # after its end: must not touch the socket it handed back
        go.set()
        assert second.final().text == "b1 b2"
    assert len(ports) == 2 and ports[0] == ports[1]  # the same connection, reused


def test_a_paused_stream_closed_before_its_pause_is_read_stays_paused():
    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "x"
        stream.pause()
        stream.close()
        assert stream.response.finish_reason == "paused"


def test_closing_on_done_keeps_the_finish_reason():
    with Loopback(Upstream().handler(chunk("all") + OK_END)) as server:
        with client(server).stream("hi") as stream:
            for event in stream:
                if event.type == "done":
                    break
        assert stream.response.finish_reason == "stop"


# -- 6. a forked child leaves the parent's connections alone -------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_break_the_parents_stream(no_collector):
    go_on = threading.Event()

    def handler(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(chunk("before "))
        assert go_on.wait(HANG_GUARD)
        ex.write(chunk("after") + OK_END)
        ex.end()

    with Loopback(handler) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "before "
        pid = os.fork()
        if pid == 0:  # the child: drop everything it inherited, as its exit would
            try:
                stream.close()
                del stream
                gc.collect()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        go_on.set()
        response = stream.final()
        assert response.finish_reason == "stop"
        assert response.text == "before after"


# -- 16. two threads on one Stream ---------------------------------------------------------


def test_a_second_consumer_gets_a_typed_error_and_the_first_keeps_every_event():
    second_failed = threading.Event()
    words = [f"w{n} " for n in range(20)]

    def handler(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(chunk(words[0]))
        # The rest only once the second consumer has been refused: refusing it must not
        # wait for events, and must not take any.
        assert second_failed.wait(HANG_GUARD)
        for word in words[1:]:
            ex.write(chunk(word))
        ex.write(OK_END)
        ex.end()

    with Loopback(handler) as server:
        stream = client(server).stream("hi")
        errors: List[BaseException] = []
        got: List[Any] = []

        def second() -> None:
            try:
                for event in stream:
                    got.append(event)
            except BaseException as exc:
                errors.append(exc)
            second_failed.set()

        shown = []
        for event in stream:
            if event.type == "text":
                shown.append(event.text)
                if len(shown) == 1:
                    intruder = threading.Thread(target=second)
                    intruder.start()
                    intruder.join(HANG_GUARD)
        assert got == []
        assert len(errors) == 1
        assert isinstance(errors[0], streamchat.StreamChatError), repr(errors[0])
        assert "one" in str(errors[0]) and "thread" in str(errors[0])
        assert shown == words
        assert stream.response.finish_reason == "stop"


# -- what the cancel Event keeps, and a worker that dies -----------------------------------


def test_an_ended_stream_leaves_nothing_behind_on_the_callers_event(no_collector):
    """A long-lived "stop everything" Event must not keep every stream's worker alive."""
    import weakref

    stop = threading.Event()
    with Loopback(*(Upstream().handler(chunk("x") + OK_END) for _ in range(2))) as server:
        c = client(server)
        finished = c.stream("a", cancel=stop)
        finished.final()
        dropped = c.stream("b", cancel=stop)
        first_text(dropped)
        workers = [weakref.ref(finished._worker), weakref.ref(dropped._worker)]
        del finished, dropped
        assert settle(lambda: all(w() is None for w in workers))  # the threads end
    assert not stop.is_set()


class Flag:
    """A cancel object that is not a threading.Event (as a multiprocessing Event is not)."""

    def __init__(self) -> None:
        self.value = False

    def is_set(self) -> bool:
        return self.value

    def set(self) -> None:
        self.value = True


def test_a_cancel_object_that_is_not_a_threading_event_is_still_obeyed():
    # Polled, every 10 ms while the stream waits: noticed well within 100 ms.
    flag = Flag()
    set_at: List[float] = []

    def fire() -> None:
        set_at.append(time.monotonic())
        flag.set()

    upstream = Upstream()
    with Loopback(upstream.handler(chunk("x"))) as server, SchedulingLag() as lag:
        stream = client(server).stream("hi", cancel=flag)  # type: ignore[arg-type]
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "text":
                threading.Timer(0.02, fire).start()
        noticed = time.monotonic() - set_at[0]
        assert kinds == ["start", "text", "cancelled"]
        assert upstream.closed.wait(HANG_GUARD)
    assert noticed < 0.1 + lag.worst, (noticed, lag.worst)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_worker_that_dies_is_reported_not_waited_for(monkeypatch):
    import streamchat.worker

    dying: List[threading.Thread] = []

    def die(self: Any) -> None:
        dying.append(threading.current_thread())
        raise SystemExit("the worker thread was torn down")

    monkeypatch.setattr(streamchat.worker.Worker, "_run_targets", die)
    with Loopback() as server, pytest.raises(streamchat.ProtocolError) as info:
        client(server).complete("hi")
    assert "worker ended without a result" in str(info.value)
    dying[0].join(HANG_GUARD)  # its exception is reported here, not in a later test


def test_an_unexpected_exception_in_the_worker_is_a_protocol_error_naming_the_provider(
        monkeypatch):
    import streamchat.worker

    def broken(*args: Any, **kwargs: Any) -> Iterator[Any]:
        raise KeyError("choices")  # a decoder bug, or a shape nobody foresaw

    monkeypatch.setattr(streamchat.worker, "frames_for", broken)
    with Loopback(Upstream().handler(chunk("x"))) as server, \
            pytest.raises(streamchat.ProtocolError) as info:
        client(server).complete("hi")
    assert "openai sent something streamchat could not process: KeyError" in str(info.value)
    assert info.value.provider == "openai"


def test_a_script_that_ends_with_a_stream_open_exits_at_once():
    # The worker is a daemon thread: a forgotten stream on a silent server must not hold
    # the interpreter's exit until the idle deadline (60 s here).
    script = (
        "import streamchat, sys\n"
        "client = streamchat.Client('openai', model='m', api_key='k', base_url=sys.argv[1],\n"
        "                           timeouts=streamchat.Timeouts(first_token=60, idle=60))\n"
        "events = iter(client.stream('hi'))  # kept: leaving a loop would stop it\n"
        "print([next(events).type, next(events).text])\n"
    )
    with Loopback(Upstream().handler(chunk("x"))) as server:
        done = subprocess.run([sys.executable, "-c", script, server.url + "/v1"],
                              capture_output=True, text=True, timeout=HANG_GUARD * 2)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['start', 'x']\n"


# -- connections a failed stream leaves behind ---------------------------------------------


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_client_close_frees_the_connection_a_failed_stream_returned(no_collector):
    """A body cut short but cleanly ended goes back to the pool; the failed stream's error
    (kept by the caller) refers to the pool through its traceback. close() must still
    close the connection, without waiting for a garbage collection."""
    def truncated(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(chunk("half"))
        ex.end()  # a clean end of the body, without the finish: a ProtocolError

    with Loopback(truncated) as server:
        before = open_descriptors()
        c = client(server)
        with pytest.raises(streamchat.ProtocolError) as info:
            c.complete("hi")
        c.close()
        # The server's side closes once it sees ours close.
        assert settle(lambda: open_descriptors() <= before)
        assert info.value.partial.text == "half"


# -- next(stream): the same promises one event at a time ----------------------------------


def test_next_hands_over_every_event_of_a_batch():
    """Many events in one read come as one batch; next() hands each over, in order."""
    words = [f"w{n} " for n in range(30)]

    def handler(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(b"".join(chunk(w) for w in words) + OK_END)  # one write, one batch
        ex.end()

    with Loopback(handler) as server:
        stream = client(server).stream("hi")
        kinds = []
        while True:
            try:
                event = next(stream)
            except StopIteration:
                break
            kinds.append(event.type)
            if event.type == "text":
                assert event.text == words[kinds.count("text") - 1]
        assert kinds == ["start", *["text"] * len(words), "done"]
        assert stream.response.text == "".join(words)


def test_next_after_an_interrupt_gives_cancelled_then_stops():
    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "x"
        stream.interrupt()
        assert next(stream).type == "cancelled"
        with pytest.raises(StopIteration):
            next(stream)
        assert stream.final().finish_reason == "cancelled"


def test_next_may_pass_from_thread_to_thread():
    """One consumer reading through next() from one thread, then another (a server that
    runs each step of a response body in a pool): not two consumers."""
    words = ["a ", "b ", "c "]

    def handler(ex: Exchange) -> None:
        ex.start(framing="chunked")
        for word in words:
            ex.write(chunk(word))
        ex.write(OK_END)
        ex.end()

    with Loopback(handler) as server:
        stream = client(server).stream("hi")
        seen: List[str] = []

        def step() -> None:
            seen.append(next(stream).type)

        while not seen or seen[-1] != "done":
            helper = threading.Thread(target=step)
            helper.start()
            helper.join(HANG_GUARD)
        assert seen == ["start", "text", "text", "text", "done"]


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_during_next_ends_the_stream_as_interrupted(no_collector, ctrl_c_raises):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("kept"))) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "kept"
        ctrl_c_soon()
        with pytest.raises(KeyboardInterrupt):
            next(stream)
        assert stream.final().finish_reason == "cancelled"
        assert upstream.closed.wait(HANG_GUARD)


# -- the worker's own waits end with the stream --------------------------------------------


def test_an_interrupt_during_a_retry_wait_sends_no_further_request():
    def overloaded(ex: Exchange) -> None:
        ex.reply(503, b'{"error": {"message": "busy", "type": "server_error"}}')

    with Loopback(overloaded, Upstream().handler(chunk("never"))) as server:
        c = client(server, retry=streamchat.RetryPolicy(max_attempts=2, initial_delay=30,
                                                        jitter=0))
        stream = c.stream("hi")
        kinds = []
        for event in stream:  # the real backoff wait, not a patched one
            kinds.append(event.type)
            if event.type == "retry":
                stream.interrupt()
        assert kinds == ["start", "retry", "cancelled"]
        stream._worker.thread.join(HANG_GUARD)
        assert not stream._worker.thread.is_alive()
        assert len(server.requests) == 1


def test_a_worker_held_up_by_a_slow_consumer_ends_with_the_stream():
    """The worker waits for room in the queue while the consumer does not read; an
    interrupt must end that wait too, not only the consumer's."""
    def flood(ex: Exchange) -> None:
        ex.start(framing="chunked")
        try:
            for n in range(5000):
                ex.write(chunk(f"w{n}"))
        except OSError:
            pass

    with Loopback(flood) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "w0"
        settle(lambda: stream._worker.queue.qsize() >= 100)  # unread: the queue fills up
        stream.interrupt()
        stream._worker.thread.join(0.5)
        assert not stream._worker.thread.is_alive(), "the worker outlived its stream"
        assert [e.type for e in stream] == ["cancelled"]


def test_a_slow_consumer_loses_nothing_while_the_worker_waits_for_room(monkeypatch):
    import streamchat.worker

    # Every wait for room gives up at once and tries again: a batch must never be dropped.
    monkeypatch.setattr(streamchat.worker, "POLL_SECONDS", 0)

    def answer(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(b"".join(chunk(f"w{n} ") for n in range(3000)) + OK_END)
        ex.end()

    with Loopback(answer) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "w0 "
        settle(stream._worker.queue.full)  # unread: the queue fills up
        assert stream.final().text == "".join(f"w{n} " for n in range(3000))


# -- the Stream's own surface: with, close from elsewhere, error, partial, text_stream -----


def test_leaving_a_with_block_closes_a_stream_read_with_next(no_collector):
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("x"))) as server:
        with client(server).stream("hi") as stream:
            assert first_text(stream) == "x"
            assert repr(stream) == "<Stream openai:m open>"
        left = time.monotonic()
        assert upstream.seen_within(left) < CLOSE_SEEN_WITHIN
        assert stream.response.finish_reason == "cancelled"
        assert repr(stream) == "<Stream openai:m finished>"


def test_close_from_another_thread_lets_the_consumer_end_its_own_loop():
    upstream = Upstream()
    with Loopback(upstream.handler(chunk("x"))) as server:
        stream = client(server).stream("hi")
        kinds = []
        for event in stream:
            kinds.append(event.type)
            if event.type == "text":
                closer = threading.Thread(target=stream.close)
                closer.start()
                closer.join(HANG_GUARD)
                assert not closer.is_alive()
        assert kinds == ["start", "text", "cancelled"]
        assert upstream.closed.wait(HANG_GUARD)
        assert not stream._worker.thread.is_alive(), "close() waits briefly for the worker"


def test_close_returns_once_the_worker_has_ended():
    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server).stream("hi")
        assert first_text(stream) == "x"
        stream.close()
        assert not stream._worker.thread.is_alive()


def test_final_waits_for_a_close_under_way_in_another_thread(monkeypatch):
    # A "Stop" button's close() and the request thread's final() at the same moment:
    # final() must give the closed stream's response, not find it half-ended.
    folding, go = threading.Event(), threading.Event()
    fold = streamchat.Stream._fold

    def slow_fold(self: streamchat.Stream) -> streamchat.ChatResponse:
        if threading.current_thread().name == "closer":
            folding.set()
            assert go.wait(HANG_GUARD)
        return fold(self)

    monkeypatch.setattr(streamchat.Stream, "_fold", slow_fold)
    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server).stream("hi")
        closer = threading.Thread(target=stream.close, name="closer")
        closer.start()
        assert folding.wait(HANG_GUARD)
        outcome: List[Any] = []
        reader = threading.Thread(target=lambda: outcome.append(stream.final()))
        reader.start()
        reader.join(0.2)  # it waits for the close (a reader that did not would end here)
        go.set()
        reader.join(HANG_GUARD)
        closer.join(HANG_GUARD)
    assert [r.finish_reason for r in outcome] == ["cancelled"]


def test_a_failed_stream_reports_its_error_and_partial():
    def truncated(ex: Exchange) -> None:
        ex.start(framing="chunked")
        ex.write(chunk("half"))
        ex.end()

    with Loopback(truncated) as server:
        stream = client(server).stream("hi")
        texts: List[str] = []
        with pytest.raises(streamchat.ProtocolError) as info:
            texts.extend(stream.text_stream)
        assert texts == ["half"]
        with pytest.raises(streamchat.ProtocolError):
            stream.final()
        assert stream.error is info.value
        assert stream.response is None
        assert stream.partial().text == "half"
        assert info.value.partial.text == "half"


def test_text_stream_gives_only_the_text():
    with Loopback(Upstream().handler(chunk("a") + chunk("b") + OK_END)) as server:
        stream = client(server).stream("hi")
        assert list(stream.text_stream) == ["a", "b"]
        assert stream.partial().text == "ab" and stream.response.text == "ab"


def test_closing_while_the_server_has_not_answered_hangs_up_at_once():
    # A provider that takes the request and sends nothing (a model still loading) must not
    # keep the connection, and its slot, after the caller closed the stream.
    asked = threading.Event()
    hung_up = threading.Event()

    def no_headers(ex: Exchange) -> None:
        asked.set()
        if ex.wait_for_disconnect(HANG_GUARD):
            hung_up.set()

    with Loopback(no_headers) as server:
        stream = client(server).stream("hi")
        assert asked.wait(HANG_GUARD)
        stream.close()
        assert hung_up.wait(HANG_GUARD)


def test_an_interrupt_while_a_large_request_is_being_sent_hangs_up_at_once():
    # A server that stops reading (slow, or busy) while a large request (a big document)
    # is on its way: the send blocks, and an interrupt must end it, not the send timeout.
    listener = socket.create_server(("127.0.0.1", 0))
    receiving, stopped = threading.Event(), threading.Event()

    def read_a_little() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        receiving.set()
        assert stopped.wait(HANG_GUARD)
        conn.close()

    threading.Thread(target=read_a_little, daemon=True).start()
    c = streamchat.Client("openai", model="m", api_key="k", retry=streamchat.RetryPolicy(
        max_attempts=1), timeouts=streamchat.Timeouts(connect=60),
        base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1")
    try:
        stream = c.stream("x" * 32_000_000)
        assert receiving.wait(HANG_GUARD)
        with SchedulingLag() as lag:
            interrupted = time.monotonic()
            stream.interrupt()
            stream._worker.thread.join(HANG_GUARD)
            took = time.monotonic() - interrupted
        assert stream.final().finish_reason == "cancelled"
        assert took < CLOSE_SEEN_WITHIN + lag.worst, (took, lag.worst)
    finally:
        stopped.set()
        listener.close()


def test_a_stream_peeked_with_next_can_be_handed_to_another_thread():
    # Taking the first event with next() does not make this thread the stream's owner
    # for good: a worker thread may read the rest.
    with Loopback(Upstream().handler(chunk("a") + chunk("b") + OK_END)) as server:
        stream = client(server).stream("hi")
        first = next(stream)
        rest: List[Any] = []
        reader = threading.Thread(target=lambda: rest.extend(stream))
        reader.start()
        reader.join(HANG_GUARD)
        assert not reader.is_alive()
    events = [first, *rest]
    assert "".join(e.text for e in events if e.type == "text") == "ab"
    assert events[-1].type == "done"


def test_an_interrupt_wins_over_events_already_received_but_not_shown():
    # The caller pressed stop after seeing "a": what had arrived with it is not shown.
    with Loopback(Upstream().handler(chunk("a") + chunk("b") + chunk("c") + OK_END)) as server:
        stream = client(server).stream("hi")
        seen = next(stream)
        while seen.type != "text":
            seen = next(stream)
        stream.interrupt()
        after = next(stream)
    assert seen.text == "a"
    assert after.type == "cancelled"
    assert stream.final().text == "a"


def test_a_loop_that_has_ended_lets_another_thread_read_the_stream():
    """The one-consumer rule holds while a loop runs, not for ever: a hand-off to a
    worker thread after the loop (a web view's cleanup, say) reads the ended stream."""
    with Loopback(Upstream().handler(chunk("all") + OK_END)) as server:
        stream = client(server).stream("hi")
        assert [e.type for e in stream][-1] == "done"
        read: List[Any] = []

        def later() -> None:
            try:
                read.append([e.type for e in stream])
            except BaseException as exc:
                read.append(exc)

        reader = threading.Thread(target=later)
        reader.start()
        reader.join(HANG_GUARD)
        assert read == [[]]


def test_next_in_the_thread_whose_loop_holds_the_stream_is_not_a_second_consumer():
    """Only another thread is refused: a loop that peeks with next() on the Stream itself
    is still the one consumer, and every event is handed over once."""
    with Loopback(Upstream().handler(chunk("a") + chunk("b") + OK_END)) as server:
        stream = client(server).stream("hi")
        events = iter(stream)
        seen = [next(events).type, next(stream).type]
        seen += [e.type for e in events]
        assert sorted(seen) == ["done", "start", "text", "text"]


def test_a_loop_left_early_does_not_raise_an_on_end_verdict_from_its_iterators_close():
    """Leaving a loop must not raise from `close()` (nor print "Exception ignored" when
    the iterator is dropped): an on_end verdict is kept on the stream instead."""

    def refuse(stream: streamchat.Stream) -> None:
        raise streamchat.StreamChatError("the answer was refused")

    with Loopback(Upstream().handler(chunk("x"))) as server:
        stream = client(server).stream("hi", on_end=refuse)
        events = iter(stream)
        assert next(events).type == "start"
        events.close()
        assert isinstance(stream.error, streamchat.StreamChatError)
        assert "refused" in str(stream.error)
