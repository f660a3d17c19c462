"""Time to the first event: from the call that starts a stream to the first text delta in
the caller's hands, for the first stream of a new client (cold: a new connection, the
worker's first thread) and for a client's next stream (warm: a pooled connection)."""

from __future__ import annotations

import statistics
import time
from typing import Dict, List

from benchmarks import clients
from benchmarks.context import Context, log
from benchmarks.measure import ms, percentile, verdict, warm_up

EVENTS = 20
"""A short answer: the rest of it is read, untimed, so that the connection is pooled."""
SLACK = 0.001
"""Issue 20's target: within 1 ms of the floor's time, cold and warm."""


def first_event(client: clients.Client, wire: str, base: str) -> float:
    started = time.perf_counter()
    texts = client.texts(wire, base)
    next(texts)
    elapsed = time.perf_counter() - started
    for _ in texts:
        pass
    return elapsed


def scenario_first_event(ctx: Context) -> None:
    s = ctx.settings
    log(f"first event: {s.first_event_runs} cold and warm streams of each client, interleaved")
    lib, floor = clients.StreamChat(), clients.Floor()
    warm_up(lib, ctx)  # lazy imports and the wire module load once per process, not per Client
    warm_up(floor, ctx)
    wire = "openai"
    base = ctx.base("bulk", wire, EVENTS)
    samples: Dict[str, Dict[str, List[float]]] = {
        phase: {"streamchat": [], "floor": []} for phase in ("cold", "warm")
    }
    for _ in range(s.first_event_runs):
        for name, client in (("floor", floor), ("streamchat", lib)):
            client.close()
            client.prepare(wire, base)  # a new client: no pooled connection, no thread yet
            samples["cold"][name].append(first_event(client, wire, base))
            samples["warm"][name].append(first_event(client, wire, base))
    lib.close()
    floor.close()
    labels = {"cold": "first stream of a new Client", "warm": "next stream, pooled connection"}
    for phase, got in samples.items():
        mine, ref = got["streamchat"], got["floor"]
        # Each round's two streams ran side by side: the median of their differences
        # cancels the machine's drift better than the difference of two medians.
        paired = statistics.median(a - b for a, b in zip(mine, ref))
        ctx.add("first event", f"{labels[phase]} ({wire})", "streamchat",
                "time to first event, median", ms(statistics.median(mine)),
                ms(statistics.median(ref)), f"{paired * 1000:+.2f} ms", "<= floor + 1 ms",
                verdict(paired <= SLACK))
        ctx.add("first event", f"{labels[phase]} ({wire})", "streamchat",
                "time to first event, p90", ms(_p90(mine)), ms(_p90(ref)),
                f"{(_p90(mine) - _p90(ref)) * 1000:+.2f} ms")


def _p90(values: List[float]) -> float:
    return percentile(values, 0.9)
