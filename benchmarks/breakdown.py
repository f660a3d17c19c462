"""Where the time goes: the library's hot path stage by stage, single-threaded on the same
bodies and without a socket. Run only when named (`--scenario breakdown`)."""

from __future__ import annotations

import json
import time
import timeit
from typing import Callable, Dict

from benchmarks import bodies
from benchmarks.context import Context, log
from benchmarks.measure import loads_seconds


def per_event(action: Callable[[], object], n: int, repeat: int = 3) -> float:
    """CPU seconds per event, every thread's, like the json.loads unit beside it."""
    best = min(timeit.repeat(action, number=1, repeat=repeat, timer=time.process_time))
    return best / n


def breakdown_of(wire: str, n: int) -> Dict[str, float]:
    """Seconds per text event of each stage of the hot path, on an n-event body."""
    import streamchat
    from streamchat import framing
    from streamchat.accumulate import ResponseSnapshot
    from streamchat.providers import wire_format
    from streamchat.types import text_event
    from streamchat.wire.shapes import FrameJson

    body = b"".join(bodies.frames(wire, n))
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    module = wire_format(wire)
    frames = list(framing.frames_for(module.FRAMING, chunks))
    data = [f.data for f in frames if f.data != "[DONE]"]
    events = list(streamchat.replay(body, provider=wire))
    texts = [e.text for e in events if e.type == "text"]
    limit = framing.DEFAULT_MAX_FRAME_BYTES

    def loads() -> None:
        for item in data:
            json.loads(item)

    def decode(logprobs: bool = False) -> None:
        decoder = module.new_decoder(wire, logprobs)
        for frame in frames:
            decoder.feed(frame)

    def fold() -> None:
        snapshot = ResponseSnapshot()
        for event in events:
            snapshot.add(event)
        snapshot.to_response()

    def shapes() -> None:
        parser = FrameJson(wire)
        for item in data:
            parser.load(item)

    stages: Dict[str, Callable[[], object]] = {
        "json.loads of every frame": loads,
        # What the decoders use: json.loads for a frame of a new shape, the frame's
        # repeated shape for the rest (streamchat/wire/shapes.py).
        "every frame through its shape": shapes,
        "framing, whole": lambda: list(framing.frames_for(module.FRAMING, chunks)),
    }
    if module.FRAMING == "sse":
        stages["framing: chunk cleaner"] = lambda: list(
            framing._ChunkCleaner(limit).clean(chunks))
    stages["decoder, json.loads included"] = decode
    # The row above is a stream that did not ask for logprobs; this one, the same body
    # read by a decoder that did: what asking costs, and so what not asking saves.
    stages["decoder, logprobs asked for"] = lambda: decode(logprobs=True)
    stages["event models alone (TextEvent)"] = lambda: [text_event({"text": t}) for t in texts]
    stages["fold into ChatResponse"] = fold
    stages["replay: all of it, threaded"] = lambda: list(streamchat.replay(chunks, wire))
    costs = {name: per_event(action, n) for name, action in stages.items()}
    if module.FRAMING == "sse":
        # The events are cut and read as the chunks come out of the cleaner, in one
        # loop: what that costs is the whole less the cleaner, listed after it.
        names = list(costs)
        names.insert(names.index("framing: chunk cleaner") + 1, "framing: parse (rest)")
        costs["framing: parse (rest)"] = costs["framing, whole"] - costs["framing: chunk cleaner"]
        costs = {name: costs[name] for name in names}
    costs["worker, queue, consumer (rest)"] = (
        costs["replay: all of it, threaded"] - costs["framing, whole"]
        - costs["decoder, json.loads included"] - costs["fold into ChatResponse"])
    return costs


def scenario_breakdown(ctx: Context) -> None:
    """The library's hot path in pieces, single-threaded on the same bodies (no socket):
    what each stage costs per text event, in microseconds and in json.loads units."""
    n = min(ctx.settings.events, 20_000)
    log(f"breakdown: stages of the hot path on {n:,}-event bodies, no socket")
    for wire in bodies.WIRES:
        unit = loads_seconds(wire)
        for name, cost in breakdown_of(wire, n).items():
            ctx.add("hot path", wire, "streamchat", name, f"{cost * 1e6:.2f} us",
                    f"{unit * 1e6:.2f} us", f"{cost / unit:.2f} u")
