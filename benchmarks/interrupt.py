"""3. Interrupt latency: a stream whose server has gone silent, stopped from another
thread; how long until the caller's loop ends and until the server sees the close."""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Dict, List, Optional

from benchmarks import clients
from benchmarks.context import Context, log
from benchmarks.measure import ms, verdict, warm_up
from benchmarks.processes import run_peer, server_saw_close


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
