"""Properties of framing and decoding that must hold for inputs nobody wrote by hand.

Over every recorded stream in tests/fixtures/*/: any split of the bytes gives the same
events; any cut gives the events so far plus a typed error, or a complete answer; and
garbage (random bytes, random JSON, real frames with fields deleted, retyped, nulled or
blown up) gives a typed error or skipped frames, never an exception that is not a
StreamChatError and never a sequence of events that breaks the event contract.

Hypothesis runs derandomized and without an example database, so CI sees the same
examples every time; tests/fuzz_decoders.py runs the same checks for minutes.
"""

from __future__ import annotations

import json
import pathlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest
from helpers import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamchat
from streamchat.accumulate import fold
from streamchat.errors import ProtocolError, StreamChatError
from streamchat.framing import FrameTooLargeError, frames_for
from streamchat.types import (
    ChatResponse,
    CitationEvent,
    DoneEvent,
    Event,
    RefusalEvent,
    ServerToolCallEvent,
    ServerToolResultEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallDeltaEvent,
    ToolCallEvent,
    ToolCallStartEvent,
    UsageEvent,
)
from streamchat.wire import anthropic, gemini, ollama, openai_chat, openai_responses
from streamchat.wire.errors import error_from_payload, error_from_response

WIRES: Dict[str, Any] = {
    "openai": openai_chat,
    "openai-responses": openai_responses,
    "anthropic": anthropic,
    "gemini": gemini,
    "ollama": ollama,
}
STREAMS = sorted(p for p in FIXTURES.glob("*/*") if p.suffix in (".sse", ".ndjson"))
BODIES = sorted(p for p in FIXTURES.glob("*/*") if p.suffix == ".json")
HANG_GUARD = 10.0  # only to fail instead of hanging; never a performance claim

DECODER_EVENTS = (
    TextEvent, ThinkingEvent, ToolCallStartEvent, ToolCallDeltaEvent, ToolCallEvent,
    UsageEvent, DoneEvent, RefusalEvent, CitationEvent, ServerToolCallEvent,
    ServerToolResultEvent,
)

PROFILE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def quick(examples: int) -> settings:
    return settings(PROFILE, max_examples=examples)


# -- running a decoder -----------------------------------------------------------------


@dataclass
class Outcome:
    """What a decoder made of some bytes: the events, then the error that ended it."""

    events: List[Event]
    error: Optional[BaseException]

    def key(self) -> Tuple[List[Event], Optional[Tuple[type, str]]]:
        error = None if self.error is None else (type(self.error), str(self.error))
        return self.events, error


def wire_of(path: pathlib.Path) -> str:
    return path.parent.name


def run_decoder(
    wire: str, chunks: Sequence[bytes], *, max_frame_bytes: Optional[int] = None
) -> Outcome:
    """Bytes through the framing and a fresh decoder, close() included; any exception
    is caught so the properties can say which kinds may escape."""
    module = WIRES[wire]
    decoder = module.new_decoder(wire)
    events: List[Event] = []
    try:
        for frame in frames_for(module.FRAMING, chunks, max_frame_bytes=max_frame_bytes):
            events.extend(decoder.feed(frame))
        events.extend(decoder.close())
    except Exception as exc:  # which exceptions escape is the property
        return Outcome(events, exc)
    return Outcome(events, None)


def split_at(data: bytes, cuts: Sequence[int]) -> List[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def check(outcome: Outcome) -> Outcome:
    """The contract every decoding must keep, whatever the input."""
    error = outcome.error
    if error is not None and not isinstance(error, StreamChatError):
        raise AssertionError(f"untyped exception escaped: {error!r}") from error
    events = outcome.events
    for event in events:
        assert isinstance(event, DECODER_EVENTS), f"a decoder emitted {event!r}"
    done = [i for i, e in enumerate(events) if isinstance(e, DoneEvent)]
    assert len(done) <= 1, "more than one done event"
    if done:
        assert done[0] == len(events) - 1, "events after done"
    if error is None:
        # close() returns only when the terminal event came: a clean end is a done.
        assert done, "the stream ended without error and without a done event"
    started: Dict[int, str] = {}
    completed: set = set()
    for event in events:
        if isinstance(event, ToolCallStartEvent):
            assert event.index not in started, f"call {event.index} started twice"
            started[event.index] = event.id
        elif isinstance(event, ToolCallDeltaEvent):
            assert started.get(event.index) == event.id, f"delta for unknown call {event!r}"
            assert event.index not in completed, "delta after its call completed"
        elif isinstance(event, ToolCallEvent):
            assert started.get(event.index) == event.id, f"call {event!r} never started"
            assert event.index not in completed, f"call {event.index} completed twice"
            completed.add(event.index)
            assert isinstance(event.arguments, dict)
            if event.arguments:
                assert json.loads(event.raw_arguments) == event.arguments
        elif isinstance(event, (UsageEvent, DoneEvent)) and event.usage is not None:
            for name, value in event.usage.model_dump().items():
                assert value is None or value >= 0, f"usage {name}={value!r}"
    fold(events)
    return outcome


# -- references: every fixture decoded whole --------------------------------------------

_REFERENCE: Dict[pathlib.Path, Outcome] = {}


def reference(path: pathlib.Path) -> Outcome:
    if path not in _REFERENCE:
        _REFERENCE[path] = check(run_decoder(wire_of(path), [path.read_bytes()]))
    return _REFERENCE[path]


def ids(paths: Sequence[pathlib.Path]) -> List[str]:
    return [f"{wire_of(p)}/{p.name}" for p in paths]


def test_every_wire_has_stream_fixtures():
    assert {wire_of(p) for p in STREAMS} == set(WIRES)


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
def test_fixture_decodes_within_the_contract(path):
    outcome = reference(path)
    assert outcome.events or outcome.error is not None


# -- any split ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(12)
@given(data=st.data())
def test_any_chunking_gives_the_same_events(path, data):
    raw = path.read_bytes()
    cuts = data.draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=40), label="cuts")
    assert check(run_decoder(wire_of(path), split_at(raw, cuts))).key() == reference(path).key()


# -- any cut ------------------------------------------------------------------------------


def without_usage(events: List[Event]) -> List[Event]:
    return [e for e in events if not isinstance(e, (UsageEvent, DoneEvent))]


def check_cut(path: pathlib.Path, cut: int, chunks: Optional[List[bytes]] = None) -> Outcome:
    """A stream cut after `cut` bytes: the events so far and a typed error, or an answer
    that is complete in everything but a usage report sent after the terminal marker."""
    raw = path.read_bytes()[:cut]
    outcome = check(run_decoder(wire_of(path), chunks if chunks is not None else [raw]))
    full = reference(path)
    if outcome.error is not None:
        shown = outcome.events
        assert full.events[: len(shown)] == shown, "a cut stream showed other events"
    else:
        assert full.error is None, f"cut at {cut}, a failed stream looked complete"
        assert without_usage(outcome.events) == without_usage(full.events)
        got, want = fold(outcome.events), fold(full.events)
        assert (got.finish_reason, got.provider_finish_reason) == (
            want.finish_reason, want.provider_finish_reason
        )
    return outcome


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
def test_cut_at_every_line_boundary(path):
    raw = path.read_bytes()
    cuts = {0, len(raw)}
    for position, byte in enumerate(raw):
        if byte == 0x0A:
            cuts.update((position, position + 1, position + 2))
    for cut in sorted(c for c in cuts if c <= len(raw)):
        check_cut(path, cut)
    assert check_cut(path, len(raw)).key() == reference(path).key()


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(10)
@given(data=st.data())
def test_cut_anywhere_split_anyhow(path, data):
    raw = path.read_bytes()
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    cuts = data.draw(st.lists(st.integers(1, max(1, cut)), max_size=10), label="splits")
    check_cut(path, cut, split_at(raw[:cut], cuts))


def replay_outcome(
    source: Any, provider: str, chunk_size: Optional[int]
) -> Tuple[List[Event], Optional[BaseException], Optional[ChatResponse]]:
    """Consume a replay in a helper thread, so a hang fails the test instead of CI."""
    result: Dict[str, Any] = {}

    def consume() -> None:
        stream = streamchat.replay(source, provider=provider, chunk_size=chunk_size)
        events: List[Event] = []
        try:
            for event in stream:
                events.append(event)
        except BaseException as exc:  # reported to the test thread
            result["error"] = exc
        result["events"] = events
        result["response"] = stream.response

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "replay hung"
    return result["events"], result.get("error"), result.get("response")


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(3)
@given(data=st.data())
def test_replay_of_a_cut_recording_matches_the_decoder(path, data):
    raw = path.read_bytes()
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    size = data.draw(st.sampled_from([None, 1, 5, 64]), label="chunk_size")
    direct = check_cut(path, cut)
    events, error, response = replay_outcome(raw[:cut], wire_of(path), size)
    assert events[0].type == "start"
    assert events[1:] == direct.events
    if direct.error is None:
        assert error is None and response is not None
        assert response == fold(events)
    else:
        assert isinstance(error, StreamChatError)
        assert (type(error), str(error)) == (type(direct.error), str(direct.error))
        assert error.partial == fold(events)


# -- error bodies --------------------------------------------------------------------------


@pytest.mark.parametrize("path", BODIES, ids=ids(BODIES))
@pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
def test_any_cut_of_an_error_body_is_a_typed_error(path, status):
    raw = path.read_bytes()
    for cut in range(0, len(raw) + 1, 7):
        error = error_from_response(wire_of(path), status, raw[:cut].decode("utf-8", "replace"))
        assert isinstance(error, StreamChatError)
        assert str(status) in str(error)
    whole = json.loads(raw)
    with pytest.raises(StreamChatError):
        WIRES[wire_of(path)].decode_body(whole, wire_of(path))


# -- garbage ---------------------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 2**63, -1, 0, 1e308, -1e308, float("inf"),
                     float("-inf"), float("nan"), 1.5, -0.0]),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from([
    "type", "index", "delta", "content", "text", "choices", "finish_reason", "usage", "error",
    "message", "tool_calls", "function", "arguments", "name", "id", "candidates", "parts",
    "functionCall", "args", "finishReason", "usageMetadata", "done", "done_reason",
    "thinking", "content_block", "partial_json", "response", "item", "output_index",
    "item_id", "call_id", "promptFeedback", "stop_reason", "prompt_tokens", "eval_count",
])
EVENT_NAMES = st.sampled_from([
    "message", "message_start", "content_block_start", "content_block_delta",
    "content_block_stop", "message_delta", "message_stop", "error", "ping",
    "response.output_text.delta", "response.output_item.added", "response.output_item.done",
    "response.function_call_arguments.delta", "response.completed", "response.failed",
    "response.incomplete", "something.new",
])
PLAUSIBLE = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=16,
)
SSE_NOISE = st.lists(
    st.sampled_from([b"data: ", b"data:", b"event: ", b": ping", b"\n", b"\r\n", b"\r", b"{",
                     b"}", b"[DONE]", b'"type":', b"id: 1", b"retry: 5", b"\xff", b"\xef\xbb\xbf",
                     b"\xe2\x98", b"\x00", b"message_stop", b"{}", b"null"]),
    max_size=40,
).map(b"".join)


def frame_bytes(framing: str, payloads: Sequence[Tuple[Optional[str], str]]) -> bytes:
    """Frames written back as bytes: SSE events (named or not) or NDJSON lines."""
    out = []
    for name, data in payloads:
        if framing == "ndjson":
            out.append(data.replace("\n", " ").encode() + b"\n")
            continue
        head = f"event: {name}\n" if name else ""
        body = "".join(f"data: {line}\n" for line in data.split("\n"))
        out.append((head + body + "\n").encode())
    return b"".join(out)


@pytest.mark.parametrize("wire", sorted(WIRES))
@quick(60)
@given(raw=st.binary(max_size=600) | SSE_NOISE)
def test_random_bytes_never_crash(wire, raw):
    check(run_decoder(wire, [raw]))


@pytest.mark.parametrize("wire", sorted(WIRES))
@quick(80)
@given(
    frames=st.lists(
        st.tuples(st.none() | EVENT_NAMES, JSON_VALUES | PLAUSIBLE | st.text(max_size=10)),
        max_size=6,
    )
)
def test_random_json_frames_never_crash(wire, frames):
    payloads = [
        (name, value if isinstance(value, str) else json.dumps(value)) for name, value in frames
    ]
    check(run_decoder(wire, [frame_bytes(WIRES[wire].FRAMING, payloads)]))


# -- real frames, damaged ----------------------------------------------------------------


def parsed_frames(path: pathlib.Path) -> List[Tuple[str, Any]]:
    """A fixture's frames as (event name, parsed JSON or raw text)."""
    out: List[Tuple[str, Any]] = []
    for frame in frames_for(WIRES[wire_of(path)].FRAMING, [path.read_bytes()]):
        try:
            out.append((frame.event, json.loads(frame.data)))
        except ValueError:
            out.append((frame.event, frame.data))
    return out


def paths_in(value: Any, prefix: Tuple[Any, ...] = ()) -> List[Tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found.extend(paths_in(sub, (*prefix, key)))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found.extend(paths_in(sub, (*prefix, index)))
    return found


REPLACEMENTS = st.one_of(
    st.sampled_from([None, "", "x", 0, -1, 10**30, 1e308, float("inf"), float("nan"), True,
                     [], {}, [None], {"type": "unknown"}, "null", 1.5]),
    JSON_VALUES,
)


def mutate(value: Any, path: Tuple[Any, ...], how: str, new: Any) -> Any:
    """The value with the part at `path` deleted or replaced."""
    if not path:
        return value if how == "delete" else new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        if not rest and how == "delete":
            copy.pop(head, None)
        else:
            copy[head] = mutate(value[head], rest, how, new)
        return copy
    copy_list = list(value)
    if not rest and how == "delete":
        del copy_list[head]
    else:
        copy_list[head] = mutate(value[head], rest, how, new)
    return copy_list


@st.composite
def damaged(draw: Callable[..., Any], path: pathlib.Path) -> List[Tuple[str, str]]:
    frames = list(parsed_frames(path))
    for _ in range(draw(st.integers(1, 4), label="damages")):
        position = draw(st.integers(0, len(frames) - 1), label="frame")
        name, value = frames[position]
        target = draw(st.sampled_from(paths_in(value)), label="path")
        how = draw(st.sampled_from(["delete", "replace", "rename", "drop"]), label="how")
        if how == "drop":
            del frames[position]
            if not frames:
                break
        elif how == "rename":
            frames[position] = (draw(EVENT_NAMES, label="name"), value)
        else:
            frames[position] = (name, mutate(value, target, how, draw(REPLACEMENTS, label="new")))
    return [(n, v if isinstance(v, str) else json.dumps(v)) for n, v in frames]


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(25)
@given(data=st.data())
def test_damaged_frames_give_typed_errors_or_are_skipped(path, data):
    frames = data.draw(damaged(path), label="frames")
    check(run_decoder(wire_of(path), [frame_bytes(WIRES[wire_of(path)].FRAMING, frames)]))


UNKNOWN_FRAMES: Dict[str, List[Tuple[Optional[str], str]]] = {
    "openai": [(None, '{"object": "chat.completion.future", "choices": []}'),
               ("keepalive", '{"note": "not a chunk"}')],
    "openai-responses": [("response.future_thing",
                          '{"type": "response.future_thing", "sequence_number": 99}'),
                         (None, '{"type": "response.queued"}')],
    "anthropic": [("ping", '{"type": "ping"}'),
                  ("content_block_future", '{"type": "content_block_future", "index": 7}')],
    "gemini": [(None, '{"somethingNew": {"a": 1}}'), (None, '{"candidates": []}')],
    "ollama": [(None, '{"status": "pulling manifest"}'), (None, '{"message": {}}')],
}
SSE_EXTRAS = [b": keep-alive\n\n", b"retry: 1000\n\n", b"id: 42\n\n", b":\n\n", b"event: x\n\n"]


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(8)
@given(data=st.data())
def test_unknown_frames_and_comments_are_skipped(path, data):
    """New server features must not change what old clients show."""
    wire = wire_of(path)
    framing = WIRES[wire].FRAMING
    frames = [(n, v if isinstance(v, str) else json.dumps(v)) for n, v in parsed_frames(path)]
    pieces = [frame_bytes(framing, [f]) for f in frames]
    extras = [frame_bytes(framing, [f]) for f in UNKNOWN_FRAMES[wire]]
    extras += SSE_EXTRAS if framing == "sse" else [b"\n", b"  \n"]
    inserts = data.draw(
        st.lists(st.tuples(st.integers(0, len(pieces)), st.sampled_from(extras)), max_size=5),
        label="inserts",
    )
    for position, extra in sorted(inserts, key=lambda item: -item[0]):
        pieces.insert(position, extra)
    plain = run_decoder(wire, [frame_bytes(framing, frames)])
    noisy = check(run_decoder(wire, [b"".join(pieces)]))
    assert noisy.key() == plain.key()
    assert plain.key() == reference(path).key()


# -- size limit ------------------------------------------------------------------------


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
def test_frame_limit_is_a_typed_error_at_any_split(path):
    """Lower the limit below the largest frame: a typed error whatever the split, and
    the events before the big frame are kept."""
    raw = path.read_bytes()
    limit = 64
    outcomes = [run_decoder(wire_of(path), split_at(raw, range(0, len(raw), s)),
                            max_frame_bytes=limit) for s in (1, 7, len(raw))]
    for outcome in outcomes:
        check(outcome)
        assert isinstance(outcome.error, FrameTooLargeError)
        assert isinstance(outcome.error, ProtocolError)
        assert reference(path).events[: len(outcome.events)] == outcome.events


# -- error bodies and whole bodies of any shape -------------------------------------------


@quick(150)
@given(body=JSON_VALUES | PLAUSIBLE, status=st.sampled_from([400, 401, 403, 404, 429, 500, 529]))
def test_any_error_body_becomes_a_typed_error(body, status):
    for text in (json.dumps(body), json.dumps([body])):
        error = error_from_response("test", status, text)
        assert isinstance(error, StreamChatError) and error.status_code == status
    assert isinstance(error_from_payload("test", body), StreamChatError)


@pytest.mark.parametrize("wire", sorted(WIRES))
@quick(60)
@given(body=JSON_VALUES | PLAUSIBLE)
def test_any_whole_body_decodes_or_raises_a_typed_error(wire, body):
    try:
        events = WIRES[wire].decode_body(body, wire)
    except StreamChatError:
        return
    check(Outcome(events, None))


# -- regressions: each of these once escaped as an untyped exception or a wrong answer ----


@pytest.mark.parametrize(
    ("wire", "raw"),
    [
        # TypeError: iterating True as the list of candidates
        ("gemini", b'data: {"candidates": true}\n\n'),
        # AttributeError: promptFeedback a number, content a number
        ("gemini", b'data: {"promptFeedback": -351}\n\n'),
        ("gemini", b'data: {"candidates": [{"content": 1e308, "index": 0}]}\n\n'),
        # AttributeError: finishReason not a string
        ("gemini", b'data: {"candidates": [{"finishReason": 7}]}\n\n'),
        # AttributeError: message_start's message a number
        ("anthropic", b'event: message_start\n'
                      b'data: {"type": "message_start", "message": 1e308}\n\n'),
        # TypeError: an unhashable content block index
        ("anthropic", b'data: {"type": "content_block_start", "index": [], '
                      b'"content_block": {"type": "text"}}\n\n'),
        # AttributeError: a delta that is a string
        ("anthropic", b'data: {"type": "content_block_delta", "index": 0, "delta": "x"}\n\n'),
        # pydantic ValidationError: a message id that is a number reaches DoneEvent
        ("anthropic", b'data: {"type": "message_start", "message": {"id": 5}}\n\n'
                      b'data: {"type": "message_stop"}\n\n'),
        # TypeError: choices a number; AttributeError: delta a list
        ("openai", b'data: {"choices": 3}\n\n'),
        ("openai", b'data: {"choices": [{"index": 0, "delta": [1]}]}\n\n'),
        # AttributeError: finish_reason a list, at [DONE]
        ("openai", b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": [1]}]}\n\n'
                   b"data: [DONE]\n\n"),
        # AttributeError: an output item that is a string
        ("openai-responses", b'data: {"type": "response.output_item.added", "item": "x"}\n\n'),
        # AttributeError: message a number
        ("ollama", b'{"message": 1.5, "done": false}\n'),
        # ValidationError: model a number in the last line
        ("ollama", b'{"message": {"content": "hi"}, "done": true, "model": 1e308}\n'),
        # RecursionError from json.loads on a deeply nested frame
        ("openai", b"data: " + b"[" * 100_000 + b"\n\n"),
        ("ollama", b"[" * 100_000 + b"\n"),
    ],
)
def test_malformed_frame_is_a_protocol_error(wire, raw):
    outcome = check(run_decoder(wire, [raw]))
    assert isinstance(outcome.error, ProtocolError)


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "-5", "1e400"])
def test_impossible_token_counts_are_unreported_not_a_crash(value):
    raw = (
        b'data: {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]}'
        b'\n\ndata: {"choices": [], "usage": {"prompt_tokens": %s, "completion_tokens": 3}}'
        b"\n\ndata: [DONE]\n\n" % value.encode()
    )
    outcome = check(run_decoder("openai", [raw]))
    assert outcome.error is None
    usage = fold(outcome.events).usage
    assert usage is not None and usage.input_tokens is None and usage.output_tokens == 3


def test_error_details_of_the_wrong_type_still_give_the_error():
    body = json.dumps({"error": {"code": 429, "message": "slow down", "details": 5}})
    error = error_from_response("gemini", 429, body)
    assert isinstance(error, streamchat.RateLimitError) and "slow down" in str(error)


def test_blank_line_split_across_chunks_ends_the_event_for_the_size_limit():
    """A server flushing `data: ...\\n` and the blank line separately once tripped the
    limit after max_frame_bytes of perfectly small events."""
    line = b'data: {"choices": [{"index": 0, "delta": {"content": "abcdefgh"}}]}\n'
    chunks = [line, b"\n"] * 40
    chunks += [b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n',
               b"\n", b"data: [DONE]\n", b"\n"]
    outcome = check(run_decoder("openai", chunks, max_frame_bytes=200))
    assert outcome.error is None
    assert fold(outcome.events).text == "abcdefgh" * 40


def test_an_oversized_event_inside_one_chunk_is_caught():
    """The limit once measured only the event left open at the end of a chunk."""
    big = b'data: {"choices": [{"index": 0, "delta": {"content": "%s"}}]}\n\n' % (b"x" * 500)
    raw = big + b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    outcome = check(run_decoder("openai", [raw], max_frame_bytes=200))
    assert isinstance(outcome.error, FrameTooLargeError)


def event_sizes(raw: bytes) -> List[int]:
    """The size of each SSE event or NDJSON line as the limit measures it (characters)."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return [len(piece) for piece in text.split("\n\n" if b"data:" in raw else "\n")]


@pytest.mark.parametrize("path", STREAMS, ids=ids(STREAMS))
@quick(10)
@given(data=st.data())
def test_whether_the_frame_limit_trips_does_not_depend_on_the_split(path, data):
    """Any split gives the unlimited outcome or FrameTooLargeError; which one depends only
    on the sizes (to within two characters at the very limit), never on the split, except
    that an in-stream error met before the big event may come first."""
    raw = path.read_bytes()
    largest = max(event_sizes(raw))
    limit = data.draw(st.integers(16, largest + 50), label="limit")
    cuts = data.draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=30), label="cuts")
    splits = ([raw], split_at(raw, cuts), split_at(raw, range(len(raw))))
    full = reference(path)
    for chunks in splits:
        outcome = check(run_decoder(wire_of(path), chunks, max_frame_bytes=limit))
        assert full.events[: len(outcome.events)] == outcome.events
        if isinstance(outcome.error, FrameTooLargeError):
            assert limit < largest + 2, f"limit {limit} tripped on events of {largest}"
        else:
            assert outcome.key() == full.key()
            assert limit > largest - 2 or full.error is not None, f"limit {limit} missed"


@pytest.mark.parametrize("size", [1, 2, 3])
def test_crlf_blank_lines_split_into_pieces_still_end_events_for_the_size_limit(size):
    """A CR held back at the end of a chunk once made the framer forget that the line
    before had ended, so CRLF streams read in small pieces tripped the limit after
    max_frame_bytes of small events."""
    raw = (FIXTURES / "gemini" / "text.sse").read_bytes()
    assert b"\r\n\r\n" in raw
    limit = max(event_sizes(raw)) + 10
    chunks = [raw[i:i + size] for i in range(0, len(raw), size)]
    outcome = check(run_decoder("gemini", chunks, max_frame_bytes=limit))
    assert outcome.key() == reference(FIXTURES / "gemini" / "text.sse").key()
