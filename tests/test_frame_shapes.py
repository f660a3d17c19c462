"""A stream's frames parsed through their repeated shape give exactly what json.loads
gives, for frames of the shape, frames that only look like it, and broken ones."""

from __future__ import annotations

import json
from typing import Any, List

import pytest
from helpers import decode
from hypothesis import given, settings
from hypothesis import strategies as st
from test_testing_render import request_for

from streamchat.errors import ProtocolError
from streamchat.providers import wire_format
from streamchat.testing import WIRES, make_script
from streamchat.testing.render import render
from streamchat.wire import shapes
from streamchat.wire.common import load_json
from streamchat.wire.shapes import FrameJson

ENVELOPE = (
    '{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1756300000,'
    '"choices":[{"index":0,"delta":{"content":%s},"logprobs":null,"finish_reason":null}],'
    '"usage":null,"obfuscation":%s,"n":%s}'
)


def envelope(text: str, padding: str = "Qx", n: Any = 1) -> str:
    return ENVELOPE % (json.dumps(text), json.dumps(padding), json.dumps(n))


def loads_all(frames: List[str]) -> List[Any]:
    parser = FrameJson("p")
    return [parser.load(frame) for frame in frames]


def same(got: Any, want: Any) -> bool:
    """Equal, of the same types all the way down, with keys in the same order."""
    if type(got) is not type(want):
        return False
    if isinstance(want, dict):
        return list(got) == list(want) and all(same(got[k], want[k]) for k in want)
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    return bool(got == want) or (want != want and got != got)  # NaN is not equal to itself


@pytest.fixture
def full_parses(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The frames parsed in full (by json.loads), in order."""
    parsed: List[str] = []

    def counting(data: str, provider: str) -> Any:
        parsed.append(data)
        return load_json(data, provider)

    monkeypatch.setattr(shapes, "load_json", counting)
    return parsed


def test_frames_of_one_shape_come_out_as_json_loads_gives_them() -> None:
    frames = [envelope(f"word {i} é\n\"", "Q" * (i % 5), i) for i in range(50)]
    parser = FrameJson("p")
    for frame in frames:
        assert same(parser.load(frame), json.loads(frame))
    assert parser._shapes, "the envelope was learnt"


@pytest.fixture
def tries(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """The frames (numbered from 1 over the test) at which learning a shape was tried."""
    loaded, tried = [0], []
    load, learn = FrameJson.load, shapes._learn

    def counting(self: FrameJson, data: str) -> Any:
        loaded[0] += 1
        return load(self, data)

    monkeypatch.setattr(FrameJson, "load", counting)
    monkeypatch.setattr(shapes, "_learn", lambda a, b: tried.append(loaded[0]) or learn(a, b))
    return tried


def test_a_learnt_shape_is_what_parses_the_frames(full_parses: List[str]) -> None:
    parser = FrameJson("p")
    for i in range(3):
        parser.load(envelope(f"t{i}", "Q" * i, i))
    del full_parses[:]
    assert parser.load(envelope("next", "Qx2", 7))["choices"][0]["delta"]["content"] == "next"
    assert full_parses == []


@pytest.mark.parametrize(
    "frame",
    [
        envelope("x", n=2.5),  # a number hole that is a float now
        envelope("x", n=-0),
        envelope("x", n=1e300),
        envelope("x", n="a string now"),  # a hole of another kind
        envelope("x", n=None),
        envelope("x", n=[1, 2]),
        envelope("x").replace('"usage":null', '"usage":{"total_tokens":3}'),
        envelope("x").replace('"choices"', '"choices" '),  # white space moved
        envelope("x") + " \n",
        envelope("x").replace('"n":1', '"n":1,"n":2'),  # a repeated key: the last wins
        envelope("\u2028 \ud83d\ude00 \\u00e9"),
        envelope("x").replace('"n":1', '"n":NaN'),  # json.loads takes these
        envelope("x").replace('"n":1', '"n":-Infinity'),
    ],
)
def test_frames_that_differ_from_the_shape_still_parse_as_json_loads(frame: str) -> None:
    got = loads_all([envelope("a", "Q", 1), envelope("b", "Qx", 2), frame])
    assert same(got[-1], json.loads(frame))


@pytest.mark.parametrize(
    "frame",
    [
        envelope("x").replace('"n":1', '"n":\u0661'),  # a digit of another script
        envelope("x").replace('"n":1', '"n":01'),
        envelope("x").replace('"n":1', '"n":1.'),
        envelope("x").replace('"content":"x"', '"content":"a\tb"'),  # a raw control char
        envelope("x").replace('"content":"x"', '"content":"\\q"'),  # a bad escape
        envelope("x").replace('"content":"x"', '"content":"\\ud83d"').replace("}", "", 1),
        envelope("x")[:-1],  # cut short
        envelope("x") + "}",
    ],
)
def test_broken_frames_of_the_shape_fail_as_json_loads_fails(frame: str) -> None:
    parser = FrameJson("p")
    parser.load(envelope("a", "Q", 1))
    parser.load(envelope("b", "Qx", 2))
    try:
        want: Any = json.loads(frame)
    except ValueError:
        with pytest.raises(ProtocolError, match="not valid JSON"):
            parser.load(frame)
    else:
        assert same(parser.load(frame), want)


def test_every_frame_gets_containers_of_its_own() -> None:
    parser = FrameJson("p")
    _, second, third = (parser.load(envelope(t)) for t in "abc")
    third["choices"][0]["delta"]["content"] = "changed"
    third["choices"].append("more")
    fourth = parser.load(envelope("d"))
    assert fourth["choices"] == [json.loads(envelope("d"))["choices"][0]]
    assert second["choices"][0]["delta"] == {"content": "b"}


def test_a_stream_whose_frames_never_repeat_tries_to_learn_rarely(tries: List[int]) -> None:
    frames = [json.dumps({f"key{i}": i}) for i in range(1000)]
    assert loads_all(frames) == [json.loads(f) for f in frames]
    assert len(tries) <= 1000 // shapes.MAX_BACKOFF + 8


def test_interleaved_kinds_of_frame_each_keep_their_shape(full_parses: List[str]) -> None:
    text = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%s}}'
    ping = '{"type":"ping","n":%d}'
    frames = [f for i in range(20) for f in (text % json.dumps(str(i)), text % '"x"', ping % i)]
    parser = FrameJson("p")
    for frame in frames[:15]:  # pings are learnt from pings, after a few failed tries
        parser.load(frame)
    del full_parses[:]
    got = [parser.load(frame) for frame in frames[15:]]
    assert got == [json.loads(frame) for frame in frames[15:]]
    assert full_parses == []


def test_deep_or_long_frames_are_parsed_in_full_without_learning() -> None:
    deep = ("[" * 40) + "%d" + ("]" * 40)
    long = json.dumps({"text": "x" * (shapes.MAX_SHAPE_TEXT + 1), "n": 0})
    frames = [deep % i for i in range(5)] + [long.replace('"n": 0', f'"n": {i}') for i in range(5)]
    parser = FrameJson("p")
    assert [parser.load(f) for f in frames] == [json.loads(f) for f in frames]
    assert parser._shapes == []


def test_a_string_that_looks_like_a_marker_cannot_fool_the_shape() -> None:
    marker = json.dumps(shapes._MARK + "0")
    frames = [f'{{"a":{marker},"b":{i}}}' for i in range(5)]
    assert loads_all(frames) == [json.loads(f) for f in frames]


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def _rescalar(value: Any, replacements: List[Any]) -> Any:
    """`value` with its scalars replaced, in order, while replacements last."""
    if isinstance(value, dict):
        return {k: _rescalar(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_rescalar(v, replacements) for v in value]
    return replacements.pop(0) if replacements else value


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    st.one_of(st.dictionaries(st.text(max_size=4), documents, min_size=1, max_size=5),
              st.lists(documents, min_size=1, max_size=5)),
    st.lists(st.lists(scalars, max_size=6), min_size=1, max_size=6),
    st.booleans(),
)
def test_any_sequence_of_rescalared_documents_parses_as_json_loads(
    document: Any, rounds: List[List[Any]], ascii_only: bool
) -> None:
    texts = [json.dumps(_rescalar(document, list(r)), ensure_ascii=ascii_only,
                        separators=(",", ":")) for r in [[], *rounds, []]]
    texts += texts[:2]
    parser = FrameJson("p")
    for text in texts:
        assert same(parser.load(text), json.loads(text))


@pytest.mark.parametrize("wire", WIRES)
def test_every_wire_decodes_the_same_events_with_and_without_shapes(
    wire: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = make_script(
        text="Sunny, 21 °C <warm> & dry. " * 40, chunk_size=3,
        thinking="The user wants the weather; call the tool first. " * 10,
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris " * 30}, "id": "c1"}],
        usage={"input_tokens": 42, "output_tokens": 17},
    )
    body = render(script, wire, request_for(wire), model="fake-model").body
    with_shapes = decode(wire_format(wire), body, 97)
    monkeypatch.setattr(FrameJson, "load", lambda self, data: load_json(data, "p"))
    assert with_shapes == decode(wire_format(wire), body, 97)


def test_streams_of_one_shape_share_its_code_but_not_its_values() -> None:
    one, two = FrameJson("p"), FrameJson("p")
    for parser, padding in ((one, "Q"), (two, "R")):
        for i in range(3):
            parser.load(envelope(f"t{i}", padding * (i + 1), i))
    assert one._shapes[0].__code__ is two._shapes[0].__code__
    assert one.load(envelope("x", "QQ", 1)) == json.loads(envelope("x", "QQ", 1))
    assert two.load(envelope("y", "RR", 1)) == json.loads(envelope("y", "RR", 1))


@pytest.mark.parametrize(
    "first, second, third",
    [
        ('{"t":"a","n":1}', '{"t":"b","n":2}', '{"t":"c\\u00e9","n":3.5e1}'),  # values
        ('{"t":"a"  }', '{"t":"b" }', '{"t":"c"      }'),  # padding, as Anthropic's
        ('{"t":"a"} ', '{"t":"b"}', '{"t":"c"}\n\t '),  # white space after the frame
        ('[{"t":"a"},1]', '[{"t":"b"},2]', '[{"t":"c"},-3]'),  # an array, as Gemini's
        ('{"t": "a"}', '{"t":  "b"}', '{"t":"c"}'),  # white space inside
    ],
)
def test_the_third_frame_of_a_shape_is_read_through_it(
    first: str, second: str, third: str, full_parses: List[str]
) -> None:
    parser = FrameJson("p")
    assert [parser.load(f) for f in (first, second, third)] == [
        json.loads(f) for f in (first, second, third)
    ]
    assert full_parses == [first, second]


def test_learning_backs_off_while_frames_never_repeat_and_starts_over_after_a_shape(
    tries: List[int],
) -> None:
    parser = FrameJson("p")

    def feed(text: str) -> None:
        assert parser.load(text) == json.loads(text)

    for i in range(300):
        feed(json.dumps({f"key{i}": i}))
    # A try at frame 2, then waits of 2, 4, 8, 16, 32 and 64 frames (the most).
    assert tries == [2, 5, 10, 19, 36, 69, 134, 199, 264]
    for i in range(301, 340):
        feed(json.dumps({"text": str(i)}))  # the try at 329 learns their shape
    assert tries[-1] == 329 and len(parser._shapes) == 1
    for i in range(340, 345):
        feed(json.dumps({f"other{i}": i}))  # after a shape, the waits start from 2 again
    assert tries[-3:] == [329, 340, 343]


def test_four_kinds_of_frame_keep_their_shapes_and_a_fifth_drops_the_oldest(
    full_parses: List[str],
) -> None:
    kinds = [f'{{"kind{k}":%d}}' for k in range(5)]
    parser = FrameJson("p")
    for kind in kinds[:4]:  # a failed try against the last kind, a wait of 2, a shape
        for n in range(4):
            parser.load(kind % n)
    del full_parses[:]
    for kind in kinds[:4]:
        assert parser.load(kind % 7) == json.loads(kind % 7)
    assert full_parses == []
    for n in range(4):
        parser.load(kinds[4] % n)
    del full_parses[:]
    for kind in kinds:
        assert parser.load(kind % 9) == json.loads(kind % 9)
    assert full_parses == [kinds[0] % 9]


def _nested(depth: int, value: int) -> str:
    return '{"a":' * depth + str(value) + "}" * depth


@pytest.mark.parametrize(
    "make, learnt",
    [
        (lambda i: _nested(shapes.MAX_DEPTH, i), True),
        (lambda i: _nested(shapes.MAX_DEPTH + 1, i), False),
        # Many objects or arrays side by side are not deep: depth falls as they close.
        (lambda i: json.dumps([{"a": n} for n in range(40)] + [i]), True),
        (lambda i: json.dumps([[n] for n in range(40)] + [i]), True),
        (lambda i: '{"a":{},"b":' + _nested(shapes.MAX_DEPTH, i) + "}", False),
        (lambda i: json.dumps({"p": "x" * (shapes.MAX_SHAPE_TEXT - 17), "n": i}), True),
        (lambda i: json.dumps({"p": "x" * (shapes.MAX_SHAPE_TEXT - 16), "n": i}), False),
    ],
)
def test_how_deep_and_how_long_a_frame_may_be_to_learn_from(
    make: Any, learnt: bool, full_parses: List[str]
) -> None:
    frames = [make(i) for i in range(3)]
    parser = FrameJson("p")
    assert [parser.load(f) for f in frames] == [json.loads(f) for f in frames]
    assert len(full_parses) == (2 if learnt else 3)


def test_the_compiled_shapes_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shapes, "_compiled", {})
    for width in range(shapes.MAX_COMPILED + 1):  # each key length gives its own source
        parser = FrameJson("p")
        for n in range(2):
            parser.load(json.dumps({"k" * (width + 1): n}))
        assert parser._shapes
        assert len(shapes._compiled) == width % shapes.MAX_COMPILED + 1


def test_frames_that_differ_in_a_key_share_no_shape(full_parses: List[str]) -> None:
    frames = ['{"a":1}', '{"b":1}', '{"c":1}']
    parser = FrameJson("p")
    assert [parser.load(f) for f in frames] == [json.loads(f) for f in frames]
    assert parser._shapes == [] and full_parses == frames
