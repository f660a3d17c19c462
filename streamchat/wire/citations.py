"""Citations and server-side tools, the parts of an answer that are neither text nor calls
for the caller to run: one place that turns a provider's loosely typed fields into the
neutral `Citation` and server tool events, and that converts the offsets providers give.

Offsets: `Citation.start` / `end` index `ChatResponse.text` in characters. Each wire
knows where its cited span lies relative to what it has streamed (an Anthropic text block,
a Responses output_text part, the whole Gemini candidate in UTF-8 bytes) and converts here.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Set

from ..types import Citation, CitationEvent, Event, ServerToolCallEvent, ServerToolResultEvent


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def _offset(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def citation_event(
    *,
    url: Any = None,
    title: Any = None,
    cited_text: Any = None,
    start: Any = None,
    end: Any = None,
    source: Any = None,
) -> CitationEvent:
    """A citation event from provider fields of any type: what is not a string (or a
    non-negative offset) is left out rather than trusted."""
    begin, finish = _offset(start), _offset(end)
    if begin is not None and finish is not None and finish < begin:
        begin = finish = None
    return CitationEvent(
        citation=Citation(
            url=_text(url),
            title=_text(title),
            cited_text=_text(cited_text),
            start=begin,
            end=finish,
            source=_text(source),
        )
    )


def char_offset(encoded: bytes, byte_offset: int) -> int:
    """The character offset of a UTF-8 byte offset into `encoded`; an offset inside a
    character counts the characters before it."""
    return len(encoded[: max(0, byte_offset)].decode("utf-8", "ignore"))


def parse_input(raw: str, initial: Any) -> Dict[str, Any]:
    """A server tool's input: its streamed JSON when it parses to an object, otherwise
    what the opening block carried."""
    if raw:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return dict(initial) if isinstance(initial, Mapping) else {}


def server_call(call_id: Any, name: Any, arguments: Mapping[str, Any]) -> ServerToolCallEvent:
    return ServerToolCallEvent(
        id=str(call_id or ""), name=str(name or ""), input=dict(arguments)
    )


def server_result(call_id: Any, name: Any, output: Any) -> ServerToolResultEvent:
    return ServerToolResultEvent(id=str(call_id or ""), name=str(name or ""), output=output)


def dedupe(events: List[Event], seen: Set[str]) -> List[Event]:
    """Drop citations already reported (providers that repeat their metadata per chunk)."""
    fresh: List[Event] = []
    for event in events:
        key = event.model_dump_json()
        if key not in seen:
            seen.add(key)
            fresh.append(event)
    return fresh
