"""What every scenario is handed: the settings of the run, the rows of the table so far
and the address of the loopback server."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Sequence, Tuple

from benchmarks import clients

ROOT = Path(__file__).resolve().parent.parent
"""The repository: child interpreters run from here."""


@dataclass
class Settings:
    events: int = 50_000
    runs: int = 5
    peer_events: int = 10_000
    peer_runs: int = 3
    paced_events: int = 100
    interval_ms: int = 20
    interrupts: int = 50
    floor_interrupts: int = 2
    first_event_runs: int = 100
    idle_streams: int = 1000
    concurrency: Sequence[Tuple[int, int]] = ((100, 1000), (500, 1000), (1000, 200))
    """(streams, events of each) of the concurrency cases; the first one's streams also
    run the peers' case."""
    peer_concurrency_events: int = 200
    startup_runs: int = 5

    @classmethod
    def quick(cls) -> Settings:
        return cls(events=10_000, runs=2, peer_events=2_000, peer_runs=1, paced_events=30,
                   interrupts=10, floor_interrupts=1, first_event_runs=40,
                   concurrency=((100, 1000), (1000, 200)), peer_concurrency_events=50,
                   startup_runs=3)


@dataclass
class Row:
    scenario: str
    case: str
    client: str
    metric: str
    value: str
    floor: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


@dataclass
class Context:
    port: int
    settings: Settings
    peers: List[clients.Client]
    quick: bool = False
    rows: List[Row] = field(default_factory=list)

    def base(self, kind: str, wire: str, n: int, framing: str = "chunked", arg: str = "0") -> str:
        return f"http://127.0.0.1:{self.port}/{kind}/{wire}/{n}/{framing}/{arg}"

    def add(self, *args: Any, **kwargs: Any) -> None:
        row = Row(*args, **kwargs)
        self.rows.append(row)
        print("  " + " | ".join(x for x in (row.case, row.client, row.metric, row.value,
                                             row.floor, row.ratio, row.met) if x),
              file=sys.stderr, flush=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
