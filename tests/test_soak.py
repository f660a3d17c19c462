"""Soak: many concurrent streams from one Client, with faults on both sides.

Runs on demand only: ``python -m pytest -m soak tests/test_soak.py -s`` (or set
STREAMCHAT_SOAK=1). Rounds of 300 streams share one Client across 300 threads, for 60 s,
against a loopback server that injects resets, 500s, truncations, stalls, compressed
bodies and chunk-size lines trickled a byte at a time, while the consumers drain,
interrupt, pause, cancel through their own Event or one Event shared by many, close from
another thread, break out early, abandon the loop without `with`, or read with next().
The cycle collector is off throughout: cleanup must come from reference counting.

Every stream must end, show exactly a prefix of what the server sent and end the way its
plan says; afterwards no Stream or Worker may be alive, the thread count must return to
its baseline, the open file descriptors must not grow and the memory after the last round
must be within a margin of the memory after the first. Set STREAMCHAT_SOAK_STREAMS,
STREAMCHAT_SOAK_SECONDS (or STREAMCHAT_SOAK_ROUNDS, a minimum) and STREAMCHAT_SOAK_SEED.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import weakref
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import pytest

import streamchat

pytestmark = pytest.mark.soak

STREAMS = int(os.environ.get("STREAMCHAT_SOAK_STREAMS", "300"))
SECONDS = float(os.environ.get("STREAMCHAT_SOAK_SECONDS", "60"))
ROUNDS = int(os.environ.get("STREAMCHAT_SOAK_ROUNDS", "1"))
SEED = int(os.environ.get("STREAMCHAT_SOAK_SEED", "9"))
HANG_GUARD = 60.0  # only to fail instead of hanging; never a performance claim
SLOW = 8.0  # no stream should take this long: deadlines are 3 s, and 2 s per attempt
MEMORY_MARGIN = 1.1  # the last round may hold at most this much more than the first
FAULTS = ["none", "none", "none", "reset", "500", "truncate", "stall", "gzip", "trickle"]
BEHAVIOURS = ["drain", "drain", "drain", "interrupt", "pause", "cancel", "shared", "close",
              "break", "abandon", "next"]
INTERRUPTED = {"interrupt": "cancelled", "cancel": "cancelled", "shared": "cancelled",
               "close": "cancelled", "break": "cancelled", "pause": "paused"}
"""The behaviours that may end a stream early, and how."""


@pytest.fixture(autouse=True)
def _on_demand_only(request):
    """Skipped in the normal run; `-m soak` or STREAMCHAT_SOAK=1 runs it."""
    markexpr = request.config.getoption("markexpr") or ""
    asked = re.search(r"(?<!not )\bsoak\b", markexpr) is not None
    if not asked and os.environ.get("STREAMCHAT_SOAK") != "1":
        pytest.skip("the soak runs on demand: python -m pytest -m soak tests/test_soak.py")


@dataclass
class Plan:
    """What the server does for one stream, and what its consumer does."""

    words: List[str]
    fault: str
    fault_at: int
    delay: float
    behaviour: str
    after: float

    def text(self, count: Optional[int] = None) -> str:
        return "".join(self.words[: len(self.words) if count is None else count])


def make_plans(rng: random.Random, count: int) -> List[Plan]:
    plans = []
    for number in range(count):
        words = [f"s{number}w{k} " for k in range(rng.randint(3, 40))]
        plans.append(
            Plan(
                words=words,
                fault=rng.choice(FAULTS),
                fault_at=rng.randint(0, len(words) - 1),
                delay=rng.choice([0.0, 0.001, 0.003]),
                behaviour=rng.choice(BEHAVIOURS),
                after=rng.uniform(0.0, 0.05),
            )
        )
    return plans


def sse(payload: Dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class SoakServer:
    """A raw HTTP/1.1 keep-alive server: full control over resets and stalls."""

    def __init__(self, plans: List[Plan]) -> None:
        self.plans = plans
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.attempts: Dict[int, int] = collections.Counter()
        self.injected: Dict[str, int] = collections.Counter()
        self.threads: List[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, name="soak-accept", daemon=True)

    def __enter__(self) -> SoakServer:
        self.acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.sock.close()
        self.acceptor.join(5)
        for thread in self.threads:
            thread.join(5)

    def _accept(self) -> None:
        self.sock.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), name="soak-conn",
                                      daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(HANG_GUARD)
        reader = conn.makefile("rb")
        keep = True
        try:
            while keep and not self.stopping.is_set():
                if not reader.readline():
                    break
                headers = {}
                for line in iter(reader.readline, b"\r\n"):
                    if not line:
                        return
                    name, _, value = line.partition(b":")
                    headers[name.strip().lower()] = value.strip()
                body = reader.read(int(headers.get(b"content-length", b"0")))
                keep = self._respond(conn, json.loads(body))
        except (OSError, ValueError):
            pass
        finally:
            reader.close()
            conn.close()

    def _respond(self, conn: socket.socket, request: Dict[str, Any]) -> bool:
        number = int(request["messages"][0]["content"].split()[1])
        plan = self.plans[number]
        with self.lock:
            self.attempts[number] += 1
            attempt = self.attempts[number]
        faulty = attempt == 1 and plan.fault not in ("none", "gzip")
        if faulty or (attempt == 1 and plan.fault == "gzip"):
            with self.lock:
                self.injected[plan.fault] += 1
        if faulty and plan.fault == "500":
            body = b'{"error": {"message": "injected", "type": "server_error"}}'
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json"
                         b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            return True
        squeeze = zlib.compressobj(wbits=31) if plan.fault == "gzip" else None
        encoding = b"Content-Encoding: gzip\r\n" if squeeze is not None else b""

        def send(data: bytes, last: bool = False) -> None:
            if squeeze is not None:
                data = squeeze.compress(data) + squeeze.flush(
                    zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
            conn.sendall(http_chunk(data))

        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + encoding +
                     b"Transfer-Encoding: chunked\r\n\r\n")
        stop_at = plan.fault_at if faulty else len(plan.words)
        for word in plan.words[:stop_at]:
            delta = {"choices": [{"index": 0, "delta": {"content": word}}]}
            send(sse(delta))
            if plan.delay:
                time.sleep(plan.delay)
        if not faulty:
            end = sse({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            send(end + b"data: [DONE]\n\n", last=True)
            conn.sendall(b"0\r\n\r\n")
            return True
        if plan.fault == "truncate":
            conn.sendall(b"0\r\n\r\n")  # a clean end of the body, without the finish
            return True
        if plan.fault == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if plan.fault == "trickle":
            # A chunk-size line that never ends, a byte at a time, until the client hangs up
            while not self.stopping.is_set():
                conn.sendall(b"0")
                time.sleep(0.01)
            return False
        # stall: say nothing more until the client gives up on us
        while not self.stopping.is_set():
            try:
                if not conn.recv(1024):
                    break
            except socket.timeout:
                continue
        return False


@dataclass
class Result:
    events: List[Any] = field(default_factory=list)
    error: Optional[BaseException] = None
    response: Any = None
    finished: bool = False
    freed: Optional[bool] = None
    """For an abandoned loop: whether its Stream was gone as soon as the loop was left."""
    elapsed: float = 0.0


def consume(client: streamchat.Client, number: int, plan: Plan, result: Result,
            start: threading.Barrier, shared: threading.Event) -> None:
    start.wait()
    began = time.monotonic()
    try:
        if plan.behaviour == "abandon":
            abandon(client, number, plan, result)
        else:
            run(client, number, plan, result, shared)
    except streamchat.StreamChatError as exc:
        result.error = exc
    except BaseException as exc:  # an untyped failure is itself a finding
        result.error = exc
    result.elapsed = time.monotonic() - began
    result.finished = True


def run(client: streamchat.Client, number: int, plan: Plan, result: Result,
        shared: threading.Event) -> None:
    cancel = {"cancel": threading.Event(), "shared": shared}.get(plan.behaviour)
    stream = client.stream(f"stream {number}", cancel=cancel)
    action = {"interrupt": stream.interrupt, "pause": stream.pause, "close": stream.close,
              "cancel": cancel.set if cancel is not None else None}.get(plan.behaviour)
    if action is not None:
        threading.Timer(plan.after, action).start()
    try:
        with stream:
            if plan.behaviour == "next":
                while True:
                    try:
                        result.events.append(next(stream))
                    except StopIteration:
                        break
                return
            for event in stream:
                result.events.append(event)
                texts = sum(1 for e in result.events if e.type == "text")
                if plan.behaviour == "break" and texts > plan.fault_at // 2:
                    break
    finally:
        result.response = stream.response


def abandon(client: streamchat.Client, number: int, plan: Plan, result: Result) -> None:
    """Leave the loop without `with` or any reference, as a script's `break` does."""
    streams: List[Any] = []
    for event in track(client.stream(f"stream {number}"), streams):
        result.events.append(event)
        if sum(1 for e in result.events if e.type == "text") > plan.fault_at // 2:
            break
    result.freed = streams[0]() is None


def track(stream: streamchat.Stream, refs: List[Any]) -> Any:
    refs.append(weakref.ref(stream))
    return iter(stream)


def check(plan: Plan, result: Result) -> List[str]:
    """Everything wrong with one stream's outcome (empty when it is right)."""
    problems = []
    events = result.events
    shown = "".join(e.text for e in events if e.type == "text")
    full = plan.text()
    if not result.finished:
        return ["never ended"]
    if result.elapsed > SLOW:
        problems.append(f"took {result.elapsed:.1f} s (deadlines are 3 s and 2 s)")
    if not full.startswith(shown):
        problems.append(f"showed text the server never sent: {shown[:60]!r}")
    # Interrupted before the first event; close() from another thread ends it silently.
    interrupted_at_once = [e.type for e in events] in (["cancelled"], ["paused"]) or (
        not events and plan.behaviour == "close")
    if not interrupted_at_once and (not events or events[0].type != "start"):
        problems.append("did not begin with start")
    error = result.error
    last = events[-1].type if events else None
    if result.response is not None and result.response.finish_reason in ("cancelled", "paused"):
        last = result.response.finish_reason  # a break or close ends it without an event
    if plan.behaviour == "abandon":
        if result.freed is False:
            problems.append("an abandoned loop left its Stream alive")
        if error is None and last != "done" and not full.startswith(shown):
            problems.append("an abandoned stream showed text the server never sent")
        if error is not None and not isinstance(error, streamchat.StreamChatError):
            problems.append(f"untyped error {error!r}")
        return problems
    if error is not None:
        if not isinstance(error, streamchat.StreamChatError):
            return [*problems, f"untyped error {error!r}"]
        if error.partial is None or error.partial.text != shown:
            problems.append("error.partial does not hold what was shown")
        expected = {
            "reset": (streamchat.ConnectionFailedError, streamchat.ProtocolError),
            "truncate": (streamchat.ProtocolError,),
            "stall": (streamchat.StreamTimeoutError,),
            "trickle": (streamchat.StreamTimeoutError,),
        }.get(plan.fault, ())
        if not isinstance(error, expected):
            problems.append(f"{plan.fault} fault ended as {type(error).__name__}: {error}")
        if plan.fault == "truncate" and shown != plan.text(plan.fault_at):
            problems.append(f"a truncated stream lost text it had received: {len(shown)} of "
                            f"{len(plan.text(plan.fault_at))} chars, events "
                            f"{[e.type for e in events][-4:]}")
        if plan.fault in ("reset", "trickle") and not plan.text(plan.fault_at).startswith(shown):
            problems.append(f"a {plan.fault} stream showed text past the fault")
        return problems
    response = result.response
    if response is None:
        return [*problems, "no response and no error"]
    if response.text != shown:
        problems.append("response.text differs from the text events")
    if last == "done":
        if shown != full or response.finish_reason != "stop":
            problems.append(f"done with {len(shown)}/{len(full)} chars of text")
    elif last in ("cancelled", "paused"):
        if INTERRUPTED.get(plan.behaviour) != last:
            problems.append(f"{last} without being asked to")
    else:
        problems.append(f"ended with {last!r}")
    if plan.behaviour in ("drain", "next") and plan.fault in ("none", "500", "gzip") \
            and last != "done":
        problems.append("a drained stream without a lasting fault did not finish")
    return problems


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(baseline_threads: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [t for t in threading.enumerate()
                 if t.name.startswith(("streamchat-", "soak-"))]
        if not alive and threading.active_count() <= baseline_threads:
            break
        time.sleep(0.05)
    return threading.active_count()


def python_blocks() -> int:
    """Memory blocks Python has allocated: unlike RSS, it falls when objects are freed."""
    return sys.getallocatedblocks()


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def after_collection(measure: Any) -> Any:
    """Measure once the finished streams that failed are collected (see alive_streams):
    what remains is what a long-running process keeps."""
    gc.collect()
    return measure()


def alive_streams() -> Tuple[int, int]:
    """Streams still in memory (gc.get_objects sees them with gc disabled): those not
    finished, which would hold a thread or a socket, and all of them. A failed stream
    keeps its error, whose traceback holds the frames that refer to the Stream: a cycle,
    but of finished objects, freed by the next collection."""
    from streamchat.stream import Stream

    streams = [o for o in gc.get_objects() if isinstance(o, Stream)]
    return sum(1 for o in streams if not o._finished), len(streams)


def soak_round(rng: random.Random, totals: Dict[str, int], problems: List[str]) -> None:
    plans = make_plans(rng, STREAMS)
    shared = threading.Event()  # one "stop everything" switch for the round's shared streams
    with SoakServer(plans) as server:
        client = streamchat.Client(
            "openai", model="soak", api_key="sk-soak-0123456789", base_url=server.url,
            retry=streamchat.RetryPolicy(max_attempts=2, initial_delay=0.01, jitter=0),
            timeouts=streamchat.Timeouts(connect=5, first_token=3, idle=2),
        )
        results = [Result() for _ in plans]
        barrier = threading.Barrier(len(plans))
        consumers = [
            threading.Thread(target=consume,
                             args=(client, n, plan, results[n], barrier, shared),
                             name="soak-consumer", daemon=True)
            for n, plan in enumerate(plans)
        ]
        for thread in consumers:
            thread.start()
        switch = threading.Timer(rng.uniform(0.0, 0.05), shared.set)
        switch.start()
        for thread in consumers:
            thread.join(HANG_GUARD)
        switch.join()
        client.close()
        for number, (plan, result) in enumerate(zip(plans, results)):
            for problem in check(plan, result):
                problems.append(f"stream {number} ({plan.fault}/{plan.behaviour}): {problem}")
            totals["streams"] += 1
            totals["events"] += len(result.events)
            totals["retries"] += sum(1 for e in result.events if e.type == "retry")
            ending = (type(result.error).__name__ if result.error is not None
                      else result.events[-1].type if result.events else "nothing")
            totals[f"ended {ending}"] += 1
            totals[f"client {plan.behaviour}"] += 1
        for name, count in server.injected.items():
            totals[f"fault {name}"] += count
        totals["requests"] += sum(server.attempts.values())


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts /proc/self/fd")
def test_soak_concurrent_streams_with_faults():
    rng = random.Random(SEED)
    gc.collect()
    gc.disable()  # every Stream, Worker, thread and socket must go by reference counting
    try:
        base_threads = threading.active_count()
        base_fds = open_fds()
        base_rss = rss_mb()
        totals: Dict[str, int] = collections.Counter()
        problems: List[str] = []
        started = time.monotonic()
        rounds = 0
        first_rss = None
        first_blocks = 0
        while rounds < ROUNDS or time.monotonic() - started < SECONDS:
            soak_round(rng, totals, problems)
            rounds += 1
            if first_rss is None:
                settle(base_threads)
                first_rss = after_collection(rss_mb)
                first_blocks = python_blocks()
        elapsed = time.monotonic() - started
        threads_after = settle(base_threads)
        open_streams, kept = alive_streams()
        last_rss = after_collection(rss_mb)
        last_blocks = python_blocks()
    finally:
        gc.enable()
    gc.collect()
    fds_after = open_fds()
    _, left = alive_streams()
    leaks = []
    if threads_after > base_threads:
        leaks.append(f"threads {base_threads} -> {threads_after}")
    if fds_after > base_fds:
        leaks.append(f"fds {base_fds} -> {fds_after}")
    if open_streams:
        leaks.append(f"{open_streams} unfinished Streams alive with the collector off")
    if left:
        leaks.append(f"{left} Streams alive after a collection")
    assert first_rss is not None
    if last_blocks > first_blocks * MEMORY_MARGIN:
        leaks.append(f"Python memory blocks {first_blocks} after the first round -> "
                     f"{last_blocks}")
    faults = sum(v for k, v in totals.items() if k.startswith("fault "))
    print(f"\nsoak: {totals['streams']} streams in {rounds} round(s) of {STREAMS}, "
          f"{elapsed:.1f} s, {totals['requests']} requests, "
          f"{totals['events']} events, {faults} faults injected, "
          f"{totals['retries']} retries, {len(problems)} wrong outcomes, "
          f"leaks: {', '.join(leaks) or 'none'}")
    print(f"soak: threads {base_threads} -> {threads_after}, fds {base_fds} -> {fds_after}, "
          f"finished Streams kept by their errors' tracebacks until a collection {kept}, "
          f"unfinished {open_streams}, after a collection {left}; RSS {base_rss:.1f} MB at start, "
          f"{first_rss:.1f} MB after round 1, {last_rss:.1f} MB at the end (glibc keeps "
          f"freed thread arenas); Python blocks {first_blocks} after round 1, {last_blocks} "
          f"at the end")
    for name in sorted(k for k in totals if k.startswith(("fault ", "client ", "ended "))):
        print(f"soak:   {name}: {totals[name]}")
    assert not problems, "\n".join(problems[:20])
    assert not leaks, leaks
