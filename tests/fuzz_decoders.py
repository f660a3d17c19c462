"""Coverage-guided fuzzing of the framing and the five decoders, outside CI.

    python tests/fuzz_decoders.py --seconds 300                  # atheris when installed
    python tests/fuzz_decoders.py --seconds 300 --engine hypothesis

One input is one byte choosing the wire format followed by the raw body. Each input must
decode within the contract checked by tests/test_properties.py (`check`: only
StreamChatError escapes, at most one done and nothing after it, tool calls that start
before they finish, no negative token counts) and give the same outcome when split into
pieces; a body that parses as JSON must also pass `decode_body` and the error mapper.
The corpus is seeded with every fixture. A crash is saved under --artifacts; turn it into
a regression test in tests/test_properties.py (see its "regressions" section).

Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import argparse
import atexit
import json
import pathlib
import sys
import tempfile
import time
from typing import Callable, List

HERE = pathlib.Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

try:
    import atheris
except ImportError:  # the hypothesis engine needs nothing beyond the test extras
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["streamchat", "sseclient"]):
        import test_properties as props  # imports streamchat, which gets instrumented
else:
    import test_properties as props

from streamchat.errors import StreamChatError  # noqa: E402
from streamchat.wire.errors import error_from_payload, error_from_response  # noqa: E402

WIRE_IDS = sorted(props.WIRES)
counts = {"inputs": 0, "typed_errors": 0, "complete": 0}


def one_input(data: bytes) -> None:
    """The property for one fuzz input; any exception is a finding."""
    if not data:
        return
    counts["inputs"] += 1
    wire = WIRE_IDS[data[0] % len(WIRE_IDS)]
    body = data[1:]
    whole = props.check(props.run_decoder(wire, [body]))
    counts["typed_errors" if whole.error is not None else "complete"] += 1
    if len(body) > 1:
        cuts = [(data[0] * 7919 + k * 104729) % len(body) for k in range(1, 1 + data[0] % 7)]
        split = props.check(props.run_decoder(wire, props.split_at(body, cuts)))
        assert split.key() == whole.key(), f"split at {sorted(cuts)} changed the outcome"
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return
    assert isinstance(error_from_response(wire, 500, body.decode("utf-8", "replace")),
                      StreamChatError)
    assert isinstance(error_from_payload(wire, parsed), StreamChatError)
    try:
        events = props.WIRES[wire].decode_body(parsed, wire)
    except StreamChatError:
        return
    props.check(props.Outcome(events, None))


def seeds() -> List[bytes]:
    out = []
    for path in props.STREAMS + props.BODIES:
        wire = props.wire_of(path)
        out.append(bytes([WIRE_IDS.index(wire)]) + path.read_bytes())
    return out


def run_atheris(seconds: int, artifacts: pathlib.Path) -> None:
    corpus = pathlib.Path(tempfile.mkdtemp(prefix="streamchat-fuzz-corpus-"))
    for number, seed in enumerate(seeds()):
        (corpus / f"seed-{number}").write_bytes(seed)
    artifacts.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        "-timeout=10",  # one input taking 10 s is a hang
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        str(corpus),
    ]
    print(f"atheris: corpus {corpus}, crashes go to {artifacts}")
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def run_hypothesis(seconds: int) -> None:
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st

    inputs = st.one_of(
        st.sampled_from(seeds()),
        st.builds(lambda s, cut: s[:cut], st.sampled_from(seeds()), st.integers(0, 10_000)),
        st.binary(max_size=4000),
        st.builds(lambda w, b: bytes([w]) + b, st.integers(0, 4), props.SSE_NOISE),
        st.builds(
            lambda w, frames: bytes([w]) + props.frame_bytes(
                props.WIRES[WIRE_IDS[w]].FRAMING,
                [(n, json.dumps(v)) for n, v in frames],
            ),
            st.integers(0, 4),
            st.lists(st.tuples(st.none() | props.EVENT_NAMES, props.PLAUSIBLE), max_size=8),
        ),
    )
    end = time.monotonic() + seconds
    round_number = 0
    while time.monotonic() < end:
        round_number += 1

        @seed(round_number)
        @settings(max_examples=2000, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(inputs)
        def fuzz(data: bytes) -> None:
            one_input(data)

        fuzz()
        print(f"hypothesis: round {round_number}, {counts['inputs']} inputs so far")
    for path in props.STREAMS:  # damaged real frames, the richest source of bad shapes
        damaged_frames(path)()


def damaged_frames(path: pathlib.Path) -> Callable[[], None]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    wire = props.wire_of(path)

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def damaged(data: st.DataObject) -> None:
        body = props.frame_bytes(props.WIRES[wire].FRAMING, data.draw(props.damaged(path)))
        one_input(bytes([WIRE_IDS.index(wire)]) + body)

    return damaged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--engine", choices=["atheris", "hypothesis"],
                        default="atheris" if atheris is not None else "hypothesis")
    parser.add_argument("--artifacts", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "streamchat-fuzz")
    args = parser.parse_args()
    started = time.monotonic()
    # atheris ends the process itself when the time is up, so the summary runs at exit.
    atexit.register(
        lambda: print(f"done: {counts['inputs']} inputs in {time.monotonic() - started:.0f} s"
                      f", {counts['typed_errors']} typed errors, {counts['complete']} complete")
    )
    if args.engine == "atheris":
        if atheris is None:
            parser.error("atheris is not installed: pip install atheris, or --engine hypothesis")
        run_atheris(args.seconds, args.artifacts)
    else:
        run_hypothesis(args.seconds)


if __name__ == "__main__":
    main()
