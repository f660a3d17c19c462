"""Measuring helpers shared by the scenarios: process figures from /proc, percentiles,
the json.loads unit of cost, and the formatting of figures in the table."""

from __future__ import annotations

import json
import os
import statistics
import time
import timeit
from typing import Sequence, Tuple

from benchmarks import bodies, clients
from benchmarks.context import Context

BODIES = {"chunked": "chunked, a chunk per event", "packed": "chunked, 64 KiB chunks",
          "length": "Content-Length"}
"""The bodies a long stream is read from, by the server's name for their framing."""
FRAMINGS = {"chunked": BODIES["chunked"], "length": BODIES["length"],
            "close": "ends with the connection"}
"""The framings of a paced stream, whose events are written one at a time."""


def proc_status(field_name: str) -> int:
    """A number from /proc/self/status (kB for memory fields)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return -1


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def loads_seconds(wire: str, number: int = 20_000) -> float:
    """CPU seconds of one json.loads of a typical text-delta chunk of `wire`: the unit of
    cost. Timed beside each run it divides, it follows the machine's drift as the run does.
    """
    chunk = bodies.typical_chunk(wire)
    timer = timeit.Timer(lambda: json.loads(chunk), timer=time.process_time)
    return min(timer.repeat(repeat=3, number=number)) / number


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def time_count(client: clients.Client, wire: str, base: str) -> Tuple[float, float]:
    """Read one stream: (wall seconds, CPU seconds of this process, every thread's)."""
    wall, cpu = time.perf_counter(), time.process_time()
    client.count(wire, base)
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(samples: Sequence[Tuple[float, float]]) -> Tuple[float, float]:
    return (statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples))


def warm_up(client: clients.Client, ctx: Context) -> None:
    """One short stream first: lazy imports and first-use set-up are not delivery time."""
    wire = "openai" if "openai" in client.wires else client.wires[0]
    client.count(wire, ctx.base("bulk", wire, 10))
