"""4. Concurrency: N threads each reading one stream from one shared client, in a fresh
process per client, for wall time, peak memory and what is left behind."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, Dict, List

from benchmarks import clients
from benchmarks.context import Context, log
from benchmarks.measure import ms, open_fds, proc_status, rate, verdict
from benchmarks.processes import run_child


def concurrency_child(name: str, streams: int, events: int, port: int) -> Dict[str, Any]:
    """In a fresh process: `streams` threads each read one stream from one shared client."""
    base_threads, base_fds = threading.active_count(), open_fds()
    client = clients.make(name)
    wire = "openai" if "openai" in client.wires else client.wires[0]
    base = f"http://127.0.0.1:{port}/bulk/{wire}/{events}/chunked/0"
    client.count(wire, f"http://127.0.0.1:{port}/bulk/{wire}/10/chunked/0")
    gc.collect()
    barrier = threading.Barrier(streams + 1)
    counts: List[int] = []
    failures: List[str] = []

    def one() -> None:
        barrier.wait()
        try:
            counts.append(client.count(wire, base))
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(streams)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    deadline = time.monotonic() + 2.0
    while threading.active_count() > base_threads and time.monotonic() < deadline:
        time.sleep(0.01)
    gc.collect()
    after_threads, after_fds = threading.active_count(), open_fds()
    client.close()
    gc.collect()
    return {
        "wall": wall, "events": sum(counts), "ok": len(counts), "failures": failures[:3],
        "peak_rss_kb": proc_status("VmHWM"), "base_threads": base_threads,
        "after_threads": after_threads, "base_fds": base_fds, "after_fds": after_fds,
        "closed_fds": open_fds(),
    }


def child(name: str, streams: int, events: int, port: int) -> Dict[str, Any]:
    return run_child(["--child", name, "--streams", str(streams), "--events", str(events),
                      "--port", str(port)])


TARGETS = {(100, 1000): (2.0, 55.0), (1000, 200): (3.0, 250.0)}
"""Issue 20: (wall time against the floor's, peak RSS in MB) for these (streams, events)."""


def scenario_concurrency(ctx: Context) -> None:
    s = ctx.settings
    log("4. concurrency: " + ", ".join(f"{n} streams of {e:,} events" for n, e in s.concurrency)
        + ", one client, a thread each")
    cases = [(streams, events, ["streamchat"]) for streams, events in s.concurrency]
    if ctx.peers:
        # The peers are slower by an order of magnitude: shorter streams keep the run short.
        cases.append((s.concurrency[0][0], s.peer_concurrency_events,
                      [p.name for p in ctx.peers]))
    for streams, events, names in cases:
        floor = child("floor", streams, events, ctx.port)
        total = streams * events
        case = f"{streams:,} streams of {events:,}"
        for name in names:
            try:
                got = child(name, streams, events, ctx.port)
            except Exception as exc:  # a broken peer is reported, not fatal
                ctx.add("4 concurrency", case, name, "wall time", f"failed: {exc}")
                continue
            complete = got["events"] == total and not got["failures"]
            target = TARGETS.get((streams, events)) if name == "streamchat" else None
            ratio = got["wall"] / floor["wall"]
            ctx.add("4 concurrency", case, name, "wall time", ms(got["wall"]), ms(floor["wall"]),
                    f"{ratio:.2f}x", f"<= {target[0]:g}x" if target else "",
                    verdict(ratio <= target[0]) if target else "")
            ctx.add("4 concurrency", case, name, "events/s, all streams",
                    rate(got["events"] / got["wall"]), rate(floor["events"] / floor["wall"]),
                    "" if complete else f"{got['ok']} of {streams} complete",
                    "every stream complete" if target else "", verdict(complete) if target else "")
            rss, frss = got["peak_rss_kb"] / 1024, floor["peak_rss_kb"] / 1024
            ctx.add("4 concurrency", case, name, "peak RSS", f"{rss:.1f} MB", f"{frss:.1f} MB",
                    f"{rss - frss:+.1f} MB", f"< {target[1]:g} MB" if target else "",
                    verdict(rss < target[1]) if target else "")
            clean = (got["after_threads"] <= got["base_threads"]
                     and got["closed_fds"] <= got["base_fds"])
            ctx.add("4 concurrency", case, name, "threads before/after, fds before/after/closed",
                    f"{got['base_threads']}/{got['after_threads']}, "
                    f"{got['base_fds']}/{got['after_fds']}/{got['closed_fds']}",
                    f"{floor['base_threads']}/{floor['after_threads']}, "
                    f"{floor['base_fds']}/{floor['after_fds']}/{floor['closed_fds']}",
                    f"{got['warnings']} warnings" if got["warnings"] else "",
                    "back to baseline" if name == "streamchat" else "",
                    verdict(clean) if name == "streamchat" else "")
