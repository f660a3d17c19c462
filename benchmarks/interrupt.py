"""3. Interrupt latency: a stream whose server has gone silent, stopped from another
thread; how long until the caller's loop ends and until the server sees the close."""

from __future__ import annotations

import gc
import os
import statistics
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

from benchmarks import clients
from benchmarks.context import Context, log
from benchmarks.measure import ms, open_fds, verdict, warm_up
from benchmarks.processes import run_child, run_peer, server_saw_close


def interrupt_once(client: clients.Client, ctx: Context, token: str,
                   cap: float) -> Dict[str, Optional[float]]:
    """Open a stream that goes silent after one event, stop it from another thread and
    time until the consumer's loop ends, and until the server sees the socket close."""
    wire = "openai" if "openai" in client.wires else client.wires[0]
    base = ctx.base("silent", wire, 1, "chunked", token)
    handle = client.open(wire, base)
    assert handle.stop is not None
    next(handle.texts)
    ended = threading.Event()
    end_time: List[float] = []

    def consume() -> None:
        try:
            for _ in handle.texts:
                pass
        except Exception:  # how a peer reports the stop does not matter
            pass
        end_time.append(time.monotonic())
        ended.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    time.sleep(0.03)  # the consumer is now blocked, waiting on a silent socket
    fired = time.monotonic()
    # A stop that blocks (a close that waits for the reader's lock) must not block us.
    threading.Thread(target=handle.stop, daemon=True).start()
    woke = ended.wait(cap)
    result: Dict[str, Optional[float]] = {"latency": end_time[0] - fired if woke else None}
    if not woke:
        handle.cleanup()
        ended.wait(2)
    closed = server_saw_close(ctx.port, token)
    result["server"] = None if closed is None or not woke else closed - fired
    return result


def scenario_interrupt(ctx: Context) -> None:
    s = ctx.settings
    log(f"3. interrupt latency: {s.interrupts} interrupts of a silent stream")
    lib = clients.StreamChat()
    warm_up(lib, ctx)
    lat, srv = [], []
    for i in range(s.interrupts):
        got = interrupt_once(lib, ctx, f"sc{os.getpid()}-{i}", cap=2.0)
        assert got["latency"] is not None, "streamchat did not stop within 2 s"
        lat.append(got["latency"])
        srv.append(got["server"] if got["server"] is not None else float("inf"))
    lib.close()
    floor_result = stops(ctx, clients.Floor())
    results = {peer.name: run_peer(ctx, peer.name, "interrupt") for peer in ctx.peers}
    ctx.add("3 interrupt", "silent stream", "streamchat", "stop, median",
            ms(statistics.median(lat)), floor_result)
    ctx.add("3 interrupt", "silent stream", "streamchat", f"stop, worst of {len(lat)}",
            ms(max(lat)), floor_result, "", "< 20 ms", verdict(max(lat) < 0.020))
    ctx.add("3 interrupt", "silent stream", "streamchat", "server sees close, median",
            ms(statistics.median(srv)))
    ctx.add("3 interrupt", "silent stream", "streamchat", f"server sees close, worst of {len(srv)}",
            ms(max(srv)), "", "", "< 50 ms", verdict(max(srv) < 0.050))
    for name, text in results.items():
        ctx.add("3 interrupt", "silent stream", name, "stop (close() from another thread)", text,
                floor_result)
    idle_rows(ctx)


def stops(ctx: Context, other: clients.Client) -> str:
    """How a client without streamchat's interrupt fares: close() from another thread."""
    woke: List[Optional[float]] = []
    for i in range(ctx.settings.floor_interrupts):
        try:
            got = interrupt_once(other, ctx, f"{other.name[:3]}{os.getpid()}-{i}", cap=1.0)
            woke.append(got["latency"])
        except Exception as exc:  # a broken peer is reported, not fatal
            woke.append(None)
            log(f"  {other.name}: {exc!r}")
    other.close()
    stopped = [w for w in woke if w is not None]
    if len(stopped) == len(woke):
        return f"{ms(max(stopped))} worst of {len(woke)}"
    return f"not in 1 s ({len(woke) - len(stopped)} of {len(woke)})"


def peer_interrupt(ctx: Context, peer: clients.Client) -> str:
    warm_up(peer, ctx)
    return stops(ctx, peer)


# -- many idle streams at once ---------------------------------------------------------

IDLE_MODES = {"event": "one cancel Event set", "interrupt": "interrupt() on each"}


def idle_child(mode: str, streams: int, port: int) -> Dict[str, Any]:
    """In a fresh process: `streams` threads each wait on a stream from one Client whose
    server has gone silent after one event; all are stopped at once, by setting the one
    cancel Event they share or by calling each one's interrupt(). Times until every
    caller's loop has ended, and what is left behind.

    Mode "floor" is the same with the floor's loop (requests, read1, json.loads), each
    socket shut down from one thread: what a thread per stream costs on this machine
    with no library in the way."""
    base_threads, base_fds = threading.active_count(), open_fds()
    base = f"http://127.0.0.1:{port}/silent/openai/1/chunked/idle"
    lib: clients.Client = clients.Floor() if mode == "floor" else clients.StreamChat()
    stop = threading.Event()
    lock = threading.Lock()
    handles: List[Any] = []
    waiting = threading.Semaphore(0)
    ends: List[float] = []
    last: List[str] = []
    failures: List[str] = []
    finished = threading.Semaphore(0)

    def kinds() -> Iterator[str]:
        if isinstance(lib, clients.StreamChat):
            stream = lib.client("openai", base).stream(
                clients.PROMPT, cancel=stop if mode == "event" else None)
            with lock:
                handles.append(stream.interrupt)
            return (event.type for event in stream)
        handle = lib.open("openai", base)
        with lock:
            handles.append(handle.cleanup)  # the socket's shutdown
        return floor_kinds(handle.texts)

    def floor_kinds(texts: Iterator[str]) -> Iterator[str]:
        try:
            for _ in texts:
                yield "text"
        except Exception:
            return  # urllib3 fails the read of a socket shut down: the loop is over

    def one() -> None:
        try:
            events = kinds()
            for kind in events:
                if kind == "text":
                    break
            waiting.release()
            rest = list(events)
            ends.append(time.perf_counter())
            last.append(rest[-1] if rest else "ended")  # the floor's loop just ends
        except Exception as exc:
            failures.append(repr(exc))
            waiting.release()
        finished.release()

    # Daemon threads, joined only once every loop has ended: joining a thousand ordinary
    # threads costs the joiner time quadratic in their number (CPython scans its
    # shutdown locks on each join), CPU that the streams being timed would lose.
    threads = [threading.Thread(target=one, daemon=True) for _ in range(streams)]
    for thread in threads:
        thread.start()
    for _ in range(streams):
        waiting.acquire(timeout=30)
    time.sleep(0.2)  # every caller is now blocked, waiting for its silent server
    gc.collect()
    peak_threads = threading.active_count()
    fired = time.perf_counter()
    if mode == "event":
        stop.set()
    else:
        for stop_one in handles:
            stop_one()
    for _ in range(streams):
        finished.acquire(timeout=10)
    for thread in threads:
        thread.join(10)
    took = [end - fired for end in ends]
    deadline = time.monotonic() + 2.0
    while threading.active_count() > base_threads and time.monotonic() < deadline:
        time.sleep(0.01)
    gc.collect()
    after_threads, after_fds = threading.active_count(), open_fds()
    lib.close()
    return {
        "worst": max(took) if took else None, "median": statistics.median(took) if took else None,
        "ended": len(ends), "cancelled": last.count("cancelled"), "failures": failures[:3],
        "peak_threads": peak_threads, "base_threads": base_threads,
        "after_threads": after_threads, "base_fds": base_fds, "after_fds": after_fds,
        "closed_fds": open_fds(),
    }


def idle_rows(ctx: Context) -> None:
    n = ctx.settings.idle_streams
    floor = idle_run(ctx, "floor")
    floor_worst = "-" if floor is None or floor["worst"] is None else ms(floor["worst"])
    for mode, label in IDLE_MODES.items():
        case = f"{n:,} idle streams, {label}"
        got = idle_run(ctx, mode)
        if got is None:
            continue
        ok = got["ended"] == n and got["cancelled"] == n and not got["failures"]
        worst = got["worst"]
        ctx.add("3 interrupt", case, "streamchat", "every loop ended, worst",
                "-" if worst is None else ms(worst), floor_worst,
                f"median {ms(got['median'])}" if got["median"] is not None else "",
                "< 100 ms", verdict(ok and worst is not None and worst < 0.1))
        if not ok:
            ctx.add("3 interrupt", case, "streamchat", "ended, cancelled, failures",
                    f"{got['ended']}, {got['cancelled']}, {got['failures']}")
        clean = (got["after_threads"] <= got["base_threads"]
                 and got["closed_fds"] <= got["base_fds"])
        ctx.add("3 interrupt", case, "streamchat",
                "threads before/peak/after, fds before/after/closed",
                f"{got['base_threads']}/{got['peak_threads']}/{got['after_threads']}, "
                f"{got['base_fds']}/{got['after_fds']}/{got['closed_fds']}", "",
                f"{got['warnings']} warnings" if got["warnings"] else "",
                "back to baseline", verdict(clean))


def idle_run(ctx: Context, mode: str) -> Optional[Dict[str, Any]]:
    """One idle child's figures, or None (and a row saying why) when it failed."""
    n = ctx.settings.idle_streams
    try:
        got: Dict[str, Any] = run_child(
            ["--idle-child", mode, "--streams", str(n), "--port", str(ctx.port)])
    except Exception as exc:
        ctx.add("3 interrupt", f"{n:,} idle streams, {mode}", mode, "all ended",
                f"failed: {exc}")
        return None
    return got
