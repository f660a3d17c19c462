"""2. Delivery latency: a paced stream, each event's delay from the server's send to the
caller's loop, and the time to the first event."""

from __future__ import annotations

import time
from typing import Any, Dict, List

from benchmarks import clients
from benchmarks.context import Context, log
from benchmarks.measure import FRAMINGS, ms, percentile, verdict, warm_up
from benchmarks.processes import run_peer


def paced(client: clients.Client, wire: str, base: str) -> Dict[str, Any]:
    """Time to first event and each event's delay from the server's send to our hands."""
    delays: List[float] = []
    client.prepare(wire, base)
    started = time.monotonic()
    first = None
    for text in client.texts(wire, base):
        now = time.monotonic()
        if first is None:
            first = now - started
        if text.startswith("@"):
            delays.append(now - float(text[1:]))
    assert first is not None and delays, f"{client.name} received nothing"
    return {"ttfe": first, "p50": percentile(delays, 0.5), "p99": percentile(delays, 0.99),
            "wire": wire}


def scenario_latency(ctx: Context) -> None:
    s = ctx.settings
    log(f"2. delivery latency: {s.paced_events} events, one every {s.interval_ms} ms")
    lib, floor = clients.StreamChat(), clients.Floor()
    warm_up(lib, ctx)
    warm_up(floor, ctx)
    by_peer = {peer.name: run_peer(ctx, peer.name, "latency") for peer in ctx.peers}
    for framing, label in FRAMINGS.items():
        floors: Dict[str, Dict[str, float]] = {}

        def base(wire: str, framing: str = framing) -> str:
            return ctx.base("pace", wire, s.paced_events, framing, str(s.interval_ms))

        results: Dict[str, Any] = {"streamchat": paced(lib, "openai", base("openai"))}
        results.update({name: got[framing] for name, got in by_peer.items()})
        for name, got in results.items():
            if isinstance(got, str):
                ctx.add("2 latency", label, name, "delay", got)
                continue
            wire = got["wire"]
            if wire not in floors:
                floors[wire] = paced(floor, wire, base(wire))
            ref = floors[wire]
            case = f"{label} ({wire})"
            ctx.add("2 latency", case, name, "time to first event", ms(got["ttfe"]),
                    ms(ref["ttfe"]), f"{(got['ttfe'] - ref['ttfe']) * 1000:+.1f} ms")
            ctx.add("2 latency", case, name, "delay p50", ms(got["p50"]), ms(ref["p50"]),
                    f"{(got['p50'] - ref['p50']) * 1000:+.2f} ms")
            main = name == "streamchat"
            ctx.add("2 latency", case, name, "delay p99", ms(got["p99"]), ms(ref["p99"]),
                    f"{(got['p99'] - ref['p99']) * 1000:+.2f} ms",
                    "<= floor + 2 ms" if main else "",
                    verdict(got["p99"] - ref["p99"] <= 0.002) if main else "")
    lib.close()
    floor.close()


def peer_latency(ctx: Context, peer: clients.Client) -> Dict[str, Any]:
    s = ctx.settings
    wire = "openai" if "openai" in peer.wires else peer.wires[0]
    warm_up(peer, ctx)
    result: Dict[str, Any] = {}
    for framing in FRAMINGS:
        base = ctx.base("pace", wire, s.paced_events, framing, str(s.interval_ms))
        try:
            result[framing] = paced(peer, wire, base)
        except Exception as exc:  # a broken peer is reported, not fatal
            result[framing] = f"failed: {exc!r:.60}"
    return result
