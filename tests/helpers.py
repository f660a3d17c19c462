"""Shared test helpers: bytes in, events out, at any split."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Dict, List, Optional, Tuple

import streamchat
from streamchat.accumulate import fold
from streamchat.errors import StreamChatError
from streamchat.framing import Frame, frames_for
from streamchat.providers import WIRE_MODULES
from streamchat.testing.server import FakeServer
from streamchat.types import ChatResponse, Event

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
CHUNK_SIZES = [1, 2, 3, 7, 64, None]
WIRES = tuple(WIRE_MODULES)
"""Every wire format id: openai, openai-responses, anthropic, gemini, ollama."""


def fixture(wire: str, name: str) -> bytes:
    return (FIXTURES / wire / name).read_bytes()


def split(data: bytes, size: Optional[int]) -> List[bytes]:
    if not size:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


def decode(
    module: Any, data: bytes, size: Optional[int] = None, provider: str = "test"
) -> List[Event]:
    """Every event the module's decoder gives for the bytes split into `size` pieces,
    close() included (which raises for a truncated stream)."""
    decoder = module.new_decoder(provider)
    events: List[Event] = []
    for frame in frames_for(module.FRAMING, split(data, size)):
        events.extend(decoder.feed(frame))
    events.extend(decoder.close())
    return events


def outcome(
    module: Any, wire: str, name: str, size: Optional[int], provider: Optional[str] = None
) -> Tuple[List[Event], Optional[StreamChatError]]:
    """Decode a fixture split into `size`-byte chunks: the events, and the error if any."""
    decoder = module.new_decoder(provider or wire)
    events: List[Event] = []
    try:
        for frame in frames_for(module.FRAMING, split(fixture(wire, name), size)):
            events.extend(decoder.feed(frame))
        events.extend(decoder.close())
    except StreamChatError as exc:
        return events, exc
    return events, None


def decoded(module: Any, wire: str, name: str, size: Optional[int]) -> List[Event]:
    """The events of a fixture that must decode without error."""
    events, error = outcome(module, wire, name, size)
    assert error is None, error
    return events


def feed_named(module: Any, provider: str, *payloads: Dict[str, Any]) -> List[Event]:
    """Feed JSON payloads as SSE events named by their own "type" field."""
    decoder = module.new_decoder(provider)
    events: List[Event] = []
    for payload in payloads:
        events.extend(decoder.feed(Frame(json.dumps(payload), payload["type"])))
    return events


def folded(events: List[Event]) -> ChatResponse:
    return fold(events)


def same_at_every_split(
    module: Any, wire: str, name: str, size: Optional[int], provider: Optional[str] = None
) -> Tuple[List[Event], Optional[StreamChatError]]:
    """Decode a fixture split into `size`-byte chunks, check that the events and the error
    are those of the whole stream, and return them."""
    whole_events, whole_error = outcome(module, wire, name, None, provider)
    events, error = outcome(module, wire, name, size, provider)
    assert [e.type for e in events] == [e.type for e in whole_events]
    assert events == whole_events
    assert repr(error) == repr(whole_error)
    return events, error


def fake_client(
    server: FakeServer, wire: str, model: str = "m", **options: Any
) -> streamchat.Client:
    """A Client of `wire` pointed at the fake server, with short deadlines so that a test
    waiting for output that never comes fails fast."""
    options.setdefault("timeouts", streamchat.Timeouts(first_token=10, idle=10))
    return streamchat.Client(
        wire, model=model, api_key="k", base_url=server.base_url(wire), **options
    )
