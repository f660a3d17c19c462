"""4. Concurrency: N threads each reading one stream from one shared client, in a fresh
process per client, for wall time, peak memory and what is left behind."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List

from benchmarks import clients
from benchmarks.context import ROOT, Context, log
from benchmarks.measure import ms, open_fds, proc_status, rate, verdict
from benchmarks.processes import child_env


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


def run_child(name: str, streams: int, events: int, port: int) -> Dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--child", name, "--streams", str(streams),
         "--events", str(events), "--port", str(port)],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["warnings"] = sum(1 for line in done.stderr.splitlines() if "WARNING" in line
                             or "pool is full" in line)
    return result


def scenario_concurrency(ctx: Context) -> None:
    s = ctx.settings
    log(f"4. concurrency: {', '.join(map(str, s.concurrency))} streams of "
        f"{s.concurrency_events:,} events, one client, a thread each")
    cases = [(streams, s.concurrency_events, ["streamchat"]) for streams in s.concurrency]
    if ctx.peers:
        # The peers are slower by an order of magnitude: shorter streams keep the run short.
        cases.append((s.concurrency[0], s.peer_concurrency_events, [p.name for p in ctx.peers]))
    for streams, events, names in cases:
        floor = run_child("floor", streams, events, ctx.port)
        total = streams * events
        case = f"{streams} streams of {events:,}"
        for name in names:
            try:
                got = run_child(name, streams, events, ctx.port)
            except Exception as exc:  # a broken peer is reported, not fatal
                ctx.add("4 concurrency", case, name, "wall time", f"failed: {exc}")
                continue
            complete = got["events"] == total and not got["failures"]
            main = name == "streamchat" and streams == 100
            ratio = got["wall"] / floor["wall"]
            ctx.add("4 concurrency", case, name, "wall time", ms(got["wall"]), ms(floor["wall"]),
                    f"{ratio:.2f}x", "<= 3x" if main else "", verdict(ratio <= 3) if main else "")
            ctx.add("4 concurrency", case, name, "events/s, all streams",
                    rate(got["events"] / got["wall"]), rate(floor["events"] / floor["wall"]),
                    "" if complete else f"{got['ok']} of {streams} complete")
            rss, frss = got["peak_rss_kb"] / 1024, floor["peak_rss_kb"] / 1024
            ctx.add("4 concurrency", case, name, "peak RSS", f"{rss:.1f} MB", f"{frss:.1f} MB",
                    f"{rss - frss:+.1f} MB", "< 60 MB" if main else "",
                    verdict(rss < 60) if main else "")
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
