"""streamchat's benchmarks (issue 8): one table, each figure beside a floor.

Every figure stands beside a floor measured in the same run, so that the machine's drift
cancels out. The floor is the least a Python client can do with the same bytes: requests,
`read1` of what has arrived, line splitting and one `json.loads` per event. Costs per
event are also given in units of one `json.loads` of a typical chunk of the wire format,
timed in the same run: a unit that stays put when the machine's speed drifts.

    python -m benchmarks                 # every scenario, a few minutes on 2 cores
    python -m benchmarks --quick         # a short run
    python -m benchmarks --scenario throughput --scenario interrupt
    python -m benchmarks --format rst    # the table as reStructuredText, for docs/performance.rst

Scenarios: throughput, first-event, latency, interrupt (also of 1,000 idle streams at
once), concurrency (up to 1,000 streams), startup. Peer SDKs (openai, anthropic, litellm)
join throughput, latency, interrupt and concurrency where they are installed; --no-peers
leaves them out. Linux only: memory, descriptors and threads are read from /proc.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import clients
from benchmarks.breakdown import scenario_breakdown
from benchmarks.concurrency import concurrency_child, scenario_concurrency
from benchmarks.context import Context, Settings, log
from benchmarks.first_event import scenario_first_event
from benchmarks.interrupt import idle_child, peer_interrupt, scenario_interrupt
from benchmarks.latency import peer_latency, scenario_latency
from benchmarks.processes import ServerProcess
from benchmarks.request_building import scenario_request_building
from benchmarks.startup import scenario_startup
from benchmarks.table import table
from benchmarks.throughput import peer_throughput, scenario_throughput

SCENARIOS = ("throughput", "first-event", "latency", "interrupt", "concurrency", "startup")
EXTRA = ("breakdown", "request-building")
"""Run only when named: where the library's time goes, stage by stage, and what building a
request costs."""

def machine() -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), "")
    except OSError:
        pass
    versions = []
    for name in ("requests", "urllib3", "pydantic", "sseclient-py"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return (f"{os.cpu_count()} cores ({cpu or platform.machine()}), Python "
            f"{platform.python_version()} on {platform.system()} {platform.release()}; "
            + ", ".join(versions))


RUNNERS: Dict[str, Callable[[Context], None]] = {
    "throughput": scenario_throughput,
    "first-event": scenario_first_event,
    "latency": scenario_latency,
    "interrupt": scenario_interrupt,
    "concurrency": scenario_concurrency,
    "startup": scenario_startup,
    "breakdown": scenario_breakdown,
    "request-building": scenario_request_building,
}

PEER_SCENARIOS: Dict[str, Callable[[Context, clients.Client], Any]] = {
    "throughput": peer_throughput,
    "latency": peer_latency,
    "interrupt": peer_interrupt,
}
"""What a peer measures in its own process (see processes.run_peer)."""

def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS + EXTRA,
                        help="run only this scenario (repeatable)")
    parser.add_argument("--no-peers", action="store_true", help="leave installed peer SDKs out")
    parser.add_argument("--format", choices=("text", "rst"), default="text")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--peer-child", help=argparse.SUPPRESS)
    parser.add_argument("--idle-child", help=argparse.SUPPRESS)
    parser.add_argument("--streams", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(concurrency_child(args.child, args.streams, args.events, args.port)))
        return 0
    if args.idle_child:
        print(json.dumps(idle_child(args.idle_child, args.streams, args.port)))
        return 0
    settings = Settings.quick() if args.quick else Settings()
    if args.peer_child:
        ctx = Context(args.port, settings, [], args.quick)
        peer = clients.make(args.peer_child)
        print(json.dumps(PEER_SCENARIOS[args.scenario[0]](ctx, peer)))
        return 0
    peers = [] if args.no_peers else [factory() for factory in clients.installed_peers()]
    started = time.monotonic()
    log(f"machine: {machine()}")
    log("peers: " + (", ".join(p.name for p in peers) or "none installed"))
    with ServerProcess() as port:
        ctx = Context(port, settings, peers, args.quick)
        for name in args.scenario or SCENARIOS:
            RUNNERS[name](ctx)
    elapsed = time.monotonic() - started
    print(f"streamchat benchmarks ({'quick' if args.quick else 'full'} run, {elapsed:.0f} s); "
          f"{machine()}")
    print(f"peers: {', '.join(p.name for p in peers) or 'none installed (skipped)'}")
    print(table(ctx.rows, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
