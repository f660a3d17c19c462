"""5. Start-up: importing streamchat, and making its first Client, in a fresh interpreter."""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Dict, List

from benchmarks.context import ROOT, Context, log
from benchmarks.measure import ms, verdict
from benchmarks.processes import child_env

_IMPORT = (
    "import time\nt = time.perf_counter()\n{statement}\nd = time.perf_counter() - t\n"
    "rss = [l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1]\n"
    "print(d, rss)\n"
)


def import_once(statement: str) -> List[float]:
    out = subprocess.run([sys.executable, "-c", _IMPORT.format(statement=statement)], cwd=ROOT,
                         env=child_env(), capture_output=True, text=True, check=True).stdout
    seconds, rss = out.split()
    return [float(seconds), int(rss) / 1024]


def scenario_startup(ctx: Context) -> None:
    s = ctx.settings
    log(f"5. start-up: import in a fresh interpreter, median of {s.startup_runs}")
    subjects = {
        "streamchat": "import streamchat",
        # Public names load on first use, so the honest cost of using the library is the
        # import plus the first Client (every model, the transport, one adapter).
        "streamchat+client": "import streamchat\nstreamchat.Client('openai', api_key='k')",
        "deps": "import requests, pydantic, sseclient",
        # pydantic imports lazily: its model machinery loads with the first BaseModel.
        "deps+models": "import requests, sseclient\n"
                       "from pydantic import BaseModel, ConfigDict, Field",
        "bare": "import sys",
    }
    peers = {p.name: p.name.split()[0] for p in ctx.peers}
    subjects.update({name: f"import {module}" for name, module in peers.items()})
    for statement in subjects.values():
        import_once(statement)  # compile and cache bytecode first
    samples: Dict[str, List[List[float]]] = {name: [] for name in subjects}
    for _ in range(s.startup_runs):
        for name, statement in subjects.items():
            samples[name].append(import_once(statement))

    def med(name: str, i: int) -> float:
        return statistics.median(x[i] for x in samples[name])

    t, dep_t, model_t = med("streamchat", 0), med("deps", 0), med("deps+models", 0)
    ctx.add("5 start-up", "import streamchat", "streamchat", "import time", ms(t), ms(dep_t),
            f"{t / dep_t:.2f}x", "<= 1.25x", verdict(t / dep_t <= 1.25))
    ctx.add("5 start-up", "import streamchat", "streamchat", "RSS after import",
            f"{med('streamchat', 1):.1f} MB", f"{med('deps', 1):.1f} MB",
            f"{med('streamchat', 1) - med('deps', 1):+.1f} MB",
            f"bare python {med('bare', 1):.1f} MB")
    first = med("streamchat+client", 0)
    ctx.add("5 start-up", "import + first Client", "streamchat", "time", ms(first), ms(dep_t),
            f"{first / dep_t:.2f}x")
    ctx.add("5 start-up", "import + first Client", "streamchat", "RSS after",
            f"{med('streamchat+client', 1):.1f} MB", f"{med('deps', 1):.1f} MB",
            f"{med('streamchat+client', 1) - med('deps', 1):+.1f} MB")
    ctx.add("5 start-up", "deps + BaseModel, Field", "(reference)", "import time", ms(model_t),
            ms(dep_t), f"{model_t / dep_t:.2f}x")
    for name, module in peers.items():
        ctx.add("5 start-up", f"import {module}", name, "import time", ms(med(name, 0)),
                ms(dep_t), f"{med(name, 0) / dep_t:.2f}x")
        ctx.add("5 start-up", f"import {module}", name, "RSS after import",
                f"{med(name, 1):.1f} MB", f"{med('deps', 1):.1f} MB")
